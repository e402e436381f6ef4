"""From the model's draft to the `ArticleSummary` users get: ids, grounding, policy, links.

Pure: no I/O. Offsets come from `grounding`; the model's own claims about where a quote is
are never used. A grounded `Evidence.quote` is always `article[start:end]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeVar

from rapidfuzz import fuzz

from summarize.attribution import credited_outlets, verified_attribution
from summarize.config import UnattributedPolicy, UngroundedPolicy
from summarize.draft import DraftEvidence, DraftItem, DraftSummary
from summarize.errors import GroundingError
from summarize.grounding import Aligner
from summarize.guards import attributes_actor, names_absent_from, speech_location
from summarize.injection import Span, inside, instruction_spans
from summarize.names import same_name
from summarize.schema import (
    Actor,
    ArticleSummary,
    Evidence,
    Item,
    Meta,
    Position,
    Rebuttal,
    Venue,
    WarningItem,
)

__all__ = ["LINK_MIN_SCORE", "assemble", "summary_from_items"]

#: How closely (rapidfuzz token-set ratio, 0-100) a rebuttal's `answers` text must match an
#: item's description to be linked to it when it names no id.
LINK_MIN_SCORE: Final = 70.0
_ITEM_ID: Final = re.compile(r"\b([wpvr])\s*(\d{1,3})\b", re.IGNORECASE)

ItemT = TypeVar("ItemT", bound=Item)


def assemble(
    draft: DraftSummary,
    article: str,
    *,
    policy: UngroundedPolicy,
    meta: Meta,
    unattributed: UnattributedPolicy = "flag",
    rebuttals_must_link: bool = False,
) -> ArticleSummary:
    """Ground every quote in `article`, apply `policy` to ungrounded ones, and link rebuttals.

    Where a quote is found, its attribution is checked against the text (a direct quote is
    inside quotation marks) and outlets the article never names are dropped from `via`.
    An item whose only evidence lies in a passage addressed to an AI model (a prompt
    injection, see `summarize.injection`) is dropped: injected text is not reported news.
    So is a venue named only as where someone spoke, or in a dateline (`summarize.guards`).
    An item whose actor the article does not name near its evidence is flagged, dropped or
    kept, as `unattributed` says. With `rebuttals_must_link`, a rebuttal that answers no
    item of the summary is dropped too (counted in ``meta.dropped_by_guards``).
    A summary that names someone or somewhere the article never names is replaced by one
    built from the items.

    Raises:
        GroundingError: policy is "raise" and some quote is not in the article.
    """
    build = _Builder(article, policy)
    warnings = build.items(WarningItem, "w", draft.warnings)
    positions = build.items(Position, "p", draft.positions)
    venues = build.items(Venue, "v", draft.venues)
    rebuttals = build.items(Rebuttal, "r", draft.rebuttals)
    if build.ungrounded:
        raise GroundingError(build.ungrounded)
    injected = instruction_spans(article)
    kept = [_reported(items, injected) for items in (warnings, positions, venues, rebuttals)]
    warnings, positions, venues, rebuttals = (items for items, _ in kept)
    dropped_injected = sum(dropped for _, dropped in kept)
    spoken = [v for v in venues if _only_where_someone_spoke(v, article)]
    venues = [v for v in venues if v not in spoken]
    actors = _actors(draft)
    flagged: tuple[str, ...] = ()
    if unattributed != "keep":
        flagged = unattributed_items([*warnings, *positions, *venues, *rebuttals], article, actors)
    dropped_unattributed = 0
    if unattributed == "drop":  # ids are unique across kinds (w1, p1, ...)
        warnings, positions = _without(warnings, flagged), _without(positions, flagged)
        venues, rebuttals = _without(venues, flagged), _without(rebuttals, flagged)
        dropped_unattributed, flagged = len(flagged), ()
    rebuttals = [_linked(r, [*warnings, *positions, *venues, *rebuttals]) for r in rebuttals]
    unlinked = _unlinked(rebuttals) if rebuttals_must_link else set()
    rebuttals = [r for r in rebuttals if r.id not in unlinked]
    flagged = tuple(i for i in flagged if i not in unlinked)
    ids = _new_ids([*warnings, *positions, *venues, *rebuttals])
    warnings, positions, venues = (
        _renamed(warnings, ids),
        _renamed(positions, ids),
        _renamed(venues, ids),
    )
    rebuttals = [
        r.model_copy(update={"answers_id": ids.get(r.answers_id or "", r.answers_id)})
        for r in _renamed(rebuttals, ids)
    ]
    flagged = tuple(ids[i] for i in flagged)
    summary = " ".join(draft.summary.split())
    from_items = not summary or bool(names_absent_from(summary, article))
    if from_items:
        summary = summary_from_items([*warnings, *venues, *rebuttals, *positions])
    return ArticleSummary(
        summary=summary,
        actors=actors,
        warnings=tuple(warnings),
        positions=tuple(positions),
        venues=tuple(venues),
        rebuttals=tuple(rebuttals),
        meta=meta.model_copy(
            update={
                "dropped_items": build.dropped_items,
                "dropped_evidence": build.dropped_evidence,
                "instruction_spans": injected,
                "dropped_injected": dropped_injected,
                "dropped_by_guards": len(spoken) + len(unlinked),
                "unattributed": flagged,
                "dropped_unattributed": dropped_unattributed,
                "summary_from": "items" if from_items else "model",
            }
        ),
    )


def _new_ids(items: Sequence[Item]) -> dict[str, str]:
    """Ids without the gaps that dropped items left (w1, w3 → w1, w2), kind by kind.

    Until now ids were the model's own numbering, which rebuttals' answers refer to.
    """
    counts: dict[str, int] = {}
    ids: dict[str, str] = {}
    for item in items:
        prefix = item.id.rstrip("0123456789")
        counts[prefix] = counts.get(prefix, 0) + 1
        ids[item.id] = f"{prefix}{counts[prefix]}"
    return ids


def _renamed(items: list[ItemT], ids: dict[str, str]) -> list[ItemT]:
    return [i if ids[i.id] == i.id else i.model_copy(update={"id": ids[i.id]}) for i in items]


def _unlinked(rebuttals: list[Rebuttal]) -> set[str]:
    """Ids of the rebuttals that answer no item, or only rebuttals that answer none."""
    unlinked: set[str] = set()
    while more := {
        r.id
        for r in rebuttals
        if r.id not in unlinked and (r.answers_id is None or r.answers_id in unlinked)
    }:
        unlinked |= more
    return unlinked


def _without(items: list[ItemT], ids: tuple[str, ...]) -> list[ItemT]:
    return [item for item in items if item.id not in ids]


def unattributed_items(
    items: Iterable[Item], article: str, actors: Sequence[Actor]
) -> tuple[str, ...]:
    """Ids of the items whose actor the article does not name near their grounded evidence.

    The summary's actors lend their other names: an item "by the Kremlin" is attributed where
    the article says "Russian government" if one actor carries both names.
    """
    flagged: list[str] = []
    for item in items:
        actor = item.actor
        spans = [
            (e.start, e.end) for e in item.evidence if e.start is not None and e.end is not None
        ]
        aliases = [
            name
            for a in actors
            if same_name(actor, a.name) or same_name(actor, a.canonical)
            for name in (a.name, a.canonical)
        ]
        if spans and not attributes_actor(actor, spans, article, aliases):
            flagged.append(item.id)
    return tuple(flagged)


def _only_where_someone_spoke(venue: Venue, article: str) -> bool:
    """A "venue" every quote of which names the place only as where someone spoke."""
    quotes = [e.quote for e in venue.evidence if e.grounded]
    return bool(quotes) and all(speech_location(venue.place, q, article) for q in quotes)


def summary_from_items(items: Sequence[Item]) -> str:
    """A plain summary of the first few items, in their own words (no invented names)."""
    lines = [item.headline() for item in items[:3]]
    if not lines:
        return "The article reports no warnings, positions, venues or rebuttals."
    return " ".join(line.rstrip(".") + "." for line in lines)


def _reported(items: list[ItemT], injected: tuple[Span, ...]) -> tuple[list[ItemT], int]:
    """The items backed by something outside the injected passages, and how many were not."""
    if not injected:
        return items, 0
    kept = [
        item
        for item in items
        if any(
            e.start is None or e.end is None or not inside(injected, e.start, e.end)
            for e in item.evidence
        )
    ]
    return kept, len(items) - len(kept)


class _Builder:
    def __init__(self, article: str, policy: UngroundedPolicy) -> None:
        self.article = article
        self.aligner = Aligner(article)
        self.policy = policy
        self.ungrounded: list[str] = []
        self.dropped_items = 0
        self.dropped_evidence = 0

    def items(self, model: type[ItemT], prefix: str, drafts: Sequence[DraftItem]) -> list[ItemT]:
        """Typed items with ids by draft position (so a model's "v2" still means the 2nd venue)."""
        built: list[ItemT] = []
        seen: set[str] = set()
        for number, draft in enumerate(drafts, start=1):
            key = draft.model_dump_json()
            if key in seen:  # small models repeat themselves
                continue
            seen.add(key)
            evidence = self.evidence(draft.evidence)
            if evidence is None:
                self.dropped_items += 1
                continue
            fields: dict[str, Any] = draft.model_dump(exclude={"evidence"})
            built.append(model(id=f"{prefix}{number}", evidence=evidence, **fields))
        return built

    def evidence(self, drafts: Iterable[DraftEvidence]) -> tuple[Evidence, ...] | None:
        """Grounded evidence; None when the policy drops the item for lack of any."""
        found = [self.ground(d) for d in drafts]
        if self.policy == "raise":
            self.ungrounded += [e.quote for e in found if not e.grounded]
        if self.policy != "drop":
            return tuple(found) if found else None
        kept = tuple(e for e in found if e.grounded)
        if kept:  # a dropped item is counted once, as an item
            self.dropped_evidence += len(found) - len(kept)
        return kept or None

    def ground(self, draft: DraftEvidence) -> Evidence:
        """The draft's quote located in the article.

        Grounded, its `quote` is the article's own text at `start:end`, whatever stage
        matched; the model's wording goes to `model_quote` when it differs. Ungrounded, it
        keeps the model's text.
        """
        where = self.aligner.align(draft.quote)
        quote, model_quote, attribution = draft.quote, None, draft.attribution
        if where.start is not None and where.end is not None:
            quote = self.article[where.start : where.end]
            model_quote = None if draft.quote == quote else draft.quote
            attribution = verified_attribution(
                attribution, self.article, where.start, where.end, has_speaker=bool(draft.speaker)
            )
        return Evidence(
            quote=quote,
            model_quote=model_quote,
            start=where.start,
            end=where.end,
            grounded=where.grounded,
            match=where.match,
            speaker=draft.speaker or None,
            attribution=attribution,
            via=credited_outlets(self.article, draft.via),
        )


def _actors(draft: DraftSummary) -> tuple[Actor, ...]:
    """Actors, once each (by canonical name)."""
    by_name: dict[str, Actor] = {}
    for a in draft.actors:
        canonical = (a.canonical or a.name).strip()
        key = canonical.casefold()
        if key and key not in by_name:
            by_name[key] = Actor(
                name=a.name.strip() or canonical,
                canonical=canonical,
                kind=a.kind,
                country=a.country,
                role=(a.role or None),
            )
    return tuple(by_name.values())


def _linked(rebuttal: Rebuttal, targets: Sequence[Item]) -> Rebuttal:
    """Resolve what a rebuttal answers.

    An id it names, else the closest description, else the nearest earlier item of the kind
    its words point to ("the offer" → a venue). No one rebuts themselves: an item by the
    rebuttal's own actor is never what it answers.
    """
    candidates = [t for t in targets if t.id != rebuttal.id and not _same_maker(t, rebuttal)]
    ids = {t.id for t in candidates}
    for letter, number in _ITEM_ID.findall(rebuttal.answers):
        if (named := f"{letter.lower()}{int(number)}") in ids:
            return rebuttal.model_copy(update={"answers_id": named})
    scored = [(fuzz.token_set_ratio(rebuttal.answers, t.headline()), t.id) for t in candidates]
    best = max(scored, default=(0.0, None))
    if best[0] >= LINK_MIN_SCORE:
        return rebuttal.model_copy(update={"answers_id": best[1]})
    earlier = _answerable(rebuttal, candidates)
    if earlier is not None:
        return rebuttal.model_copy(update={"answers_id": earlier.id})
    return rebuttal


def _same_maker(a: Item, b: Item) -> bool:
    """Whether one actor made both items (by name, or the same text for nameless actors)."""
    return a.actor.casefold() == b.actor.casefold() or same_name(a.actor, b.actor)


def _answerable(rebuttal: Rebuttal, candidates: Sequence[Item]) -> Item | None:
    """The nearest earlier item (of someone else's, see `_linked`) of the kind its words name."""
    start = _first_offset(rebuttal)
    if start is None:
        return None
    words = f"{rebuttal.answers} {rebuttal.content}".casefold()
    kinds = [kind for kind, cue in _ANSWERED_KINDS if cue.search(words)] or [Item]
    earlier = [
        t
        for t in candidates
        if (offset := _first_offset(t)) is not None
        and offset < start
        and isinstance(t, tuple(kinds))
    ]
    return max(earlier, key=lambda t: _first_offset(t) or 0, default=None)


def _first_offset(item: Item) -> int | None:
    return min((e.start for e in item.evidence if e.start is not None), default=None)


_ANSWERED_KINDS: Final[tuple[tuple[type[Item], re.Pattern[str]], ...]] = (
    (Venue, re.compile(r"\b(?:offer|propos|host|venue|meet|talks|invitation|invite)")),
    (WarningItem, re.compile(r"\b(?:threat|ultimatum|deadline|warn|sanction)")),
    (Position, re.compile(r"\b(?:claim|accus|allegation|figure|report|statement|remark)")),
)
