"""Attribution claims checked against the article text."""

from __future__ import annotations

import json

import pytest

from summarize.attribution import credited_outlets, is_quoted, verified_attribution
from summarize.evaluate import load_gold

from .test_seed import GOLD

ARTICLE = (
    "Putin spoke in Vladivostok. \u201cWe will respond,\u201d he said, as per DW.\n\n"
    'Kyiv said the offer was "unacceptable" and would not go.\n\n'
    "\u201cAn unclosed quote runs on\n\nThe next paragraph is narration."
)


def span(text: str) -> tuple[int, int]:
    start = ARTICLE.index(text)
    return start, start + len(text)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("We will respond", True),
        ("\u201cWe will respond,\u201d", True),  # the span includes the marks
        ("he said, as per DW", False),
        ("Putin spoke in Vladivostok", False),
        ("unacceptable", True),  # straight quotes
        ("Kyiv said the offer", False),
        ("The next paragraph is narration", False),  # an unclosed quote ends at its paragraph
    ],
)
def test_is_quoted(text: str, quoted: bool) -> None:
    assert is_quoted(ARTICLE, *span(text)) is quoted, text


def test_claims_are_corrected_by_the_text() -> None:
    inside = span("We will respond")
    outside = span("Putin spoke in Vladivostok")
    assert verified_attribution("narration", ARTICLE, *inside, has_speaker=True) == "direct_quote"
    assert verified_attribution("direct_quote", ARTICLE, *outside, has_speaker=True) == "indirect"
    assert verified_attribution("direct_quote", ARTICLE, *outside, has_speaker=False) == "narration"
    assert verified_attribution("indirect", ARTICLE, *outside, has_speaker=True) == "indirect"


def test_only_outlets_the_article_names_are_kept() -> None:
    kept = credited_outlets(ARTICLE, ["DW", " dw ", "Reuters", "", "The New York Times"])
    assert kept == ("DW",)


def test_gold_attributions_agree_with_the_text(seed_article: str) -> None:
    raw = json.loads(GOLD.read_text(encoding="utf-8"))
    claimed = [
        (e["quote"], e["attribution"], tuple(e["via"]))
        for name in ("warnings", "positions", "venues", "rebuttals")
        for item in raw[name]
        for e in item["evidence"]
    ]
    gold = load_gold(GOLD, seed_article)
    verified = [(e.quote, e.attribution, e.via) for item in gold.items() for e in item.evidence]
    assert verified == claimed


def test_outlet_must_be_a_whole_word() -> None:
    assert credited_outlets("Bandwidth was low, per Reuters.", ["DW", "Reuters"]) == ("Reuters",)
