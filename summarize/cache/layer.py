"""The caching layer: finished summaries by content key, single-flight, never a crash.

Only the draft of a validated, grounded `ArticleSummary` is stored, with the summary's meta
(model, prompt, ...), as JSON in a versioned envelope; failures are never stored. A hit makes
no model call: the draft is assembled again in the caller's own text by today's rules
(grounding, attribution, event codes), so offsets index *that* text (which may differ from
the stored one by line ends, trailing spaces or Unicode form) and a rule changed since the
entry was written applies to it. A hit comes back with ``meta.cache_hit=True`` (and no
attempts or tokens: this call cost nothing).

Concurrent identical calls in one process (threads or asyncio tasks) make one model call;
the others wait for its draft and assemble it in their own text, as a hit would. A store
that fails is logged once and the call goes on uncached. With ``errors="raise"`` a failed
read raises `CacheError`, while a failed write (the summary is paid for) is a `CacheWarning`;
either way the summary's ``meta.cache_error`` says why it was not stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from summarize.cache.base import Cache, CacheError, one_line
from summarize.cache.key import CACHE_FORMAT, schema_fingerprint
from summarize.draft import DraftSummary
from summarize.errors import CacheWarning, SummarizeError
from summarize.schema import ArticleSummary, Meta, Usage

__all__ = ["CacheErrors", "Computed", "SummaryCache"]

logger = logging.getLogger(__name__)

CacheErrors = Literal["warn", "raise"]
T = TypeVar("T")

#: How much (characters of entries and texts) of the summaries it assembled each
#: `SummaryCache` keeps for repeat hits in this process.
RECENT_CHARS = 8_000_000


class Computed(NamedTuple):
    """A fresh result: the summary users get and the draft it was assembled from."""

    summary: ArticleSummary
    draft: DraftSummary


Reassemble = Callable[[DraftSummary, str, Meta], ArticleSummary]


@dataclass(slots=True)
class _Flight:
    """One in-progress computation that identical calls wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    result: Computed | None = None
    error: BaseException | None = None


class _LeaderCancelled(Exception):
    """The task computing a shared result was cancelled; a waiter takes over."""


