"""The caching layer: finished summaries by content key, single-flight, never a crash.

Only a validated, grounded `ArticleSummary` is stored, with the model's draft, as JSON in a
versioned envelope; failures are never stored. A hit makes no model call and comes back with
``meta.cache_hit=True`` (and no attempts or tokens: this call cost nothing). When the hit's
text differs from the stored one only by normalization (line ends, trailing spaces, Unicode
form), the draft is grounded again in the caller's text so offsets index *that* text.

Concurrent identical calls in one process (threads or asyncio tasks) make one model call;
the others wait for its result. A store that fails (Redis down, disk full, read-only path)
is logged once and the call goes on uncached, unless ``errors="raise"``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from summarize.cache.base import Cache, CacheError, one_line
from summarize.cache.key import CACHE_FORMAT, schema_fingerprint, text_digest
from summarize.draft import DraftSummary
from summarize.errors import SummarizeError
from summarize.schema import ArticleSummary, Meta, Usage

__all__ = ["CacheErrors", "Computed", "SummaryCache"]

logger = logging.getLogger(__name__)

CacheErrors = Literal["warn", "raise"]
T = TypeVar("T")


class Computed(NamedTuple):
    """A fresh result: the summary users get and the draft it was assembled from."""

    summary: ArticleSummary
    draft: DraftSummary


Reassemble = Callable[[DraftSummary, str, Meta], ArticleSummary]


@dataclass(slots=True)
class _Flight:
    """One in-progress computation that identical calls wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    result: ArticleSummary | None = None
    error: BaseException | None = None


class _LeaderCancelled(Exception):
    """The task computing a shared result was cancelled; a waiter takes over."""


class SummaryCache:
    """Wraps a `Cache` store with envelopes, hit handling, single-flight and degradation.

    Args:
        store: Where entries live (a TTL is the store's: ``?ttl=`` in its URL).
        key: The cache key of an article (`summarize.cache.key.KeyMaker`).
        reassemble: Grounds a stored draft in an article whose text differs from the stored
            one only by normalization.
        errors: On a store failure, "warn" (log once, go on uncached) or "raise" `CacheError`.
    """

    def __init__(
        self,
        store: Cache,
        *,
        key: Callable[[str], str],
        reassemble: Reassemble,
        errors: CacheErrors = "warn",
    ) -> None:
        self.store = store
        self.key = key
        self.reassemble = reassemble
        self.errors = errors
        self._warned = False
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._aflights: dict[tuple[int, str], asyncio.Future[ArticleSummary]] = {}

    def get_or_compute(self, article: str, compute: Callable[[], Computed]) -> ArticleSummary:
        """The cached summary of `article`, else `compute()`'s (stored, shared with waiters)."""
        started = time.perf_counter()
        key, digest = self.key(article), text_digest(article)
        hit = self._decode(key, self._guard(lambda: self.store.get(key)), article, digest)
        if hit is not None:
            return _as_hit(hit, started)
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.result is not None
            return _as_hit(flight.result, started)
        try:
            fresh = compute()
            self._guard(lambda: self.store.set(key, _encode(fresh, digest)))
            flight.result = fresh.summary
            return fresh.summary
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    async def aget_or_compute(
        self, article: str, compute: Callable[[], Awaitable[Computed]]
    ) -> ArticleSummary:
        """Async `get_or_compute`: waiters are tasks of the same event loop."""
        started = time.perf_counter()
        key, digest = self.key(article), text_digest(article)
        hit = self._decode(key, await self._aguard(self.store.aget(key)), article, digest)
        if hit is not None:
            return _as_hit(hit, started)
        slot = (id(asyncio.get_running_loop()), key)
        while (pending := self._aflights.get(slot)) is not None:
            try:
                return _as_hit(await asyncio.shield(pending), started)
            except _LeaderCancelled:
                continue  # whoever gets here first leads the next try
        future: asyncio.Future[ArticleSummary] = asyncio.get_running_loop().create_future()
        self._aflights[slot] = future
        try:
            fresh = await compute()
            await self._aguard(self.store.aset(key, _encode(fresh, digest)))
            future.set_result(fresh.summary)
            return fresh.summary
        except asyncio.CancelledError:
            future.set_exception(_LeaderCancelled())
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._aflights[slot]
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved: no "never retrieved" warning

    def _decode(
        self, key: str, raw: str | None, article: str, digest: str
    ) -> ArticleSummary | None:
        """The summary in a stored envelope, for this article; None (logged) if unusable."""
        if raw is None:
            return None
        try:
            envelope = json.loads(raw)
            if not isinstance(envelope, dict) or envelope.get("format") != CACHE_FORMAT:
                raise ValueError(f"not a format-{CACHE_FORMAT} envelope")
            if envelope.get("schema") != schema_fingerprint():
                raise ValueError("written for another schema")
            if envelope.get("article_sha256") == digest:
                return ArticleSummary.model_validate(envelope["summary"])
            # Same normalized text, different characters: ground again in this one.
            stored = ArticleSummary.model_validate(envelope["summary"])
            draft = DraftSummary.model_validate(envelope["draft"])
            return self.reassemble(draft, article, stored.meta)
        except (ValueError, KeyError, TypeError, ValidationError, SummarizeError) as exc:
            logger.warning("ignoring unusable cache entry %s…: %s", key[:12], one_line(exc))
            return None

    def _guard(self, operation: Callable[[], T]) -> T | None:
        try:
            return operation()
        except CacheError as exc:
            self._degrade(exc)
            return None

    async def _aguard(self, operation: Awaitable[T]) -> T | None:
        try:
            return await operation
        except CacheError as exc:
            self._degrade(exc)
            return None

    def _degrade(self, exc: CacheError) -> None:
        if self.errors == "raise":
            raise exc
        if not self._warned:
            self._warned = True
            logger.warning(
                "cache %s failed (%s); going on without it (pass cache_errors='raise' to fail)",
                self.store.url,
                exc,
            )


def _encode(fresh: Computed, article_digest: str) -> str:
    envelope: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "schema": schema_fingerprint(),
        "article_sha256": article_digest,
        "stored_at": time.time(),
        "summary": fresh.summary.model_dump(mode="json"),
        "draft": fresh.draft.model_dump(mode="json"),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def _as_hit(summary: ArticleSummary, started: float) -> ArticleSummary:
    """The summary as this call saw it: served from cache, no attempts, no tokens."""
    meta = summary.meta.model_copy(
        update={
            "cache_hit": True,
            "attempts": 0,
            "attempt_log": (),
            "usage": Usage(),
            "latency_s": round(time.perf_counter() - started, 6),
        }
    )
    return summary.model_copy(update={"meta": meta})
