"""Scoring summaries against the seed's gold annotation."""

from __future__ import annotations

import pytest

from summarize.evaluate import CategoryScore, evaluate, load_gold
from summarize.schema import ArticleSummary
from summarize.testing import FakeLLM

from .test_pipeline import good_draft
from .test_seed import GOLD


@pytest.fixture(scope="module")
def gold(seed_article: str) -> ArticleSummary:
    return load_gold(GOLD, seed_article)


def test_gold_scores_perfectly_against_itself(gold: ArticleSummary) -> None:
    score = evaluate(gold, gold)
    assert all(c.f1 == 1.0 for c in score.categories.values()), score
    assert score.overall.matched == score.overall.expected == 14


def test_partial_summary_has_full_precision_partial_recall(
    gold: ArticleSummary, seed_article: str
) -> None:
    summary = FakeLLM(good_draft()).summarizer().summarize(seed_article)
    score = evaluate(summary, gold)
    assert score.categories["warnings"] == CategoryScore(expected=1, found=1, matched=1)
    assert score.categories["venues"] == CategoryScore(expected=7, found=1, matched=1)
    assert score.categories["rebuttals"].recall == 1.0
    assert score.categories["positions"] == CategoryScore(expected=5, found=0, matched=0)
    assert score.overall.precision == 1.0 and score.overall.recall == pytest.approx(3 / 14)


def test_right_quote_wrong_place_does_not_match(gold: ArticleSummary, seed_article: str) -> None:
    draft = good_draft()
    draft["venues"][0]["place"] = "Vladivostok"
    summary = FakeLLM(draft).summarizer().summarize(seed_article)
    assert evaluate(summary, gold).categories["venues"].matched == 0


def test_each_gold_item_matches_once(gold: ArticleSummary, seed_article: str) -> None:
    draft = good_draft()
    twin = dict(draft["warnings"][0], consequence="targeted")  # same quote, not a duplicate
    draft["warnings"].append(twin)
    summary = FakeLLM(draft).summarizer().summarize(seed_article)
    warnings = evaluate(summary, gold).categories["warnings"]
    assert (warnings.found, warnings.matched, warnings.precision) == (2, 1, 0.5)


def test_empty_categories_score_as_vacuously_perfect() -> None:
    empty = CategoryScore(expected=0, found=0, matched=0)
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0)
    assert CategoryScore(expected=3, found=0, matched=0).f1 == 0.0
