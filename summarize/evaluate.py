"""Scoring summaries against hand-written gold annotations (see ``gold/FORMAT.md``).

An item matches a gold item when they are of the same kind, their grounded evidence overlaps
in the article, and they name the same actor: a warning's `by`, a position's `holder` and a
rebuttal's `by` (fuzzy, on the gold actor's names and aliases); a venue's `place`. Matching is
one-to-one, greedy in item order. A gold file may also list traps: items a careless
summarizer would produce. `evaluate_files` runs a `Summarizer` over a gold set and reports
precision, recall and F1 per category, traps triggered, invalid answers, grounded share,
tokens and seconds per article.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from summarize.assemble import assemble
from summarize.draft import UNCAPPED, DraftSummary
from summarize.errors import SummarizeError
from summarize.names import same_actor
from summarize.schema import ArticleSummary, Item, Meta, Position, Rebuttal, Venue, WarningItem

if TYPE_CHECKING:
    from summarize.pipeline import Summarizer

__all__ = [
    "CATEGORIES",
    "ArticleResult",
    "CategoryScore",
    "EvalReport",
    "GoldArticle",
    "Score",
    "Trap",
    "evaluate",
    "evaluate_files",
    "load_gold",
    "load_gold_article",
]

CATEGORIES: Final = ("warnings", "positions", "venues", "rebuttals")


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """Precision and recall of one kind of item, and how often a matched item's type is right.

    The type is a warning's or rebuttal's `kind`, a venue's `status` or a position's
    `polarity`: matching ignores it, `type_agreement` measures it.
    """

    expected: int
    found: int
    matched: int
    typed: int = 0
    """Matched items whose type is the gold item's."""

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

    @property
    def type_agreement(self) -> float:
        """Share of matched items whose type is the gold item's (1.0 when none matched)."""
        return self.typed / self.matched if self.matched else 1.0

    def __add__(self, other: CategoryScore) -> CategoryScore:
        return CategoryScore(
            self.expected + other.expected,
            self.found + other.found,
            self.matched + other.matched,
            self.typed + other.typed,
        )


