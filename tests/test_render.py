"""Readable renderings."""

from __future__ import annotations

import pytest

from summarize.render import to_markdown, to_text
from summarize.schema import ArticleSummary
from summarize.testing import FakeLLM

from .test_pipeline import good_draft, with_invented_rebuttal


@pytest.fixture(scope="module")
def summary(seed_article: str) -> ArticleSummary:
    return (
        FakeLLM(with_invented_rebuttal())
        .summarizer(max_reasks=0, ungrounded="keep")
        .summarize(seed_article)
    )


def test_text_shows_items_links_offsets_and_ungrounded_flags(summary: ArticleSummary) -> None:
    text = to_text(summary)
    assert "[w1] Vladimir Putin → Western troops in Ukraine" in text
    assert "— if they appear during military operations (threat) [CAMEO 138, THREATEN]" in text
    assert "if if" not in text
    assert "[r1] Andrii Sybiha answers v1" in text
    assert "NOT FOUND in article" in text, "ungrounded evidence kept without a flag"
    assert "via DW; chars" in text and ", exact)" in text


def test_markdown_has_sections_and_empty_markers(summary: ArticleSummary) -> None:
    md = to_markdown(summary)
    for section in ("## Summary", "## Actors", "## Warnings", "## Positions", "## Meta"):
        assert section in md
    assert "- (none found)" in md, "empty positions section not marked"


def test_condition_without_if_gets_one(seed_article: str) -> None:
    draft = good_draft()
    draft["warnings"][0]["condition"] = "troops deployed during operations"
    summary = FakeLLM(draft).summarizer().summarize(seed_article)
    assert "— if troops deployed during operations" in summary.warnings[0].headline()
