"""`MemoryCache`: a thread-safe, in-process LRU store with an entry cap and TTL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from summarize.cache.base import CacheStats, check_entry, resolve_ttl

__all__ = ["MemoryCache"]


class _Entry(NamedTuple):
    value: str
    expires_at: float | None
    size: int


class MemoryCache:
    """Entries in a dict of this process, least recently used evicted first past the cap.

    Nothing survives the process. Every method takes one lock, so any number of threads can
    share an instance; the async methods run the sync ones directly (nothing blocks).

    Args:
        max_entries: Most entries kept; storing one more evicts the least recently used.
        default_ttl: Seconds an entry lives when `set` is given no `ttl`; `None`: forever.
        clock: Monotonic seconds; tests pass a fake one to expire entries without sleeping.
    """

    url = "memory://"

    def __init__(
        self,
        max_entries: int = 1024,
        default_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        resolve_ttl(None, default_ttl)
        self.max_entries = max_entries
        self.default_ttl = default_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0

    def __repr__(self) -> str:
        return f"MemoryCache(max_entries={self.max_entries}, default_ttl={self.default_ttl})"

    def get(self, key: str) -> str | None:
        """Return the value under `key`, or `None` when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._expired(entry):
                self._remove(key)
                entry = None
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry.value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store `value` under `key` for `ttl` seconds (default: `default_ttl`)."""
        check_entry(key, value)
        seconds = resolve_ttl(ttl, self.default_ttl)
        size = len(key.encode()) + len(value.encode())
        with self._lock:
            expires_at = None if seconds is None else self._clock() + seconds
            self._remove(key)
            self._entries[key] = _Entry(value, expires_at, size)
            self._bytes += size
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))
                self._evictions += 1

    def delete(self, key: str) -> bool:
        """Remove `key`; return whether a live entry was there."""
        with self._lock:
            entry = self._remove(key)
            return entry is not None and not self._expired(entry)

    def clear(self) -> int:
        """Remove every entry; return how many live ones were removed."""
        with self._lock:
            live = sum(1 for entry in self._entries.values() if not self._expired(entry))
            self._entries.clear()
            self._bytes = 0
            return live

    def stats(self) -> CacheStats:
        """Return entry count, bytes and this instance's counters (expired entries dropped)."""
        with self._lock:
            for key in [k for k, entry in self._entries.items() if self._expired(entry)]:
                self._remove(key)
            return CacheStats(
                backend="memory",
                location=self.url,
                entries=len(self._entries),
                size_bytes=self._bytes,
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
            )

    def close(self) -> None:
        """Drop every entry (a memory store has nothing else to release)."""
        self.clear()

    async def aget(self, key: str) -> str | None:
        """Async `get`."""
        return self.get(key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async `set`."""
        self.set(key, value, ttl)

    async def adelete(self, key: str) -> bool:
        """Async `delete`."""
        return self.delete(key)

    async def aclear(self) -> int:
        """Async `clear`."""
        return self.clear()

    async def astats(self) -> CacheStats:
        """Async `stats`."""
        return self.stats()

    async def aclose(self) -> None:
        """Async `close`."""
        self.close()

    def _expired(self, entry: _Entry) -> bool:
        return entry.expires_at is not None and self._clock() >= entry.expires_at

    def _remove(self, key: str) -> _Entry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
        return entry
