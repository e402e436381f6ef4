"""Scoring a summary against a hand-written gold annotation of the same article.

Two items match when they are of the same kind and their grounded evidence overlaps in the
article (both sides are grounded, so this is objective); venues must also name the same place,
since one sentence can offer several. Matching is one-to-one, greedy in item order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rapidfuzz import fuzz

from summarize.assemble import assemble
from summarize.draft import DraftSummary
from summarize.schema import ArticleSummary, Item, Meta, Venue

__all__ = ["CategoryScore", "Score", "evaluate", "load_gold"]

PLACE_MIN_SCORE: Final = 80.0
CATEGORIES: Final = ("warnings", "positions", "venues", "rebuttals")


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """Precision and recall of one kind of item."""

    expected: int
    found: int
    matched: int

    @property
    def precision(self) -> float:
        """Share of found items that match a gold item (1.0 when nothing was found)."""
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        """Share of gold items found (1.0 when the gold has none)."""
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Score:
    """Scores per category and over all items."""

    categories: dict[str, CategoryScore]

    @property
    def overall(self) -> CategoryScore:
        """All categories pooled."""
        parts = self.categories.values()
        return CategoryScore(
            expected=sum(c.expected for c in parts),
            found=sum(c.found for c in parts),
            matched=sum(c.matched for c in parts),
        )


def load_gold(path: str | Path, article: str) -> ArticleSummary:
    """A gold annotation (the JSON shape the model fills), grounded in `article`.

    Raises:
        GroundingError: A gold quote is not in the article.
    """
    draft = DraftSummary.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    meta = Meta(model="gold", backend="local", prompt="gold")
    return assemble(draft, article, policy="raise", meta=meta)


def evaluate(summary: ArticleSummary, gold: ArticleSummary) -> Score:
    """How well `summary` recovers the items of `gold` (same article)."""
    return Score({name: _score(getattr(summary, name), getattr(gold, name)) for name in CATEGORIES})


def _score(found: tuple[Item, ...], expected: tuple[Item, ...]) -> CategoryScore:
    unmatched = list(expected)
    matched = 0
    for item in found:
        partner = next((g for g in unmatched if _same(item, g)), None)
        if partner is not None:
            unmatched.remove(partner)
            matched += 1
    return CategoryScore(expected=len(expected), found=len(found), matched=matched)


def _same(item: Item, gold: Item) -> bool:
    places_differ = (
        isinstance(item, Venue)
        and isinstance(gold, Venue)
        and fuzz.token_set_ratio(item.place.casefold(), gold.place.casefold()) < PLACE_MIN_SCORE
    )
    return not places_differ and any(_overlap(a, b) for a in _spans(item) for b in _spans(gold))


def _spans(item: Item) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in item.evidence if e.start is not None and e.end is not None]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
