"""Readable renderings of an `ArticleSummary`: Markdown, and plain text for terminals."""

from __future__ import annotations

from collections.abc import Iterator

from summarize.schema import ArticleSummary, Evidence, Item

__all__ = ["to_markdown", "to_text"]


def to_markdown(summary: ArticleSummary) -> str:
    """The summary as a Markdown document."""
    return "\n".join(_lines(summary, heading="## ", bullet="- ", quote_prefix="  > ")) + "\n"


def to_text(summary: ArticleSummary) -> str:
    """The summary as plain text for a terminal."""
    return "\n".join(_lines(summary, heading="", bullet="  * ", quote_prefix="      ")) + "\n"


def _lines(s: ArticleSummary, *, heading: str, bullet: str, quote_prefix: str) -> Iterator[str]:
    yield f"{heading}Summary"
    yield s.summary
    if s.actors:
        yield ""
        yield f"{heading}Actors"
        for a in s.actors:
            extra = ", ".join(x for x in (a.role, a.country) if x)
            yield f"{bullet}{a.canonical} ({a.kind}{', ' + extra if extra else ''})"
    sections: list[tuple[str, tuple[Item, ...]]] = [
        ("Warnings", s.warnings),
        ("Positions", s.positions),
        ("Venues", s.venues),
        ("Rebuttals", s.rebuttals),
    ]
    for title, items in sections:
        yield ""
        yield f"{heading}{title}"
        if not items:
            yield f"{bullet}(none found)"
        for item in items:
            yield f"{bullet}[{item.id}] {item.headline()}{_codes(item)}"
            for e in item.evidence:
                yield f"{quote_prefix}{_evidence(e)}"
    m = s.meta
    yield ""
    yield f"{heading}Meta"
    yield (
        f"{bullet}model {m.model} ({m.backend}), prompt {m.prompt}, {m.attempts} call(s), "
        f"{m.usage.total_tokens} tokens, {m.latency_s:.1f}s"
        + (", from cache" if m.cache_hit else "")
    )
    if m.dropped_items or m.dropped_evidence:
        yield (
            f"{bullet}dropped as ungrounded: {m.dropped_items} item(s), "
            f"{m.dropped_evidence} quote(s)"
        )


def _codes(item: Item) -> str:
    codes = [c for c in (item.cameo and f"CAMEO {item.cameo}", item.plover) if c]
    return f" [{', '.join(codes)}]" if codes else ""


def _evidence(e: Evidence) -> str:
    where = f"chars {e.start}-{e.end}, {e.match}" if e.grounded else "NOT FOUND in article"
    who = f" — {e.speaker}" if e.speaker else ""
    via = f", via {', '.join(e.via)}" if e.via else ""
    return f"“{e.quote}”{who} ({e.attribution}{via}; {where})"
