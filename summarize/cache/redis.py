"""`RedisCache`: a store shared by services and machines, on redis-py (sync and asyncio).

Entries live under ``prefix + key`` with a Redis expiry for their TTL. `clear` and `stats`
walk only the prefix with ``SCAN`` (never ``KEYS`` or ``FLUSHDB``), so other data in the
same database is left alone. Sockets time out after `socket_timeout` seconds and a failed
command is retried once (a pooled connection may be stale after a server restart), so an
unreachable or hung server costs at most about two timeouts before `CacheError`.

redis-py is imported on first use, so ``import summarize`` does not pay for it.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from summarize.cache.base import (
    CacheError,
    CacheStats,
    check_entry,
    one_line,
    redact_url,
    resolve_ttl,
)
from summarize.errors import ConfigError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisCache"]

DEFAULT_PREFIX = "summarize:"
_BATCH = 500


class RedisCache:
    """Entries in a Redis database under a key prefix, for services and multi-machine jobs.

    The sync client is made now (it connects on first use); an asyncio client is made
    lazily for each event loop that uses this object. Hit and miss counts are this
    object's own.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://`` for TLS; query
            options are redis-py's (``?socket_timeout=5``, ...).
        prefix: Prepended to every key; `clear` removes only keys that start with it.
        default_ttl: Seconds an entry lives when `set` is given no `ttl`; `None`: forever.
        socket_timeout: Seconds to wait to connect and for each reply.

    Raises:
        ConfigError: The URL or one of its options is not valid for redis-py.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = DEFAULT_PREFIX,
        default_ttl: float | None = None,
        socket_timeout: float = 2.0,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        resolve_ttl(None, default_ttl)
        self.prefix = prefix
        self.default_ttl = default_ttl
        self.socket_timeout = socket_timeout
        self._target = url
        self._secrets = _secrets_of(url)
        self.url = redact_url(url) + (
            "" if prefix == DEFAULT_PREFIX else _prefix_query(url, prefix)
        )
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        self._aclients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = weakref.WeakKeyDictionary()
        try:
            _check_database(url)
            self._client: redis.Redis = redis.Redis.from_url(
                url, retry=Retry(NoBackoff(), 1), **self._timeouts()
            )
            pool = self._client.connection_pool
            pool.connection_class(**pool.connection_kwargs)  # checks the options; no I/O
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"bad Redis URL {self.url}: {self._scrub(one_line(exc))}") from exc

    def __repr__(self) -> str:
        return f"RedisCache({self.url!r})"

    def get(self, key: str) -> str | None:
        """Return the value under `key`, or `None` when absent or expired."""
        with self._guard("read"):
            raw = self._client.get(self.prefix + key)
        return self._counted(raw)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store `value` under `key` for `ttl` seconds (default: `default_ttl`)."""
        check_entry(key, value)
        millis = _millis(resolve_ttl(ttl, self.default_ttl))
        with self._guard("write"):
            self._client.set(self.prefix + key, value.encode(), px=millis)

    def delete(self, key: str) -> bool:
        """Remove `key`; return whether it was there."""
        with self._guard("delete"):
            return bool(self._client.delete(self.prefix + key))

    def clear(self) -> int:
        """Remove every key under the prefix (``SCAN`` + ``UNLINK``); return how many."""
        removed = 0
        with self._guard("clear"):
            for batch in _batches(self._client.scan_iter(match=self._pattern(), count=_BATCH)):
                removed += int(self._client.unlink(*batch))
        return removed

    def stats(self) -> CacheStats:
        """Count keys under the prefix and sum their ``MEMORY USAGE`` (None if refused)."""
        entries = 0
        size_known: int | None = 0
        with self._guard("read stats"):
            for batch in _batches(self._client.scan_iter(match=self._pattern(), count=_BATCH)):
                entries += len(batch)
                pipe = self._client.pipeline(transaction=False)
                for name in batch:
                    pipe.memory_usage(name)
                size_known = _add_sizes(size_known, pipe.execute(raise_on_error=False))
        return self._stats(entries, size_known)

    def close(self) -> None:
        """Close the sync client's connections (a later call reconnects)."""
        self._client.close()

    async def aget(self, key: str) -> str | None:
        """Async `get`, on the running loop's asyncio client."""
        client = self._aclient()
        with self._guard("read"):
            raw = await client.get(self.prefix + key)
        return self._counted(raw)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async `set`."""
        check_entry(key, value)
        millis = _millis(resolve_ttl(ttl, self.default_ttl))
        client = self._aclient()
        with self._guard("write"):
            await client.set(self.prefix + key, value.encode(), px=millis)

    async def adelete(self, key: str) -> bool:
        """Async `delete`."""
        client = self._aclient()
        with self._guard("delete"):
            return bool(await client.delete(self.prefix + key))

    async def aclear(self) -> int:
        """Async `clear`."""
        client = self._aclient()
        removed, batch = 0, []
        with self._guard("clear"):
            async for name in client.scan_iter(match=self._pattern(), count=_BATCH):
                batch.append(name)
                if len(batch) == _BATCH:
                    removed += int(await client.unlink(*batch))
                    batch = []
            if batch:
                removed += int(await client.unlink(*batch))
        return removed

    async def astats(self) -> CacheStats:
        """Async `stats`."""
        client = self._aclient()
        names: list[bytes] = []
        with self._guard("read stats"):
            async for name in client.scan_iter(match=self._pattern(), count=_BATCH):
                names.append(name)
            size: int | None = 0
            for batch in _batches(names):
                pipe = client.pipeline(transaction=False)
                for name in batch:
                    pipe.memory_usage(name)
                size = _add_sizes(size, await pipe.execute(raise_on_error=False))
        return self._stats(len(names), size)

    async def aclose(self) -> None:
        """Close the running loop's asyncio client and the sync client."""
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()

    def _aclient(self) -> redis.asyncio.Redis:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self._target, retry=Retry(NoBackoff(), 1), **self._timeouts()
            )
            self._aclients[loop] = client
        return client

    def _timeouts(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }

    def _pattern(self) -> str:
        return re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + "*"

    def _counted(self, raw: bytes | str | None) -> str | None:
        with self._lock:
            if raw is None:
                self._misses += 1
            else:
                self._hits += 1
        if isinstance(raw, bytes):
            return raw.decode("utf-8", errors="replace")
        return raw

    def _stats(self, entries: int, size: int | None) -> CacheStats:
        with self._lock:
            return CacheStats(
                backend="redis",
                location=self.url,
                entries=entries,
                size_bytes=size,
                hits=self._hits,
                misses=self._misses,
                evictions=0,  # Redis evicts by its own maxmemory policy, unseen by clients
            )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn every storage failure into a one-line `CacheError` without the password."""
        from redis.exceptions import RedisError

        try:
            yield
        except (RedisError, OSError) as exc:
            message = self._scrub(one_line(exc))
            raise CacheError(f"Redis cache {self.url}: could not {action}: {message}") from exc


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, math.ceil(seconds * 1000))


def _batches(names: Iterable[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for name in names:
        batch.append(name)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _add_sizes(total: int | None, sizes: list[Any]) -> int | None:
    """Add ``MEMORY USAGE`` replies; `None` once the server refuses the command."""
    if total is None or any(isinstance(size, Exception) for size in sizes):
        return None
    return total + sum(size for size in sizes if isinstance(size, int))


def _secrets_of(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [s for s in {password, unquote(password)} if s] if password else []


def _check_database(url: str) -> None:
    """redis-py quietly uses database 0 for a path it cannot read (``/cache``): refuse it."""
    parts = urlsplit(url)
    database = parts.path.strip("/")
    if parts.scheme in ("redis", "rediss") and database and not database.isdigit():
        raise ValueError(f"the path must be a database number, like /0, not /{database}")


def _prefix_query(url: str, prefix: str) -> str:
    return ("&" if "?" in url else "?") + "prefix=" + quote(prefix, safe="")
