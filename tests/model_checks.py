"""Checks shared by the tests that run the real embedded model."""

from __future__ import annotations

from summarize import ArticleSummary


def assert_offsets_cover_quotes(summary: ArticleSummary, article: str, *, at_least: int) -> int:
    """Every grounded quote is exactly the article's text at its offsets; returns how many.

    `at_least` grounded quotes must be there: a check over zero quotes proves nothing.
    """
    checked = 0
    for item in summary.items():
        for e in item.evidence:
            if not e.grounded:
                assert (e.start, e.end, e.match) == (None, None, "none")
                continue
            assert e.start is not None and e.end is not None
            assert article[e.start : e.end] == e.quote, f"{item.id}: offsets miss the quote"
            checked += 1
    assert checked >= at_least, f"only {checked} grounded quote(s) to check, wanted {at_least}"
    return checked


def assert_valid_local_summary(summary: ArticleSummary, prompt: str) -> None:
    """A well-formed summary: text, usage, attempts, the prompt asked for, unique ids."""
    assert isinstance(summary, ArticleSummary)
    assert summary.summary.strip(), "empty summary text"
    assert summary.meta.usage.total_tokens > 0, "no token usage recorded"
    assert summary.meta.attempts >= 1
    assert summary.meta.prompt == prompt
    ids = [item.id for item in summary.items()]
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
