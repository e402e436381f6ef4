"""`open_cache`: turn a cache setting (None, False, a URL or a store) into a store.

`travel_url` goes the other way: the URL that opens a store again in another process.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, quote, unquote, urlencode

from summarize.cache.base import Cache, redact_url
from summarize.cache.memory import MemoryCache
from summarize.cache.redis import RedisCache
from summarize.cache.sqlite import SQLiteCache, default_cache_path
from summarize.errors import ConfigError

__all__ = ["CacheSpec", "open_cache", "travel_url"]

CacheSpec: TypeAlias = Cache | str | bool | None
"""What `open_cache` accepts."""

_FORMS = (
    "None (the default SQLite file), False (no cache), 'memory', 'sqlite:///relative.db', "
    "'sqlite:////absolute/path.db', 'redis://host:port/db', 'rediss://...', or a Cache object"
)
_Parser = Callable[[str], Any]


def open_cache(spec: CacheSpec = None) -> Cache | None:
    """Return the store a cache setting names, or `None` when caching is off.

    Args:
        spec: `None` or `True` for the default: ``$SUMMARIZE_CACHE`` when it is a URL,
            ``memory`` or ``off``, else `SQLiteCache` at `default_cache_path()`; `False` for no
            cache; ``"memory"``; ``"sqlite:///relative.db"`` (from the current directory)
            or ``"sqlite:////absolute/path.db"``; ``"redis://[:password@]host:port/db"`` or
            ``"rediss://..."``; or an object implementing `Cache`, returned as is. URLs
            take options as a query: ``ttl`` (seconds) for all, ``max_entries`` for memory
            and SQLite, ``max_bytes``, ``timeout`` and ``mode=ro`` (read only) for SQLite
            (``max_entries=none``, ``max_bytes=none``: no limit),
            ``prefix`` for Redis (plus redis-py's own, like ``socket_timeout``).

    Raises:
        ConfigError: `spec` is none of these, or an option is not valid.
    """
    if spec is None or spec is True:
        configured = os.environ.get("SUMMARIZE_CACHE", "").strip()
        if "://" in configured or configured.lower() in ("memory", "off", "false", "0"):
            # a URL (e.g. a shared Redis for every process), "memory", or caching off
            off = configured.lower() in ("off", "false", "0")
            return None if off else open_cache(configured)
        return SQLiteCache(default_cache_path())
    if spec is False:
        return None
    if not isinstance(spec, str):
        if isinstance(spec, Cache):
            return spec
        raise ConfigError(f"cache must be one of {_FORMS}; got a {type(spec).__name__}")
    text = spec.strip()
    scheme = text.partition("://")[0].lower() if "://" in text else text.lower()
    opener = {
        "memory": _memory,
        "sqlite": _sqlite,
        "redis": _redis,
        "rediss": _redis,
    }.get(scheme)
    if opener is None:
        raise ConfigError(_unknown(text))
    try:
        return opener(text)
    except ValueError as exc:  # includes ConfigError
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cache {redact_url(text)!r}: {exc}") from exc


def travel_url(store: Cache) -> str:
    """The URL that opens `store` again in another process, as `open_cache` takes it.

    A SQLite file or a Redis database is the same store there (a Redis password included);
    a memory cache is a fresh, empty one with the same options. A store's clock stays behind.

    Raises:
        ConfigError: `store` is not one of summarize's stores.
    """
    if isinstance(store, MemoryCache):
        return "memory://" + _query(max_entries=store.max_entries, ttl=store.default_ttl)
    if isinstance(store, SQLiteCache):
        options = _query(
            max_entries=store.max_entries,
            max_bytes=store.max_bytes,
            ttl=store.default_ttl,
            timeout=store.timeout,
            mode="ro" if store.read_only else None,
        )
        return f"sqlite:///{quote(store.path.as_posix())}{options}"
    if isinstance(store, RedisCache):
        base, _, theirs = store._target.partition("?")
        ours = {"prefix": store.prefix, "ttl": store.default_ttl}
        default = inspect.signature(RedisCache).parameters["socket_timeout"].default
        if store.socket_timeout != default and "socket_timeout" not in theirs:
            ours |= {"socket_timeout": store.socket_timeout}
            ours |= {"socket_connect_timeout": store.socket_timeout}
        return base + _query(**ours, _more=theirs)
    raise ConfigError(
        f"a {type(store).__name__} store cannot travel to another process; give the "
        "Summarizer a cache URL (sqlite:///..., redis://...) instead"
    )


def _query(_more: str = "", **options: object) -> str:
    """``?a=1&b=2`` of the options that are set (a limit of None is ``none``), or ``""``."""
    limits = ("max_entries", "max_bytes")
    pairs = [
        (name, "none" if value is None else str(value))
        for name, value in options.items()
        if value is not None or name in limits
    ]
    query = "&".join(part for part in (urlencode(pairs), _more) if part)
    return f"?{query}" if query else ""


def _memory(text: str) -> Cache:
    rest = text.partition("://")[2] if "://" in text else ""
    where, _, query = rest.partition("?")
    if where:
        raise ConfigError(f"cache {text!r}: a memory cache takes no location, only '?options'")
    options = _options(text, query, {"max_entries": int, "ttl": float})
    return MemoryCache(**_renamed(options))


def _sqlite(text: str) -> Cache:
    rest = text.partition("://")[2]
    if not rest.startswith("/"):
        raise ConfigError(
            f"cache {text!r}: a SQLite URL has no host; write sqlite:///relative.db "
            "(three slashes) or sqlite:////absolute/path.db (four)"
        )
    location, _, query = rest[1:].partition("?")
    path = unquote(location)
    if not path or path == ":memory:":
        raise ConfigError(
            f"cache {text!r}: name a file (sqlite:///relative.db or sqlite:////absolute/path.db); "
            "for a cache in this process only, use 'memory'"
        )
    parsers: dict[str, _Parser] = {
        "max_entries": limit,
        "max_bytes": limit,
        "ttl": float,
        "timeout": float,
        "mode": str,
    }
    options = _options(text, query, parsers)
    mode = options.pop("mode", "rwc")
    if mode not in ("ro", "rwc"):
        raise ConfigError(f"cache {text!r}: mode is ro (read only) or rwc (the default)")
    return SQLiteCache(Path.cwd() / Path(path), read_only=mode == "ro", **_renamed(options))


def _redis(text: str) -> Cache:
    base, _, query = text.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    ours = {"prefix": str, "ttl": float}
    options = _options(text, urlencode([(k, v) for k, v in pairs if k in ours]), ours)
    theirs = urlencode([(k, v) for k, v in pairs if k not in ours])
    return RedisCache(base + (f"?{theirs}" if theirs else ""), **_renamed(options))


def limit(value: str) -> int | None:
    """A size limit from a URL: an integer, or ``none`` for no limit."""
    return None if value.lower() == "none" else int(value)


def _options(text: str, query: str, parsers: Mapping[str, _Parser]) -> dict[str, Any]:
    """Parse ``a=1&b=2`` with one parser per allowed name."""
    options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parser = parsers.get(name)
        if parser is None:
            raise ConfigError(
                f"cache {redact_url(text)!r}: unknown option {name!r} "
                f"(this kind takes {', '.join(sorted(parsers))})"
            )
        try:
            options[name] = parser(value)
        except ValueError:
            raise ConfigError(
                f"cache {redact_url(text)!r}: option {name}={value!r} is not a valid "
                f"{parser.__name__}"
            ) from None
    return options


def _renamed(options: dict[str, Any]) -> dict[str, Any]:
    """URL options as constructor arguments (``ttl`` is ``default_ttl``)."""
    if "ttl" in options:
        options["default_ttl"] = options.pop("ttl")
    return options


def _unknown(text: str) -> str:
    shown = redact_url(text)
    if "://" not in text and text and (Path(text).suffix or "/" in text or "\\" in text):
        return f"cache {shown!r} looks like a file path: write it as the URL 'sqlite:///{text}'"
    return f"cache {shown!r} is not a cache URL; use {_FORMS}"