_NONE: Final = CategoryScore(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Trap:
    """An item a careless summarizer would produce, and an analyst would not."""

    category: str
    start: int
    end: int
    why: str
    place: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Scores per category and over all items, and the traps the summary fell into."""

    categories: dict[str, CategoryScore]
    traps: tuple[Trap, ...] = ()

    @property
    def overall(self) -> CategoryScore:
        """All categories pooled."""
        return sum(self.categories.values(), _NONE)


@dataclass(frozen=True, slots=True)
class GoldArticle:
    """One article with its gold annotation, grounded in it.

    Attributes:
        name: The file's stem (``border-ultimatum``).
        article: The article text.
        gold: The annotation as a summary (offsets computed, every quote verbatim).
        names: For each gold actor, every name it goes by (name, canonical, aliases).
        traps: Items a summarizer must not produce.
        notes: What the article exercises.
    """

    name: str
    article: str
    gold: ArticleSummary
    names: tuple[frozenset[str], ...] = ()
    traps: tuple[Trap, ...] = ()
    notes: str = ""


class _GoldActor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    canonical: str
    aliases: list[str] = []


class _TrapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    quote: str
    why: str
    place: str | None = None
    actor: str | None = None


class _GoldExtras(BaseModel):
    model_config = ConfigDict(extra="ignore")

    notes: str = ""
    actors: list[_GoldActor] = []
    traps: list[_TrapSpec] = []


def load_gold(path: str | Path, article: str) -> ArticleSummary:
    """A gold annotation (the JSON shape the model fills), grounded in `article`.

    Raises:
        GroundingError: A gold quote is not in the article.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    draft = DraftSummary.model_validate(data, context={UNCAPPED: True})
    meta = Meta(model="gold", backend="local", prompt="gold")
    return assemble(draft, article, policy="raise", meta=meta)


def load_gold_article(path: str | Path) -> GoldArticle:
    """``NAME.gold.json`` with its article ``NAME.txt`` beside it.

    Raises:
        GroundingError: A gold quote is not in the article.
        ValueError: A trap is malformed or its quote is not in the article.
    """
    path = Path(path)
    name = path.name.removesuffix(".gold.json")
    article = path.with_name(f"{name}.txt").read_text(encoding="utf-8")
    gold = load_gold(path, article)
    try:
        extras = _GoldExtras.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    names = tuple(frozenset({a.name, a.canonical, *a.aliases}) for a in extras.actors)
    traps = tuple(_trap(spec, article, path) for spec in extras.traps)
    return GoldArticle(name, article, gold, names, traps, extras.notes)


def _trap(spec: _TrapSpec, article: str, path: Path) -> Trap:
    if spec.category not in CATEGORIES:
        raise ValueError(f"{path}: trap category {spec.category!r} is not one of {CATEGORIES}")
    start = article.find(spec.quote)
    if start < 0:
        raise ValueError(f"{path}: trap quote is not in the article: {spec.quote[:60]!r}")
    return Trap(spec.category, start, start + len(spec.quote), spec.why, spec.place, spec.actor)


def evaluate(summary: ArticleSummary, gold: ArticleSummary | GoldArticle) -> Score:
    """How well `summary` recovers the items of `gold` (same article), actors included."""
    if isinstance(gold, ArticleSummary):
        gold = GoldArticle("", "", gold, _names_from(gold))
    categories = {
        name: _score(getattr(summary, name), getattr(gold.gold, name), gold.names)
        for name in CATEGORIES
    }
    triggered = tuple(t for t in gold.traps if _triggers(summary, t, gold.names))
    return Score(categories, triggered)


def _names_from(gold: ArticleSummary) -> tuple[frozenset[str], ...]:
    return tuple(frozenset({a.name, a.canonical}) for a in gold.actors)


def _matched_name(item: Item) -> str:
    """What names an item for matching: its actor, or a venue's place."""
    return item.place if isinstance(item, Venue) else item.actor


def _score(
    found: tuple[Item, ...], expected: tuple[Item, ...], names: tuple[frozenset[str], ...]
) -> CategoryScore:
    unmatched = list(expected)
    matched = typed = 0
    for item in found:
        partner = next((g for g in unmatched if _same(item, g, names)), None)
        if partner is not None:
            unmatched.remove(partner)
            matched += 1
            typed += _type(item) == _type(partner)
    return CategoryScore(len(expected), len(found), matched, typed)


def _type(item: Item) -> str:
    """What kind of warning, venue, position or rebuttal an item is (see `CategoryScore`)."""
    if isinstance(item, Venue):
        return item.status
    if isinstance(item, Position):
        return item.polarity
    if isinstance(item, WarningItem | Rebuttal):
        return item.kind
    return ""


def _same(item: Item, gold: Item, names: tuple[frozenset[str], ...]) -> bool:
    if not any(_overlap(a, b) for a in _spans(item) for b in _spans(gold)):
        return False
    return same_actor(_matched_name(item), _matched_name(gold), names)


def _triggers(summary: ArticleSummary, trap: Trap, names: tuple[frozenset[str], ...]) -> bool:
    wanted = trap.place or trap.actor
    for item in getattr(summary, trap.category):
        if any(_overlap(span, (trap.start, trap.end)) for span in _spans(item)) and (
            wanted is None or same_actor(_matched_name(item), wanted, names)
        ):
            return True
    return False


def _spans(item: Item) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in item.evidence if e.start is not None and e.end is not None]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# --- running a gold set ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleResult:
    """What one model did on one gold article."""

    name: str
    chars: int
    score: Score | None
    seconds: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    max_prompt_tokens: int = 0
    invalid_answers: int = 0
    grounded: int = 0
    ungrounded: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        score = None
        if self.score is not None:
            score = {
                **{k: _category_dict(v) for k, v in self.score.categories.items()},
                "overall": _category_dict(self.score.overall),
                "traps": [t.why for t in self.score.traps],
            }
        return {
            "name": self.name,
            "chars": self.chars,
            "seconds": round(self.seconds, 2),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "requests": self.requests,
            "max_prompt_tokens": self.max_prompt_tokens,
            "invalid_answers": self.invalid_answers,
            "grounded": self.grounded,
            "ungrounded": self.ungrounded,
            "error": self.error,
            "score": score,
        }


