"""The seed article and its hand-written gold annotation (seeds/)."""

from __future__ import annotations

import pytest

from summarize.evaluate import load_gold
from summarize.schema import ArticleSummary

from .conftest import SEEDS

GOLD = SEEDS / "vladivostok-2025-09-06.gold.json"


@pytest.fixture(scope="module")
def gold(seed_article: str) -> ArticleSummary:
    return load_gold(GOLD, seed_article)


def test_every_gold_quote_is_verbatim_in_the_article(
    gold: ArticleSummary, seed_article: str
) -> None:
    for item in gold.items():
        for e in item.evidence:
            assert e.match == "exact", f"{item.id}: gold quote is not verbatim: {e.quote!r}"
            assert seed_article[e.start : e.end] == e.quote


def test_vladivostok_is_where_he_spoke_not_a_venue(gold: ArticleSummary) -> None:
    assert not [v for v in gold.venues if "Vladivostok" in v.place]
    moscow = [v for v in gold.venues if v.place == "Moscow"]
    assert len(moscow) == 1 and moscow[0].status == "proposed"
    assert moscow[0].proposed_by == "Vladimir Putin"


def test_outside_russia_was_dismissed(gold: ArticleSummary) -> None:
    outside = [v for v in gold.venues if v.place == "outside Russia"]
    assert len(outside) == 1 and outside[0].status == "rejected"


def test_seven_hosts_offered_as_reported_by_sybiha(gold: ArticleSummary) -> None:
    offered = [v for v in gold.venues if v.status == "offered_to_host"]
    assert {v.place for v in offered} == {
        "Austria",
        "the Holy See",
        "Switzerland",
        "Turkiye",
        "three Gulf states",
    }
    assert all(e.speaker == "Andrii Sybiha" for v in offered for e in v.evidence)


def test_legitimate_targets_is_a_conditional_threat(gold: ArticleSummary) -> None:
    (warning,) = gold.warnings
    assert warning.kind == "threat" and warning.condition and warning.cameo == "138"
    assert "legitimate targets" in warning.evidence[0].quote
    assert not any("sense in their presence" in e.quote for e in warning.evidence)
    assert any("sense in their presence" in e.quote for p in gold.positions for e in p.evidence)


def test_rebuttal_answers_the_moscow_proposal(gold: ArticleSummary) -> None:
    (rebuttal,) = gold.rebuttals
    target = gold.get(rebuttal.answers_id or "")
    assert target is not None and getattr(target, "place", None) == "Moscow"
    assert "knowingly unacceptable proposals" in rebuttal.evidence[0].quote


def test_reporting_chain_is_kept(gold: ArticleSummary, seed_article: str) -> None:
    via = {v for item in gold.items() for e in item.evidence for v in e.via}
    assert {"The New York Times", "DW"} <= via
    assert "(ANI)" in seed_article


def test_actor_countries_are_iso_alpha3(gold: ArticleSummary) -> None:
    codes = {a.canonical: a.country for a in gold.actors}
    assert codes["Holy See"] == "VAT" and codes["Türkiye"] == "TUR"
    assert codes["three Gulf states"] is None and codes["Western governments"] is None


def test_seed_typography_exercises_normalized_matching(seed_article: str) -> None:
    for char in ("\u201c", "\u2019", "\u2014"):  # curly quote, apostrophe, em dash
        assert char in seed_article, f"seed lost {char!r}: normalized matching goes untested"
