"""One summary of a long article from the summaries of its chunks, merged by schema.

Pure: no I/O and no model call. A chunk is an exact slice of the article, so moving each
offset by the chunk's start keeps every grounded quote equal to ``article[start:end]``.
Actors are unified by canonical name and alias. An item found again in a later chunk — in
the overlap between chunks, or said twice — is merged into the first: same kind, and either
grounded spans that overlap or the same actor on the same target, issue, place or answered
item. Two items of one chunk stay apart (its own summary told them apart). Ids are given
again in article order, and each rebuttal's ``answers_id`` follows its target to its new id.
The summary text is the first chunk's (a news article's lede comes first), or one built from
the merged items when the model's was not usable; no new model call is made, so a merged
summary costs nothing beyond its chunks and comes out the same from cached chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

from rapidfuzz import fuzz

from summarize.assemble import LINK_MIN_SCORE, summary_from_items
from summarize.chunking import Chunk
from summarize.names import same_name
from summarize.schema import (
    Actor,
    ArticleSummary,
    Evidence,
    Item,
    Meta,
    Position,
    Rebuttal,
    Usage,
    Venue,
    WarningItem,
)

__all__ = ["ISSUE_MIN_SCORE", "merge"]

#: How alike (rapidfuzz token-set ratio, 0-100) two items' targets or issues must be for
#: one actor's items to be one item; as sentence coding merges within an article.
ISSUE_MIN_SCORE: Final = 60.0
ItemT = TypeVar("ItemT", bound=Item)
_PREFIX: Final[dict[type[Item], str]] = {WarningItem: "w", Position: "p", Venue: "v", Rebuttal: "r"}


@dataclass(slots=True)
class _Entry:
    """A merged item: the first finding (offsets in the article), the chunks that found it."""

    item: Item
    chunks: set[int]
    about: object  # target, issue or place; a rebuttal's answered `_Entry` when known
    answers: list[_Entry] = field(default_factory=list)  # a rebuttal's targets, as linked
    unattributed: bool = False  # flagged in every chunk that found it


def merge(
    article: str, parts: Sequence[tuple[Chunk, ArticleSummary]], *, latency_s: float
) -> ArticleSummary:
    """The summary of `article` from its chunks' summaries (see the module docstring).

    Args:
        article: The whole article the chunks were cut from.
        parts: Each chunk with its summary, in article order.
        latency_s: Wall time of the whole call.

    Raises:
        ValueError: A chunk is not the slice of `article` it says it is.
    """
    entries: list[_Entry] = []
    for chunk, summary in parts:
        if article[chunk.start : chunk.end] != chunk.text:
            raise ValueError(f"chunk {chunk.index} is not article[{chunk.start}:{chunk.end}]")
        local: dict[str, _Entry] = {}
        for found in summary.items():
            item = _moved(found, chunk.start)
            target = local.get(found.answers_id or "") if isinstance(found, Rebuttal) else None
            about = target if target is not None else _about(item)
            entry = _twin(entries, item, about, chunk.index)
            flagged = found.id in summary.meta.unattributed
            if entry is None:
                entry = _Entry(item, {chunk.index}, about, unattributed=flagged)
                entries.append(entry)
            else:
                entry.item = _joined(entry.item, item)
                entry.chunks.add(chunk.index)
                entry.unattributed = entry.unattributed and flagged
            if target is not None:
                entry.answers.append(target)
            local[found.id] = entry
    items = _numbered(entries)
    warnings, positions = _only(items, WarningItem), _only(items, Position)
    venues, rebuttals = _only(items, Venue), _only(items, Rebuttal)
    first = parts[0][1]
    text = first.summary
    if first.meta.summary_from != "model":
        text = summary_from_items([*warnings, *venues, *rebuttals, *positions])
    return ArticleSummary(
        summary=text,
        actors=_actors(a for _, summary in parts for a in summary.actors),
        warnings=warnings,
        positions=positions,
        venues=venues,
        rebuttals=rebuttals,
        meta=_meta([(chunk, summary.meta) for chunk, summary in parts], latency_s).model_copy(
            update={"unattributed": tuple(e.item.id for e in entries if e.unattributed)}
        ),
    )


def _only(items: Sequence[Item], kind: type[ItemT]) -> tuple[ItemT, ...]:
    return tuple(item for item in items if isinstance(item, kind))


def _moved(item: Item, offset: int) -> Item:
    """`item` with its evidence offsets in the article instead of the chunk."""
    evidence = tuple(
        e
        if e.start is None or e.end is None
        else e.model_copy(update={"start": e.start + offset, "end": e.end + offset})
        for e in item.evidence
    )
    return item.model_copy(update={"evidence": evidence})


def _about(item: Item) -> str:
    """What an item is about, besides who made it."""
    if isinstance(item, WarningItem):
        return item.target
    if isinstance(item, Position):
        return item.issue
    if isinstance(item, Venue):
        return item.place
    if isinstance(item, Rebuttal):
        return item.answers
    return ""


def _twin(entries: Sequence[_Entry], item: Item, about: object, chunk: int) -> _Entry | None:
    """The entry `item` repeats: one actor on one thing first, else overlapping evidence."""
    others = [e for e in entries if type(e.item) is type(item) and chunk not in e.chunks]
    same = next((e for e in others if _agree(e, item, about)), None)
    if same is not None:
        return same
    return next((e for e in others if _overlap(e.item, item) and not _apart(e, item)), None)


def _agree(entry: _Entry, item: Item, about: object) -> bool:
    if not same_name(entry.item.actor, item.actor):
        return False
    if isinstance(entry.about, _Entry) or isinstance(about, _Entry):
        return entry.about is about
    a, b = str(entry.about), str(about)
    if isinstance(item, Venue):
        return same_name(a, b)
    return same_name(a, b) or fuzz.token_set_ratio(a.casefold(), b.casefold()) >= ISSUE_MIN_SCORE


def _apart(entry: _Entry, item: Item) -> bool:
    """Venues are told apart by their places, even in one sentence."""
    return isinstance(item, Venue) and not same_name(str(entry.about), item.place)


def _spans(item: Item) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in item.evidence if e.start is not None and e.end is not None]


def _overlap(a: Item, b: Item) -> bool:
    return any(s < f and t < e for s, e in _spans(a) for t, f in _spans(b))


def _joined(kept: Item, new: Item) -> Item:
    """`kept` with the evidence and event codes `new` adds."""
    evidence = list(kept.evidence)
    for e in new.evidence:
        if not any(_same_evidence(e, k) for k in evidence):
            evidence.append(e)
    return kept.model_copy(
        update={
            "evidence": tuple(evidence),
            "cameo": kept.cameo or new.cameo,
            "plover": kept.plover or new.plover,
        }
    )


def _same_evidence(a: Evidence, b: Evidence) -> bool:
    if a.grounded and b.grounded:
        return (a.start, a.end) == (b.start, b.end)
    return a.quote == b.quote


def _numbered(entries: Sequence[_Entry]) -> list[Item]:
    """The items with new ids (w1, p1, ... in article order) and rebuttals linked to them."""
    counts = dict.fromkeys(_PREFIX, 0)
    for entry in entries:
        kind = type(entry.item)
        counts[kind] += 1
        entry.item = entry.item.model_copy(update={"id": f"{_PREFIX[kind]}{counts[kind]}"})
    for entry in entries:
        if isinstance(entry.item, Rebuttal):
            entry.item = _linked(entry, entries)
    return [entry.item for entry in entries]


def _linked(entry: _Entry, entries: Sequence[_Entry]) -> Rebuttal:
    """A rebuttal pointing at the merged id of what it answered in its chunk.

    One its chunk could not link is matched by its description against every merged item,
    as `summarize.assemble` does within one chunk.
    """
    rebuttal = entry.item
    assert isinstance(rebuttal, Rebuttal)
    target = next((t for t in entry.answers if t is not entry), None)
    if target is None:
        scored = [
            (fuzz.token_set_ratio(rebuttal.answers, e.item.headline()), e)
            for e in entries
            if e is not entry
        ]
        best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        target = best[1] if best[0] >= LINK_MIN_SCORE else None
    if target is None:
        return rebuttal.model_copy(update={"answers_id": None})
    return rebuttal.model_copy(update={"answers_id": target.item.id})


def _actors(found: Iterable[Actor]) -> tuple[Actor, ...]:
    """Each actor once: one canonical name, or one kind and a name or alias in common."""
    merged: list[Actor] = []
    for actor in found:
        index = next((i for i, m in enumerate(merged) if _same_actor(m, actor)), None)
        if index is None:
            merged.append(actor)
            continue
        kept = merged[index]
        merged[index] = kept.model_copy(
            update={
                "canonical": max(kept.canonical, actor.canonical, key=len),
                "country": kept.country or actor.country,
                "role": kept.role or actor.role,
            }
        )
    return tuple(merged)


def _same_actor(a: Actor, b: Actor) -> bool:
    if a.canonical.casefold() == b.canonical.casefold():
        return True
    names = (a.name, a.canonical), (b.name, b.canonical)
    return a.kind == b.kind and any(same_name(x, y) for x in names[0] for y in names[1])


def _meta(parts: Sequence[tuple[Chunk, Meta]], latency_s: float) -> Meta:
    """The chunks' meta added up, with how many chunks there were."""
    metas = [meta for _, meta in parts]
    first = metas[0]
    log = [attempt for meta in metas for attempt in meta.attempt_log]
    return first.model_copy(
        update={
            "chunks": len(metas),
            "usage": Usage(
                prompt_tokens=sum(m.usage.prompt_tokens for m in metas),
                completion_tokens=sum(m.usage.completion_tokens for m in metas),
                total_tokens=sum(m.usage.total_tokens for m in metas),
            ),
            "attempts": sum(m.attempts for m in metas),
            "attempt_log": tuple(
                a.model_copy(update={"number": n}) for n, a in enumerate(log, start=1)
            ),
            "cache_hit": all(m.cache_hit for m in metas),
            "latency_s": round(latency_s, 3),
            "dropped_items": sum(m.dropped_items for m in metas),
            "dropped_evidence": sum(m.dropped_evidence for m in metas),
            "instruction_spans": _union(
                (start + chunk.start, end + chunk.start)
                for chunk, meta in parts
                for start, end in meta.instruction_spans
            ),
            "dropped_injected": sum(m.dropped_injected for m in metas),
            "dropped_by_guards": sum(m.dropped_by_guards for m in metas),
            "dropped_unattributed": sum(m.dropped_unattributed for m in metas),
            "cache_error": next((m.cache_error for m in metas if m.cache_error), None),
        }
    )


def _union(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Spans that overlap (a passage cut by a chunk boundary, or seen twice) joined."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return tuple(joined)
