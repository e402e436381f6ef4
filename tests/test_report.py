"""Run reports: per-article stats read off meta and errors, batch totals, latency and cost."""

from __future__ import annotations

import json

import pytest

from summarize import ArticleSummary, BatchReport, InvalidOutputError, Usage
from summarize.report import DEFAULT_PRICES, ArticleStats, cost_usd
from summarize.testing import FakeLLM, HTTPFailure

from .test_pipeline import good_draft, with_invented_rebuttal

GOOD = good_draft()
INVALID = '{"summary": "Putin warned'


def test_a_summary_s_stats_come_from_its_meta(seed_article: str) -> None:
    summary = FakeLLM(HTTPFailure(503), INVALID, GOOD).summarizer().summarize(seed_article)
    stats = ArticleStats.of("a", summary)
    usage = summary.meta.usage
    assert (stats.tokens_in, stats.tokens_out) == (usage.prompt_tokens, usage.completion_tokens)
    assert (stats.attempts, stats.retries, stats.reasks) == (3, 1, 1)
    assert stats.latency_s == summary.meta.latency_s and stats.error is None


def test_a_failure_s_tokens_and_attempts_are_counted(seed_article: str) -> None:
    with pytest.raises(InvalidOutputError) as info:
        FakeLLM(INVALID).summarizer(max_reasks=1).summarize(seed_article)
    stats = ArticleStats.of("a", info.value, {"fake-model": (1.0, 1.0)})
    assert stats.error == "InvalidOutputError" and stats.attempts == 2 and stats.reasks == 1
    assert stats.tokens_in + stats.tokens_out == info.value.usage.total_tokens > 0
    assert stats.cost_usd == pytest.approx(info.value.usage.total_tokens / 1e6)


def test_dropped_items_lower_the_grounded_share(seed_article: str) -> None:
    summary = FakeLLM(with_invented_rebuttal()).summarizer(max_reasks=1).summarize(seed_article)
    grounded = sum(len(item.evidence) for item in summary.items())
    report = BatchReport.of([("a", summary)])
    assert report.total("dropped_items") == 1
    assert report.grounded_share == pytest.approx(grounded / (grounded + 1))


def test_batch_totals_count_hits_failures_and_requests(seed_article: str) -> None:
    summarizer = FakeLLM(HTTPFailure(429), GOOD).summarizer(cache="memory")
    fresh = summarizer.summarize(seed_article)
    hit = summarizer.summarize(seed_article)
    report = BatchReport.of([("a", fresh), ("b", hit), ("c", ValueError("bad"))], elapsed_s=2.0)
    d = report.as_dict()
    assert (d["articles"], d["summarized"], d["failed"], d["cache_hits"]) == (3, 2, 1, 1)
    assert (d["attempts"], d["retries"], d["reasks"]) == (2, 1, 0)
    assert d["tokens_in"] == fresh.meta.usage.prompt_tokens, "a cache hit was counted as paid"
    assert d["errors"] == {"ValueError": 1} and d["elapsed_s"] == 2.0
    assert json.loads(json.dumps(d)) == d
    assert "3 articles: 2 summarized (1 from the cache), 1 failed" in report.text()


def test_latency_percentiles_are_over_fresh_summaries() -> None:
    items = [ArticleStats(id=str(n), latency_s=float(n)) for n in range(1, 101)]
    items.append(ArticleStats(id="hit", cache_hit=True, latency_s=0.001))
    report = BatchReport(tuple(items))
    assert [report.latency(p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert BatchReport(()).latency(50) is None


def test_cost_from_the_price_table() -> None:
    million = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert cost_usd("gpt-4o-mini", million) == pytest.approx(sum(DEFAULT_PRICES["gpt-4o-mini"]))
    assert cost_usd("gpt-4o-mini-2024-07-18", million) == cost_usd("gpt-4o-mini", million)
    assert cost_usd("mine", million, {"mine": (1.0, 3.0)}) == pytest.approx(4.0)


def test_an_unknown_model_s_cost_is_unknown_never_zero(seed_article: str) -> None:
    paid = Usage(prompt_tokens=10, completion_tokens=5)
    assert cost_usd("no-such-model", paid) is None
    assert cost_usd("no-such-model", Usage()) == 0.0, "nothing used costs nothing"
    summary = FakeLLM(GOOD).summarizer(model="no-such-model").summarize(seed_article)
    report = BatchReport.of([("a", summary), ("b", ValueError("refused before any call"))])
    assert report.cost_usd is None and report.unpriced_models == ["no-such-model"]
    assert "cost unknown (no price for no-such-model)" in report.text()


def test_a_summary_batch_reports_itself(seed_article: str) -> None:
    summarizer = FakeLLM(GOOD).summarizer(model="gpt-4o")
    batch = summarizer.summarize_many([seed_article, ""], ids=["x", "y"])
    report = batch.report(prices={"gpt-4o": (0.0, 1e6)})
    summary = batch[0].summary
    assert isinstance(summary, ArticleSummary)
    assert [i.id for i in report.items] == ["x", "y"]
    assert report.cost_usd == pytest.approx(summary.meta.usage.completion_tokens)
    assert report.elapsed_s == batch.elapsed_s
