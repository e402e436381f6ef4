"""What every cache store is: a small key → JSON-text interface, sync and async.

Stores hold `str` values (JSON text) under `str` keys and never pickle anything. Every
storage failure (a locked or corrupt SQLite file, a read-only path, a full disk, an
unreachable Redis) is raised as `CacheError` with a one-line message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from summarize.errors import CacheError

__all__ = ["Cache", "CacheError", "CacheStats", "one_line", "redact_url"]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache store.

    Attributes:
        backend: The store's kind: ``"memory"``, ``"sqlite"`` or ``"redis"``.
        location: Where it stores, as in its `url` (never with a password).
        entries: Live (unexpired) entries.
        size_bytes: Bytes held: UTF-8 keys plus values for memory and SQLite, the server's
            ``MEMORY USAGE`` for Redis; `None` when the store cannot tell.
        hits: Lookups that found a live entry, counted by this object since it was opened.
        misses: Lookups that found nothing or an expired entry, counted likewise.
        evictions: Entries this object removed to stay under its size cap.
    """

    backend: str
    location: str
    entries: int
    size_bytes: int | None
    hits: int
    misses: int
    evictions: int


@runtime_checkable
class Cache(Protocol):
    """A key → JSON-text store with optional per-entry time-to-live, sync and async.

    `ttl` is in seconds; `None` means the store's default (which may be no expiry). An
    expired entry is a miss. Every method raises `CacheError` when the storage fails.
    """

    @property
    def url(self) -> str:
        """Where the store keeps its entries, as a URL without any password."""
        ...

    def get(self, key: str) -> str | None:
        """Return the value stored under `key`, or `None` when absent or expired."""
        ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store `value` under `key`, replacing any previous value."""
        ...

    def delete(self, key: str) -> bool:
        """Remove `key`; return whether it was there."""
        ...

    def clear(self) -> int:
        """Remove every entry of this store; return how many live ones were removed."""
        ...

    def stats(self) -> CacheStats:
        """Return a snapshot of the store's size and counters."""
        ...

    def close(self) -> None:
        """Release connections and files; the store may not be used afterwards."""
        ...

    async def aget(self, key: str) -> str | None:
        """Async `get`."""
        ...

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async `set`."""
        ...

    async def adelete(self, key: str) -> bool:
        """Async `delete`."""
        ...

    async def aclear(self) -> int:
        """Async `clear`."""
        ...

    async def astats(self) -> CacheStats:
        """Async `stats`."""
        ...

    async def aclose(self) -> None:
        """Async `close`."""
        ...


def check_entry(key: str, value: str) -> None:
    """Refuse keys and values that are not `str`: stores hold JSON text, nothing else.

    Raises:
        TypeError: `key` or `value` is not a `str`.
    """
    if not isinstance(key, str):
        raise TypeError(f"cache keys are str, not {type(key).__name__}")
    if not isinstance(value, str):
        raise TypeError(f"cache values are JSON text (str), not {type(value).__name__}")


def resolve_ttl(ttl: float | None, default: float | None) -> float | None:
    """Return the time-to-live to apply: `ttl`, else `default`; `None` means no expiry.

    Raises:
        ValueError: The chosen value is not a positive finite number.
    """
    chosen = default if ttl is None else ttl
    if chosen is not None and not (math.isfinite(chosen) and chosen > 0):
        raise ValueError(f"ttl must be a positive number of seconds or None, got {chosen!r}")
    return chosen


def one_line(exc: BaseException) -> str:
    """Render an exception as ``Type: message`` on a single line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def redact_url(url: str) -> str:
    """Return `url` with any password replaced by ``***`` (usernames are kept).

    A URL too malformed to parse (say, a password with an unescaped ``/``) loses everything
    between ``://`` and its last ``@``: hiding too much is better than showing a secret.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
        _ = parts.port
    except ValueError:
        return re.sub(r"://.*@", "://***@", url, flags=re.DOTALL)
    if password:
        user, _, host = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))
    if "@" in parts.path:
        return re.sub(r"://.*@", "://***@", url, flags=re.DOTALL)
    return url
