"""Scoring summaries against gold annotations: kind, overlapping evidence and actor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from summarize.evaluate import (
    CategoryScore,
    EvalReport,
    GoldArticle,
    evaluate,
    evaluate_files,
    gold_files,
    load_gold,
    load_gold_article,
)
from summarize.names import same_actor
from summarize.schema import ArticleSummary
from summarize.testing import FakeLLM

from .conftest import SEEDS
from .test_pipeline import good_draft
from .test_seed import GOLD

GOLD_DIR = Path(__file__).resolve().parent.parent / "gold"


@pytest.fixture(scope="module")
def gold(seed_article: str) -> ArticleSummary:
    return load_gold(GOLD, seed_article)


@pytest.fixture(scope="module")
def seed_gold() -> GoldArticle:
    return load_gold_article(GOLD)


def summary_of(draft: dict[str, Any], article: str) -> ArticleSummary:
    return FakeLLM(draft).summarizer().summarize(article)


def test_gold_scores_perfectly_against_itself(gold: ArticleSummary) -> None:
    score = evaluate(gold, gold)
    assert all(c.f1 == 1.0 for c in score.categories.values()), score
    assert score.overall.matched == score.overall.expected == 14


def test_partial_summary_has_full_precision_partial_recall(
    gold: ArticleSummary, seed_article: str
) -> None:
    score = evaluate(summary_of(good_draft(), seed_article), gold)
    assert score.categories["warnings"] == CategoryScore(expected=1, found=1, matched=1, typed=1)
    assert score.categories["venues"] == CategoryScore(expected=7, found=1, matched=1, typed=1)
    assert score.categories["rebuttals"].recall == 1.0
    assert score.categories["positions"] == CategoryScore(expected=5, found=0, matched=0)
    assert score.overall.precision == 1.0 and score.overall.recall == pytest.approx(3 / 14)


def test_a_matched_item_of_the_wrong_type_counts_as_found_but_not_typed(
    gold: ArticleSummary, seed_article: str
) -> None:
    """Matching ignores a warning's kind or a venue's status; type agreement measures them."""
    draft = good_draft()
    draft["warnings"][0]["kind"] = "prediction"
    draft["venues"][0]["status"] = "held"
    score = evaluate(summary_of(draft, seed_article), gold)
    assert score.categories["warnings"] == CategoryScore(expected=1, found=1, matched=1, typed=0)
    assert score.categories["venues"].matched == 1 and score.categories["venues"].typed == 0
    assert score.categories["warnings"].type_agreement == 0.0
    assert score.categories["positions"].type_agreement == 1.0  # nothing matched
    assert evaluate(gold, gold).overall.type_agreement == 1.0


def test_right_quote_wrong_place_does_not_match(gold: ArticleSummary, seed_article: str) -> None:
    draft = good_draft()
    draft["venues"][0]["place"] = "Vladivostok"
    assert evaluate(summary_of(draft, seed_article), gold).categories["venues"].matched == 0


@pytest.mark.parametrize(
    ("by", "matches"),
    [
        ("Vladimir Putin", True),
        ("Putin", True),
        ("President Putin", True),
        ("vladimir putin", True),
        ("Kyiv", False),
        ("The New York Times", False),
        ("Western governments", False),
    ],
)
def test_a_warning_must_name_the_right_actor(
    seed_gold: GoldArticle, seed_article: str, by: str, matches: bool
) -> None:
    draft = good_draft()
    draft["warnings"][0]["by"] = by
    score = evaluate(summary_of(draft, seed_article), seed_gold)
    assert score.categories["warnings"].matched == matches, f"warning by {by!r}"


def test_aliases_in_the_gold_file_let_other_names_match(tmp_path: Path) -> None:
    article = "Ankara rejected the plan on Monday, the foreign ministry said."
    (tmp_path / "a.txt").write_text(article, encoding="utf-8")
    gold = {
        "summary": "Turkey rejected the plan.",
        "actors": [
            {
                "name": "Ankara",
                "canonical": "Government of Turkey",
                "kind": "government",
                "country": "TUR",
                "aliases": ["Turkey", "Türkiye", "Turkish foreign ministry"],
            }
        ],
        "rebuttals": [
            {
                "by": "Government of Turkey",
                "answers": "the plan",
                "kind": "reject_proposal",
                "content": "rejects",
                "evidence": [{"quote": "Ankara rejected the plan", "attribution": "narration"}],
            }
        ],
    }
    (tmp_path / "a.gold.json").write_text(json.dumps(gold), encoding="utf-8")
    loaded = load_gold_article(tmp_path / "a.gold.json")
    for name, expected in [
        ("Turkiye", True),
        ("Ankara", True),
        ("Turkish foreign ministry", True),
        ("Greece", False),
    ]:
        draft = {"summary": "x", "rebuttals": [dict(gold["rebuttals"][0], by=name)]}  # type: ignore[dict-item]
        score = evaluate(summary_of(draft, article), loaded)
        assert score.categories["rebuttals"].matched == expected, name


def test_same_actor_rules() -> None:
    assert same_actor("Zelensky", "Volodymyr Zelenskyy")
    assert same_actor("Erdogan", "Recep Tayyip Erdoğan")
    assert same_actor("Ukraine's Foreign Minister Andrii Sybiha", "Andrii Sybiha")
    assert not same_actor("Andrii Sybiha", "Vladimir Putin")
    assert not same_actor("", "Vladimir Putin")
    assert same_actor(
        "Kyiv", "Government of Ukraine", [frozenset({"Government of Ukraine", "Kyiv"})]
    )


def test_each_gold_item_matches_once(gold: ArticleSummary, seed_article: str) -> None:
    draft = good_draft()
    twin = dict(draft["warnings"][0], consequence="targeted")  # same quote, not a duplicate
    draft["warnings"].append(twin)
    warnings = evaluate(summary_of(draft, seed_article), gold).categories["warnings"]
    assert (warnings.found, warnings.matched, warnings.precision) == (2, 1, 0.5)


def test_the_vladivostok_trap_is_reported(seed_gold: GoldArticle, seed_article: str) -> None:
    from summarize.schema import Evidence, Venue

    assert seed_gold.traps, "the seed gold lists no traps"
    quote = "plenary session of the Eastern Economic Forum in Vladivostok"
    start = seed_article.index(quote)
    evidence = Evidence(
        quote=quote, start=start, end=start + len(quote), grounded=True, match="exact"
    )
    trapped = Venue(
        id="v9",
        place="Vladivostok",
        proposed_by="Vladimir Putin",
        status="held",
        meeting="forum",
        evidence=(evidence,),
    )
    base = summary_of(good_draft(), seed_article)
    summary = base.model_copy(update={"venues": (*base.venues, trapped)})
    score = evaluate(summary, seed_gold)
    assert [t.place for t in score.traps] == ["Vladivostok"]
    assert evaluate(base, seed_gold).traps == ()


def test_the_speech_location_guard_keeps_the_trap_out(
    seed_gold: GoldArticle, seed_article: str
) -> None:
    draft = good_draft()
    quote = "plenary session of the Eastern Economic Forum in Vladivostok"
    draft["venues"].append(
        dict(
            draft["venues"][0],
            place="Vladivostok",
            status="held",
            evidence=[{"quote": quote, "attribution": "narration"}],
        )
    )
    summary = summary_of(draft, seed_article)
    assert [v.place for v in summary.venues] == ["Moscow"]
    assert summary.meta.dropped_by_guards == 1
    assert evaluate(summary, seed_gold).traps == ()


def test_empty_categories_score_as_vacuously_perfect() -> None:
    empty = CategoryScore(expected=0, found=0, matched=0)
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0)
    assert CategoryScore(expected=3, found=0, matched=0).f1 == 0.0


def test_every_gold_file_loads_whole_and_grounds() -> None:
    files = gold_files([GOLD_DIR, SEEDS])
    assert len(files) >= 11, [f.name for f in files]
    for path in files:
        loaded = load_gold_article(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        for category in ("warnings", "positions", "venues", "rebuttals"):
            items = getattr(loaded.gold, category)
            assert len(items) == len(raw.get(category, [])), f"{path.name}: {category} cut"
            for item, source in zip(items, raw.get(category, []), strict=True):
                assert len(item.evidence) == len(source["evidence"]), f"{path.name}: {item.id}"
                for e in item.evidence:
                    assert loaded.article[e.start : e.end] == e.quote  # type: ignore[index]
    long = [p for p in files if len(load_gold_article(p).article) >= 20_000]
    assert long, "the gold set has no long article"


def test_evaluate_files_reports_per_article_and_pooled(tmp_path: Path) -> None:
    fake = FakeLLM(good_draft())
    report = evaluate_files([GOLD], fake.summarizer())
    assert isinstance(report, EvalReport) and len(report.results) == 1
    (result,) = report.results
    assert result.error is None and result.requests == 1 and result.prompt_tokens > 0
    assert report.overall.matched == 3 and report.categories["venues"].expected == 7
    assert report.grounded_share == 1.0 and report.invalid_answer_rate == 0.0
    data = report.as_dict()
    assert data["overall"]["matched"] == 3 and data["results"][0]["name"] == GOLD.name.split(".")[0]
    assert data["overall"]["typed"] == report.overall.typed
    assert data["results"][0]["score"]["warnings"]["type_agreement"] == 1.0
    table = report.table()
    assert "overall" in table and "vladivostok" in table and "type" in table


def test_a_failed_article_counts_as_finding_nothing() -> None:
    fake = FakeLLM('{"summary": ')
    report = evaluate_files([GOLD], fake.summarizer(max_reasks=0))
    (result,) = report.results
    assert result.error is not None and "InvalidOutputError" in result.error
    assert result.invalid_answers == 1 and report.invalid_answer_rate == 1.0
    assert report.overall.expected == 14 and report.overall.matched == 0
    assert "failed" in report.table()