def _category_dict(c: CategoryScore) -> dict[str, Any]:
    return {
        "expected": c.expected,
        "found": c.found,
        "matched": c.matched,
        "precision": round(c.precision, 3),
        "recall": round(c.recall, 3),
        "f1": round(c.f1, 3),
        "typed": c.typed,
        "type_agreement": round(c.type_agreement, 3),
    }


@dataclass(frozen=True, slots=True)
class EvalReport:
    """A model's results over a gold set: per article, and pooled."""

    model: str
    strategy: str
    results: tuple[ArticleResult, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def categories(self) -> dict[str, CategoryScore]:
        """Each category pooled over every article (failed articles count as finding nothing)."""
        pooled = dict.fromkeys(CATEGORIES, _NONE)
        for result in self.results:
            for name in CATEGORIES:
                pooled[name] += _scored(result, name)
        return pooled

    @property
    def overall(self) -> CategoryScore:
        """Every item of every article pooled."""
        return sum(self.categories.values(), _NONE)

    @property
    def traps_triggered(self) -> int:
        """Traps fallen into, over every article."""
        return sum(len(r.score.traps) for r in self.results if r.score is not None)

    @property
    def invalid_answer_rate(self) -> float:
        """Share of the model's answers that were invalid (and re-asked or given up on)."""
        requests = sum(r.requests for r in self.results)
        return sum(r.invalid_answers for r in self.results) / requests if requests else 0.0

    @property
    def grounded_share(self) -> float:
        """Share of the evidence the model gave that was found in the article."""
        total = sum(r.grounded + r.ungrounded for r in self.results)
        return sum(r.grounded for r in self.results) / total if total else 1.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values: totals, then one entry per article."""
        n = len(self.results) or 1
        return {
            "model": self.model,
            "strategy": self.strategy,
            "settings": dict(self.settings),
            "articles": len(self.results),
            "failed": sum(r.error is not None for r in self.results),
            **{k: _category_dict(v) for k, v in self.categories.items()},
            "overall": _category_dict(self.overall),
            "traps_triggered": self.traps_triggered,
            "invalid_answer_rate": round(self.invalid_answer_rate, 3),
            "grounded_share": round(self.grounded_share, 3),
            "seconds_per_article": round(sum(r.seconds for r in self.results) / n, 2),
            "prompt_tokens_per_article": round(sum(r.prompt_tokens for r in self.results) / n),
            "completion_tokens_per_article": round(
                sum(r.completion_tokens for r in self.results) / n
            ),
            "max_prompt_tokens_per_request": max(
                (r.max_prompt_tokens for r in self.results), default=0
            ),
            "venue_traps_triggered": sum(
                t.category == "venues" for r in self.results if r.score for t in r.score.traps
            ),
            "results": [r.as_dict() for r in self.results],
        }

    def table(self) -> str:
        """A plain-text table: one row per article, then the pooled categories."""
        lines = [
            f"model {self.model}, strategy {self.strategy}",
            f"{'article':32} {'F1':>5} {'P':>5} {'R':>5} {'traps':>5} {'sec':>7} {'tokens':>7}",
        ]
        for r in self.results:
            if r.score is None:
                lines.append(f"{r.name[:32]:32} failed: {r.error}")
                continue
            o = r.score.overall
            tokens = r.prompt_tokens + r.completion_tokens
            lines.append(
                f"{r.name[:32]:32} {o.f1:5.2f} {o.precision:5.2f} {o.recall:5.2f} "
                f"{len(r.score.traps):5} {r.seconds:7.1f} {tokens:7}"
            )
        lines += [
            "",
            f"{'':10} {'gold':>5} {'found':>6} {'match':>6} {'P':>6} {'R':>6} {'F1':>6} "
            f"{'type':>6}",
        ]
        for name, c in [*self.categories.items(), ("overall", self.overall)]:
            lines.append(
                f"{name:10} {c.expected:5} {c.found:6} {c.matched:6} "
                f"{c.precision:6.2f} {c.recall:6.2f} {c.f1:6.2f} {c.type_agreement:6.2f}"
            )
        lines.append("(type: share of matched items whose kind, status or polarity is right)")
        d = self.as_dict()
        lines.append(
            f"\ntraps triggered {self.traps_triggered}, invalid answers "
            f"{self.invalid_answer_rate:.1%}, grounded share {self.grounded_share:.1%}, "
            f"{d['seconds_per_article']}s and {d['prompt_tokens_per_article']}+"
            f"{d['completion_tokens_per_article']} tokens per article (at most "
            f"{d['max_prompt_tokens_per_request']} prompt tokens in one request), "
            f"{d['failed']} failed"
        )
        return "\n".join(lines)


def _scored(result: ArticleResult, name: str) -> CategoryScore:
    if result.score is not None:
        return result.score.categories[name]
    return CategoryScore(0, 0, 0)


def gold_files(paths: Sequence[str | Path]) -> list[Path]:
    """The ``*.gold.json`` files named, directories expanded, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        found += sorted(path.glob("*.gold.json")) if path.is_dir() else [path]
    return found


def evaluate_files(
    paths: Sequence[str | Path],
    summarizer: Summarizer,
    *,
    on_result: Callable[[ArticleResult], None] | None = None,
) -> EvalReport:
    """Summarize every gold article with `summarizer` and score it.

    A failed article counts as finding nothing (and is reported with its error).
    """
    results: list[ArticleResult] = []
    for path in gold_files(paths):
        gold = load_gold_article(path)
        result = _run_one(gold, summarizer)
        results.append(result)
        if on_result is not None:
            on_result(result)
    settings = summarizer.settings
    return EvalReport(
        model=summarizer.backend.model,
        strategy=summarizer.strategy.name,
        results=tuple(results),
        settings={"max_tokens": settings.max_tokens, "max_reasks": settings.max_reasks},
    )


def _run_one(gold: GoldArticle, summarizer: Summarizer) -> ArticleResult:
    started = time.perf_counter()
    try:
        summary = summarizer.summarize(gold.article)
    except SummarizeError as exc:
        log = getattr(exc, "attempt_log", ())
        usage = getattr(exc, "usage", None)
        return ArticleResult(
            gold.name,
            len(gold.article),
            evaluate(_empty_like(gold.gold), gold),  # scored as finding nothing
            time.perf_counter() - started,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            requests=len(log),
            invalid_answers=sum(a.outcome == "invalid_output" for a in log),
            error=f"{type(exc).__name__}: {exc}",
        )
    meta = summary.meta
    grounded = sum(e.grounded for item in summary.items() for e in item.evidence)
    kept_ungrounded = sum(len(item.evidence) for item in summary.items()) - grounded
    return ArticleResult(
        gold.name,
        len(gold.article),
        evaluate(summary, gold),
        time.perf_counter() - started,
        prompt_tokens=meta.usage.prompt_tokens,
        completion_tokens=meta.usage.completion_tokens,
        requests=meta.attempts,
        max_prompt_tokens=max((a.usage.prompt_tokens for a in meta.attempt_log), default=0),
        invalid_answers=sum(a.outcome == "invalid_output" for a in meta.attempt_log),
        grounded=grounded,
        ungrounded=kept_ungrounded + meta.dropped_evidence + meta.dropped_items,
    )


def _empty_like(gold: ArticleSummary) -> ArticleSummary:
    return ArticleSummary(summary="(failed)", meta=gold.meta)
