"""Run reports: what each article and a whole batch cost, and how they went.

`ArticleStats.of` reads one result — a summary's `Meta` (usage, attempt log, cache hit,
latency, dropped items) or a failure's `BackendError` (usage and attempts are paid for too) —
and `BatchReport.of` adds them up: tokens in and out, requests, retries, re-asks, items dropped
by grounding, grounded share, cache hits, latency percentiles and an estimated cost::

    report = summarizer.summarize_many(articles).report()
    print(report)                 # a few readable lines
    report.as_dict()              # JSON-ready

Cost comes from a price table, model → (USD per million input tokens, per million output
tokens); `DEFAULT_PRICES` holds a few OpenAI models. A model the table does not name has an
unknown cost (None, never 0), and so does a batch with any such article; an article that used
no tokens (a cache hit, an input refused before any call) costs 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from summarize.errors import BackendError
from summarize.schema import ArticleSummary, Attempt, Usage

__all__ = ["DEFAULT_PRICES", "ArticleStats", "BatchReport", "Prices", "cost_usd"]

#: Model → (USD per million input tokens, USD per million output tokens).
Prices = Mapping[str, tuple[float, float]]

#: OpenAI's standard-tier list prices as published in 2025; check your provider's current ones
#: and pass your own table (``prices=``, ``summarize --prices FILE.json``).
DEFAULT_PRICES: Final[Prices] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}

_DATED: Final = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-4o-mini-2024-07-18


def cost_usd(model: str | None, usage: Usage, prices: Prices | None = None) -> float | None:
    """Estimated cost of `usage` on `model`; None when the table has no price for it."""
    if usage.prompt_tokens == 0 and usage.completion_tokens == 0:
        return 0.0
    table = DEFAULT_PRICES if prices is None else prices
    rates = None if model is None else table.get(model, table.get(_DATED.sub("", model)))
    if rates is None:
        return None
    return (usage.prompt_tokens * rates[0] + usage.completion_tokens * rates[1]) / 1e6


@dataclass(frozen=True, slots=True)
class ArticleStats:
    """How one article went.

    Attributes:
        id: The article's id.
        error: The exception's type name when it failed, else None.
        model: The model asked, when one was.
        cache_hit: Served from the cache (no tokens, no requests).
        tokens_in: Prompt tokens, failed requests included.
        tokens_out: Completion tokens, failed requests included.
        attempts: HTTP requests made.
        retries: Requests that repeated one that failed (transient failures, truncation).
        reasks: Requests that answered an invalid or ungrounded answer (instructor's re-asks).
        dropped_items: Items dropped because none of their quotes was grounded.
        dropped_evidence: Ungrounded quotes removed from kept items.
        grounded: Grounded quotes in the summary.
        ungrounded: Quotes that were not grounded: kept (``ungrounded="keep"``) or dropped,
            one per dropped item at least.
        latency_s: Seconds the summary took (None for a failure).
        cost_usd: Estimated cost; None when the model's price is unknown.
    """

    id: str
    error: str | None = None
    model: str | None = None
    cache_hit: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 0
    retries: int = 0
    reasks: int = 0
    dropped_items: int = 0
    dropped_evidence: int = 0
    grounded: int = 0
    ungrounded: int = 0
    latency_s: float | None = None
    cost_usd: float | None = 0.0

    @classmethod
    def of(
        cls, id: object, result: ArticleSummary | BaseException, prices: Prices | None = None
    ) -> ArticleStats:
        """The stats of one article's summary or failure."""
        if isinstance(result, ArticleSummary):
            return cls._of_summary(str(id), result, prices)
        if isinstance(result, BackendError):
            retries, reasks = _repeats(result.attempt_log)
            return cls(
                id=str(id),
                error=type(result).__name__,
                model=result.model or None,
                tokens_in=result.usage.prompt_tokens,
                tokens_out=result.usage.completion_tokens,
                attempts=result.attempts,
                retries=retries,
                reasks=reasks,
                cost_usd=cost_usd(result.model or None, result.usage, prices),
            )
        return cls(id=str(id), error=type(result).__name__)

    @classmethod
    def _of_summary(cls, id: str, summary: ArticleSummary, prices: Prices | None) -> ArticleStats:
        meta = summary.meta
        retries, reasks = _repeats(meta.attempt_log)
        evidence = [e for item in summary.items() for e in item.evidence]
        grounded = sum(e.grounded for e in evidence)
        return cls(
            id=id,
            model=meta.model,
            cache_hit=meta.cache_hit,
            tokens_in=meta.usage.prompt_tokens,
            tokens_out=meta.usage.completion_tokens,
            attempts=meta.attempts,
            retries=retries,
            reasks=reasks,
            dropped_items=meta.dropped_items,
            dropped_evidence=meta.dropped_evidence,
            grounded=grounded,
            ungrounded=len(evidence) - grounded + meta.dropped_evidence + meta.dropped_items,
            latency_s=meta.latency_s,
            cost_usd=cost_usd(meta.model, meta.usage, prices),
        )


@dataclass(frozen=True, slots=True)
class BatchReport:
    """The totals of a batch, with each article's `ArticleStats` in `items`.

    Attributes:
        items: One `ArticleStats` per article, in the order given.
        elapsed_s: Wall time of the batch, when known.
    """

    items: tuple[ArticleStats, ...]
    elapsed_s: float | None = None
    _errors: Counter[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_errors", Counter(i.error for i in self.items if i.error))

    @classmethod
    def of(
        cls,
        results: Iterable[tuple[object, ArticleSummary | BaseException] | ArticleStats],
        *,
        elapsed_s: float | None = None,
        prices: Prices | None = None,
    ) -> BatchReport:
        """The report of ``(id, summary or error)`` pairs, or of stats already taken."""
        items = tuple(
            r if isinstance(r, ArticleStats) else ArticleStats.of(r[0], r[1], prices)
            for r in results
        )
        return cls(items, elapsed_s)

    @property
    def articles(self) -> int:
        """Articles in the batch."""
        return len(self.items)

    @property
    def failed(self) -> int:
        """Articles that failed."""
        return sum(self._errors.values())

    @property
    def summarized(self) -> int:
        """Articles summarized, from the cache or not."""
        return self.articles - self.failed

    @property
    def errors(self) -> dict[str, int]:
        """Failures by error type."""
        return dict(self._errors)

    def total(self, name: str) -> int:
        """The sum of an integer `ArticleStats` field, e.g. ``total("retries")``."""
        return sum(getattr(i, name) for i in self.items)

    @property
    def cache_hits(self) -> int:
        """Articles served from the cache."""
        return sum(i.cache_hit for i in self.items)

    @property
    def grounded_share(self) -> float | None:
        """Grounded quotes among every quote the model gave (None when it gave none)."""
        grounded, ungrounded = self.total("grounded"), self.total("ungrounded")
        return grounded / (grounded + ungrounded) if grounded + ungrounded else None

    @property
    def cost_usd(self) -> float | None:
        """Estimated cost of the batch; None when any article's is unknown."""
        costs = [i.cost_usd for i in self.items]
        return None if None in costs else sum(c for c in costs if c is not None)

    @property
    def unpriced_models(self) -> list[str]:
        """Models that used tokens but have no price in the table."""
        return sorted({i.model or "?" for i in self.items if i.cost_usd is None})

    def latency(self, percentile: float) -> float | None:
        """Seconds within which `percentile` % of the fresh (not cached) summaries finished."""
        values = sorted(
            i.latency_s for i in self.items if i.latency_s is not None and not i.cache_hit
        )
        if not values:
            return None
        rank = max(math.ceil(percentile / 100 * len(values)), 1)
        return values[rank - 1]

    def as_dict(self) -> dict[str, Any]:
        """The totals as JSON-ready values (per-article stats are in `items`)."""
        share = self.grounded_share
        return {
            "articles": self.articles,
            "summarized": self.summarized,
            "failed": self.failed,
            "errors": self.errors,
            "cache_hits": self.cache_hits,
            "tokens_in": self.total("tokens_in"),
            "tokens_out": self.total("tokens_out"),
            "attempts": self.total("attempts"),
            "retries": self.total("retries"),
            "reasks": self.total("reasks"),
            "dropped_items": self.total("dropped_items"),
            "dropped_evidence": self.total("dropped_evidence"),
            "grounded_share": None if share is None else round(share, 4),
            "latency_s": {f"p{p}": self.latency(p) for p in (50, 90, 99, 100)},
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "unpriced_models": self.unpriced_models,
            "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
        }

    def text(self) -> str:
        """A few readable lines."""
        d = self.as_dict()
        errors = ", ".join(f"{name}: {n}" for name, n in sorted(self.errors.items()))
        lines = [
            f"{d['articles']} articles: {d['summarized']} summarized "
            f"({d['cache_hits']} from the cache), {d['failed']} failed"
            + (f" ({errors})" if errors else ""),
            f"requests: {d['attempts']} ({d['retries']} retries, {d['reasks']} re-asks); "
            f"tokens: {d['tokens_in']:,} in, {d['tokens_out']:,} out; "
            + _cost_text(self.cost_usd, self.unpriced_models),
            f"grounding: {_share_text(d['grounded_share'])}, {d['dropped_items']} items and "
            f"{d['dropped_evidence']} quotes dropped",
        ]
        if self.latency(50) is not None:
            p = d["latency_s"]
            lines.append(
                f"latency: p50 {p['p50']:.2f}s, p90 {p['p90']:.2f}s, p99 {p['p99']:.2f}s, "
                f"max {p['p100']:.2f}s"
            )
        if self.elapsed_s:
            rate = self.articles / self.elapsed_s
            lines.append(f"wall time: {self.elapsed_s:.2f}s ({rate:.1f} articles/s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _repeats(log: Iterable[Attempt]) -> tuple[int, int]:
    """(retries, re-asks) in an attempt log: what each request after the first answered."""
    retries = reasks = 0
    previous: str | None = None
    for attempt in log:
        if previous == "invalid_output":
            reasks += 1
        elif previous is not None and previous != "ok":
            retries += 1
        previous = attempt.outcome
    return retries, reasks


def _share_text(share: float | None) -> str:
    return "no quotes" if share is None else f"{share:.1%} of quotes grounded"


def _cost_text(cost: float | None, unpriced: list[str]) -> str:
    if cost is None:
        return f"cost unknown (no price for {', '.join(unpriced)})"
    return f"est. cost ${cost:.4f}"