class SummaryCache:
    """Wraps a `Cache` store with envelopes, hit handling, single-flight and degradation.

    Args:
        store: Where entries live (a TTL is the store's: ``?ttl=`` in its URL).
        key: The cache key of an article (`summarize.cache.key.KeyMaker`).
        reassemble: Assembles a stored draft in an article, keeping the given meta.
        errors: On a store failure, "warn" (log once, go on uncached) or "raise" (a failed
            read raises `CacheError`; a failed write issues a `CacheWarning`).
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
        self._aflights: dict[tuple[int, str], asyncio.Future[Computed]] = {}
        self._recent: OrderedDict[tuple[str, str], ArticleSummary] = OrderedDict()
        self._recent_chars = 0

    def get_or_compute(self, article: str, compute: Callable[[], Computed]) -> ArticleSummary:
        """The cached summary of `article`, else `compute()`'s (stored, shared with waiters)."""
        started = time.perf_counter()
        key = self.key(article)
        hit = self._decode(key, self._guard(lambda: self.store.get(key)), article)
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
            return _as_hit(self._shared(flight.result, article), started)
        try:
            fresh = compute()
            failure = self._write(key, fresh, article)
            flight.result = fresh
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return self._reported(fresh.summary, failure)

    async def aget_or_compute(
        self, article: str, compute: Callable[[], Awaitable[Computed]]
    ) -> ArticleSummary:
        """Async `get_or_compute`: waiters are tasks of the same event loop."""
        started = time.perf_counter()
        key = self.key(article)
        hit = self._decode(key, await self._aguard(self.store.aget(key)), article)
        if hit is not None:
            return _as_hit(hit, started)
        slot = (id(asyncio.get_running_loop()), key)
        while (pending := self._aflights.get(slot)) is not None:
            try:
                shared = await asyncio.shield(pending)
            except _LeaderCancelled:
                continue  # whoever gets here first leads the next try
            return _as_hit(self._shared(shared, article), started)
        future: asyncio.Future[Computed] = asyncio.get_running_loop().create_future()
        self._aflights[slot] = future
        try:
            fresh = await compute()
            failure = await self._awrite(key, fresh, article)
            future.set_result(fresh)
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
        return self._reported(fresh.summary, failure)

    def _decode(self, key: str, raw: str | None, article: str) -> ArticleSummary | None:
        """The stored draft assembled in `article`; None (logged) if the entry is unusable."""
        if raw is None:
            return None
        with self._lock:
            known = self._recent.get((raw, article))
            if known is not None:
                self._recent.move_to_end((raw, article))
                return known
        try:
            envelope = json.loads(raw)
            if not isinstance(envelope, dict) or envelope.get("format") != CACHE_FORMAT:
                raise ValueError(f"not a format-{CACHE_FORMAT} envelope")
            if envelope.get("schema") != schema_fingerprint():
                raise ValueError("written for another schema")
            meta = Meta.model_validate(envelope["meta"])
            draft = DraftSummary.model_validate(envelope["draft"])
            summary = self.reassemble(draft, article, meta)
        except (ValueError, KeyError, TypeError, ValidationError, SummarizeError) as exc:
            logger.warning("ignoring unusable cache entry %s…: %s", key[:12], one_line(exc))
            return None
        self._remember(raw, article, summary)
        return summary

    def _remember(self, raw: str, article: str, summary: ArticleSummary) -> None:
        """Keep what an entry assembles to in this text, for hits on it in this process.

        Assembly is a pure function of the entry, the text and this summarizer's settings,
        so a hit whose store returns the same entry for the same text skips it (the store is
        still asked: a cleared or expired entry is a miss).
        """
        size = len(raw) + len(article)
        if size > RECENT_CHARS // 16:
            return  # a huge text would push out many others
        with self._lock:
            if (raw, article) not in self._recent:
                self._recent_chars += size
            self._recent[(raw, article)] = summary
            self._recent.move_to_end((raw, article))
            while self._recent_chars > RECENT_CHARS:
                (old_raw, old_article), _ = self._recent.popitem(last=False)
                self._recent_chars -= len(old_raw) + len(old_article)

    def _shared(self, leader: Computed, article: str) -> ArticleSummary:
        """A waiter's result: the leader's draft assembled in the waiter's own text."""
        return self.reassemble(leader.draft, article, leader.summary.meta)

    def _write(self, key: str, fresh: Computed, article: str) -> CacheError | None:
        raw = _encode(fresh)
        try:
            self.store.set(key, raw)
        except CacheError as exc:
            return exc
        self._remember(raw, article, fresh.summary)
        return None

    async def _awrite(self, key: str, fresh: Computed, article: str) -> CacheError | None:
        raw = _encode(fresh)
        try:
            await self.store.aset(key, raw)
        except CacheError as exc:
            return exc
        self._remember(raw, article, fresh.summary)
        return None

    def _reported(self, summary: ArticleSummary, failure: CacheError | None) -> ArticleSummary:
        """The fresh summary; if it could not be stored, its meta (and a warning) say why."""
        if failure is None:
            return summary
        reason = one_line(failure)
        if self.errors == "raise":
            # The summary is paid for: say so, but do not throw it away.
            warnings.warn(f"summary not cached: {reason}", CacheWarning, stacklevel=_user_frame())
        else:
            self._degrade(failure)
        meta = summary.meta.model_copy(update={"cache_error": reason})
        return summary.model_copy(update={"meta": meta})

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
                "cache %s failed (%s); going on without it (with cache_errors='raise', "
                "a failed read raises and a failed write warns)",
                self.store.url,
                exc,
            )


def _encode(fresh: Computed) -> str:
    envelope: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "schema": schema_fingerprint(),
        "stored_at": time.time(),
        "meta": fresh.summary.meta.model_dump(mode="json"),
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


def _user_frame() -> int:
    """The `stacklevel` of the first frame outside this package: the caller's own line."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
