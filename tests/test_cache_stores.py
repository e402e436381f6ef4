"""The cache stores against real storage: dicts, SQLite files in tmp dirs, a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
import redis

import summarize.cache
from summarize.cache import (
    Cache,
    CacheError,
    CacheStats,
    MemoryCache,
    RedisCache,
    SQLiteCache,
    default_cache_path,
    open_cache,
)
from summarize.errors import ConfigError, SummarizeError
from tests.fixtures_redis import RedisServer

KINDS = ["memory", "sqlite", "redis"]
LOCAL_KINDS = ["memory", "sqlite"]
SUMMARY = json.dumps(
    {"format": 1, "summary": {"text": "Zelensky — «no ultimatum» 🇺🇦", "items": [1, 2.5, None]}},
    ensure_ascii=False,
)
PASSWORD = "s3cret-Pa55word"


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Callable[..., Any]]:
    """Build a store of a kind; every store built is closed after the test."""
    made: list[Any] = []

    def make(kind: str, **options: Any) -> Any:
        store: Any
        if kind == "memory":
            store = MemoryCache(clock=clock, **options)
        elif kind == "sqlite":
            path = options.pop("path", tmp_path / "cache.sqlite3")
            store = SQLiteCache(path, clock=clock, **options)
        else:
            server: RedisServer = request.getfixturevalue("redis_server")
            store = RedisCache(server.url, socket_timeout=1.0, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        with contextlib.suppress(CacheError):
            store.close()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, make_store: Callable[..., Any]) -> Any:
    return make_store(request.param)


@pytest.fixture(params=LOCAL_KINDS)
def local_store(request: pytest.FixtureRequest, make_store: Callable[..., Any]) -> Any:
    return make_store(request.param)


@pytest.fixture(params=KINDS)
async def astore(
    request: pytest.FixtureRequest, make_store: Callable[..., Any]
) -> AsyncIterator[Any]:
    made = make_store(request.param)
    yield made
    await made.aclose()  # the asyncio Redis client belongs to this test's loop


@pytest.fixture
def raw_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    yield client
    client.close()


def sqlite_rows(path: Path, sql: str, *params: Any) -> list[Any]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def sqlite_write(path: Path, sql: str, *params: Any) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql, params)


# --- the interface, on every store ----------------------------------------------------------


def test_every_store_implements_the_protocol(store: Any) -> None:
    assert isinstance(store, Cache), f"{type(store).__name__} does not implement Cache"


def test_set_then_get_returns_the_same_text(store: Any) -> None:
    assert store.get("k1") is None, "an empty store returned a value"
    store.set("k1", SUMMARY)
    assert store.get("k1") == SUMMARY, "the value read back differs from the one stored"
    store.set("k1", '{"v": 2}')
    assert store.get("k1") == '{"v": 2}', "set did not replace the previous value"
    assert store.get("k2") is None


def test_delete_reports_whether_the_key_was_there(store: Any) -> None:
    store.set("k", SUMMARY)
    assert store.delete("k") is True
    assert store.get("k") is None, "a deleted key still has a value"
    assert store.delete("k") is False, "deleting a missing key reported success"


def test_clear_removes_every_entry_and_counts_them(store: Any) -> None:
    for i in range(3):
        store.set(f"k{i}", SUMMARY)
    assert store.clear() == 3
    assert [store.get(f"k{i}") for i in range(3)] == [None] * 3
    assert store.stats().entries == 0
    assert store.clear() == 0


def test_stats_count_entries_bytes_hits_and_misses(store: Any) -> None:
    store.set("a", SUMMARY)
    store.set("b", "{}")
    store.get("a")
    store.get("a")
    store.get("missing")
    stats = store.stats()
    assert isinstance(stats, CacheStats)
    assert (stats.entries, stats.hits, stats.misses) == (2, 2, 1), stats
    assert stats.size_bytes is not None
    assert stats.size_bytes >= len(SUMMARY.encode()) + 2, stats
    assert stats.backend == type(store).__name__.removesuffix("Cache").lower()
    assert stats.location == store.url
    with pytest.raises(FrozenInstanceError):
        stats.entries = 0  # type: ignore[misc]


@pytest.mark.parametrize("bad", [b'{"a": 1}', {"a": 1}, 3, None])
def test_only_text_values_are_stored(store: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match="JSON text"):
        store.set("k", bad)
    assert store.get("k") is None


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
def test_ttl_must_be_positive_and_finite(store: Any, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.set("k", "{}", ttl=ttl)


def test_many_threads_share_one_store(store: Any) -> None:
    def work(worker: int) -> list[str]:
        problems = []
        for i in range(100):
            key, value = f"w{worker}:{i}", json.dumps({"worker": worker, "i": i})
            store.set(key, value)
            if store.get(key) != value:
                problems.append(key)
            store.get(f"w{(worker + 1) % 8}:{i}")  # a neighbour's key: absent or right
        return problems

    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = [p for found in pool.map(work, range(8)) for p in found]
    assert problems == [], f"values read back wrong under threads: {problems[:5]}"
    assert store.stats().entries == 800


async def test_async_twins_do_what_the_sync_methods_do(astore: Any) -> None:
    assert await astore.aget("k") is None
    await astore.aset("k", SUMMARY)
    assert await astore.aget("k") == SUMMARY
    assert astore.get("k") == SUMMARY, "the async write is not visible to the sync API"
    await astore.aset("other", "{}", ttl=60)
    stats = await astore.astats()
    assert (stats.entries, stats.hits, stats.misses) == (2, 2, 1), stats
    assert await astore.adelete("k") is True
    assert await astore.adelete("k") is False
    assert await astore.aclear() == 1
    assert await astore.aget("other") is None


async def test_async_calls_run_concurrently(astore: Any) -> None:
    values = {f"k{i}": json.dumps({"i": i}) for i in range(50)}
    await asyncio.gather(*(astore.aset(k, v) for k, v in values.items()))
    got = await asyncio.gather(*(astore.aget(k) for k in values))
    assert dict(zip(values, got, strict=True)) == values


# --- expiry --------------------------------------------------------------------------------


def test_entries_expire_after_their_ttl(
    local_store: Any, clock: FakeClock, make_store: Callable[..., Any]
) -> None:
    local_store.set("short", "{}", ttl=10)
    local_store.set("forever", "{}")
    clock.advance(9.9)
    assert local_store.get("short") == "{}", "expired before its ttl"
    clock.advance(0.2)
    assert local_store.get("short") is None, "still there after its ttl"
    assert local_store.get("forever") == "{}"
    assert local_store.stats().entries == 1
    assert local_store.delete("short") is False, "an expired entry counted as deleted"


def test_default_ttl_applies_unless_set_gives_one(
    clock: FakeClock, make_store: Callable[..., Any]
) -> None:
    for kind in LOCAL_KINDS:
        store = make_store(kind, default_ttl=5)
        store.set("default", "{}")
        store.set("longer", "{}", ttl=50)
        clock.advance(6)
        assert store.get("default") is None, f"{kind}: default_ttl not applied"
        assert store.get("longer") == "{}", f"{kind}: per-call ttl did not override"
        clock.advance(-6)  # the next store starts from the same time


def test_clear_counts_only_live_entries(local_store: Any, clock: FakeClock) -> None:
    local_store.set("old", "{}", ttl=1)
    local_store.set("new", "{}")
    clock.advance(2)
    assert local_store.clear() == 1


def test_redis_entries_expire_after_their_ttl(
    make_store: Callable[..., Any], raw_redis: redis.Redis
) -> None:
    store = make_store("redis", default_ttl=60)
    store.set("short", "{}", ttl=0.3)
    store.set("default", "{}")
    assert 0 < raw_redis.pttl("summarize:short") <= 300, "the ttl is not in the key's PX"
    assert 59_000 < raw_redis.pttl("summarize:default") <= 60_000, "default_ttl not applied"
    assert store.get("short") == "{}"
    deadline = time.monotonic() + 5
    while store.get("short") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get("short") is None, "the entry outlived its ttl by seconds"
    assert store.get("default") == "{}"


# --- eviction ------------------------------------------------------------------------------


def test_least_recently_used_entry_is_evicted_at_the_cap(
    clock: FakeClock, make_store: Callable[..., Any]
) -> None:
    for kind in LOCAL_KINDS:
        store = make_store(kind, max_entries=3)
        store.clear()
        for key in ("a", "b", "c"):
            store.set(key, "{}")
            clock.advance(1)
        assert store.get("a") == "{}"  # now "b" is the least recently used
        clock.advance(1)
        store.set("d", "{}")
        present = sorted(k for k in "abcd" if store.get(k) is not None)
        assert present == ["a", "c", "d"], f"{kind}: expected b evicted, have {present}"
        assert store.stats().evictions == 1, kind


def test_sqlite_evicts_expired_entries_before_live_ones(
    clock: FakeClock, make_store: Callable[..., Any]
) -> None:
    store = make_store("sqlite", max_entries=3)
    store.set("live-old", "{}")
    clock.advance(1)
    store.set("expiring", "{}", ttl=5)
    clock.advance(1)
    store.set("live", "{}")
    clock.advance(10)
    store.set("new", "{}")
    assert store.get("live-old") == "{}", "a live entry was evicted while an expired one sat"
    assert store.stats().evictions == 0


def test_sqlite_byte_cap_evicts_oldest_until_it_fits(
    clock: FakeClock, make_store: Callable[..., Any]
) -> None:
    value = "x" * 99  # each entry is 1 + 99 = 100 bytes
    store = make_store("sqlite", max_bytes=350)
    for key in "abcd":
        store.set(key, value)
        clock.advance(1)
    assert [k for k in "abcd" if store.get(k)] == ["b", "c", "d"]
    stats = store.stats()
    assert (stats.entries, stats.size_bytes, stats.evictions) == (3, 300, 1), stats


def test_sqlite_entry_over_the_byte_cap_is_not_stored_and_keeps_the_rest(
    make_store: Callable[..., Any],
) -> None:
    store = make_store("sqlite", max_bytes=100)
    store.set("small", "{}")
    store.set("huge", "x" * 200)
    assert store.get("huge") is None
    assert store.get("small") == "{}", "one oversized value flushed the whole cache"


def test_memory_size_counts_utf8_bytes(clock: FakeClock) -> None:
    store = MemoryCache(clock=clock)
    store.set("k", "é")
    store.set("k", "éé")
    assert store.stats().size_bytes == 1 + 4


# --- what is stored: the text itself, never a pickle ----------------------------------------


def assert_plain_json(raw: bytes, value: str) -> None:
    assert not raw.startswith(b"\x80"), "stored bytes start with a pickle protocol header"
    assert raw == value.encode("utf-8"), "stored bytes are not the UTF-8 of the value set"
    assert json.loads(raw) == json.loads(value)


def test_sqlite_stores_the_json_text_itself(make_store: Callable[..., Any]) -> None:
    store = make_store("sqlite")
    store.set("k", SUMMARY)
    rows = sqlite_rows(store.path, "SELECT CAST(value AS BLOB), typeof(value) FROM entries")
    assert rows[0][1] == "text"
    assert_plain_json(rows[0][0], SUMMARY)


def test_redis_stores_the_json_text_itself(
    make_store: Callable[..., Any], raw_redis: redis.Redis
) -> None:
    make_store("redis").set("k", SUMMARY)
    raw = raw_redis.get("summarize:k")
    assert isinstance(raw, bytes)
    assert_plain_json(raw, SUMMARY)


# --- corrupted entries come back as the raw text (the envelope check is the layer's) ---------


def test_garbage_written_into_sqlite_comes_back_as_text(make_store: Callable[..., Any]) -> None:
    store = make_store("sqlite")
    store.set("text", "{}")
    store.set("blob", "{}")
    sqlite_write(store.path, "UPDATE entries SET value = ? WHERE cache_key = 'text'", "{not json")
    sqlite_write(
        store.path, "UPDATE entries SET value = ? WHERE cache_key = 'blob'", b"\x80\xff\x00"
    )
    assert store.get("text") == "{not json"
    assert store.get("blob") == "\ufffd\ufffd\x00", "undecodable bytes must not crash a read"


def test_garbage_written_into_redis_comes_back_as_text(
    make_store: Callable[..., Any], raw_redis: redis.Redis
) -> None:
    store = make_store("redis")
    raw_redis.set("summarize:text", b"{not json")
    raw_redis.set("summarize:blob", b"\x80\x04\x95")
    assert store.get("text") == "{not json"
    assert store.get("blob") == "\ufffd\x04\ufffd"


# --- SQLite files: where, how, and when the disk says no ------------------------------------


def test_sqlite_creates_parent_directories_and_uses_wal(
    tmp_path: Path, make_store: Callable[..., Any]
) -> None:
    path = tmp_path / "a" / "b" / "cache.db"
    store = make_store("sqlite", path=path)
    store.set("k", "{}")
    store.close()
    assert path.is_file()
    assert sqlite_rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert store.url == f"sqlite:///{path}"
    assert store.url.startswith("sqlite:////"), "absolute paths take four slashes"


def test_sqlite_entries_outlive_the_object_and_close_is_not_final(tmp_path: Path) -> None:
    first = SQLiteCache(tmp_path / "c.db")
    first.set("k", SUMMARY)
    first.close()
    assert first.get("k") == SUMMARY, "a closed store did not reopen on use"
    first.close()
    second = SQLiteCache(tmp_path / "c.db")
    assert second.get("k") == SUMMARY, "entries did not survive a new SQLiteCache"
    second.close()


def test_a_file_that_is_not_a_database_is_a_cache_error(
    tmp_path: Path, make_store: Callable[..., Any]
) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not a SQLite file, " * 100)
    store = make_store("sqlite", path=path)
    with pytest.raises(CacheError) as caught:
        store.get("k")
    message = str(caught.value)
    assert str(path) in message and "not a database" in message and "\n" not in message
    assert isinstance(caught.value, SummarizeError)
    with pytest.raises(CacheError):
        store.set("k", "{}")
    assert path.read_bytes().startswith(b"this is not"), "the foreign file was overwritten"


def test_another_programs_database_is_not_taken_over(
    tmp_path: Path, make_store: Callable[..., Any]
) -> None:
    path = tmp_path / "app.db"
    sqlite_write(path, "CREATE TABLE users (name TEXT)")
    with pytest.raises(CacheError, match="not a summarize cache"):
        make_store("sqlite", path=path).set("k", "{}")
    assert sqlite_rows(path, "SELECT name FROM sqlite_master") == [("users",)]


def test_a_newer_cache_format_is_refused(tmp_path: Path, make_store: Callable[..., Any]) -> None:
    path = tmp_path / "cache.db"
    make_store("sqlite", path=path).set("k", "{}")
    sqlite_write(path, "PRAGMA user_version = 99")
    with pytest.raises(CacheError, match="format 99"):
        make_store("sqlite", path=path).get("k")


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run as `nobody` when root: root writes through the mode bits that tests rely on."""
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.setegid(65534)
            os.seteuid(65534)
        yield
    finally:
        if as_root:
            os.seteuid(0)
            os.setegid(0)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make `directory` unwritable for this process, dropping root's privileges if need be."""
    directory.chmod(0o555)
    try:
        with unprivileged():
            yield
    finally:
        directory.chmod(0o755)


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory `nobody` can reach (pytest's tmp dirs are private to their owner)."""
    top = Path(tempfile.mkdtemp(prefix="summarize-cache-test-"))
    top.chmod(0o755)
    yield top
    for path in sorted(top.rglob("*"), reverse=True):
        path.chmod(0o755)
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()
    top.rmdir()


def test_a_read_only_directory_is_a_cache_error(
    world_dir: Path, make_store: Callable[..., Any]
) -> None:
    store = make_store("sqlite", path=world_dir / "cache" / "cache.db")
    with read_only(world_dir):
        with pytest.raises(CacheError) as caught:
            store.set("k", "{}")
        with pytest.raises(CacheError):
            store.get("k")
    assert "\n" not in str(caught.value)
    assert not (world_dir / "cache").exists()


def entry_rows(path: Path) -> list[Any]:
    return sqlite_rows(path, "SELECT cache_key, value, accessed_at FROM entries ORDER BY 1")


@pytest.mark.parametrize("directory", ["unwritable", "writable"])
def test_a_cache_file_this_process_cannot_write_serves_reads(
    directory: str, world_dir: Path, make_store: Callable[..., Any], clock: FakeClock
) -> None:
    path = world_dir / "cache.db"
    writer = make_store("sqlite", path=path)
    writer.set("k", SUMMARY)
    writer.set("expiring", "{}", ttl=5)
    writer.close()
    before = entry_rows(path)
    path.chmod(0o444)
    clock.advance(10)
    reader = make_store("sqlite", path=path)
    if directory == "writable":  # WAL's side files can be made: a plain read-only open
        world_dir.chmod(0o777)
    with read_only(world_dir) if directory == "unwritable" else unprivileged():
        assert reader.get("k") == SUMMARY, "a read-only file served no hit"
        assert reader.get("expiring") is None
        assert reader.stats().entries == 1
        with pytest.raises(CacheError, match="could not write") as caught:
            reader.set("k2", "{}")
        assert reader.get("k") == SUMMARY, "a failed write broke later reads"
        reader.close()
    assert "\n" not in str(caught.value)
    assert entry_rows(path) == before, "reading a read-only file changed it"


def test_a_read_only_store_never_writes(
    tmp_path: Path, make_store: Callable[..., Any], clock: FakeClock
) -> None:
    path = tmp_path / "cache.db"
    writer = make_store("sqlite", path=path)
    writer.set("k", SUMMARY)
    writer.set("expiring", "{}", ttl=5)
    before = entry_rows(path)
    clock.advance(10)
    reader = make_store("sqlite", path=path, read_only=True)
    assert reader.get("k") == SUMMARY
    assert reader.get("expiring") is None, "an expired entry was served"
    assert reader.stats().entries == 1
    reader.set("new", "{}")  # a no-op, documented
    assert reader.get("new") is None
    for call in (lambda: reader.delete("k"), reader.clear):
        with pytest.raises(CacheError, match="readonly"):
            call()
    assert entry_rows(path) == before, "a read-only store wrote to its file"
    assert reader.url == f"sqlite:///{path}?mode=ro" and "read_only=True" in repr(reader)


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes fail (EFBIG), as they would on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_full_disk_is_a_cache_error_and_keeps_what_was_written(
    tmp_path: Path, make_store: Callable[..., Any]
) -> None:
    store = make_store("sqlite", path=tmp_path / "cache.db")
    store.set("before", "{}")
    with file_size_limit(256 * 1024), pytest.raises(CacheError) as caught:
        for i in range(200):
            store.set(f"k{i}", "x" * 8192)
    assert "\n" not in str(caught.value)
    assert store.get("before") == "{}", "a failed write damaged earlier entries"


# --- Redis: prefixes, passwords, and a server that goes away --------------------------------


def test_redis_clear_removes_only_its_prefix(
    redis_server: RedisServer, raw_redis: redis.Redis
) -> None:
    raw_redis.set("someone-else", "keep")
    mine = RedisCache(redis_server.url, prefix="app*[1]:")
    other = RedisCache(redis_server.url, prefix="app")
    try:
        mine.set("k", "{}")
        other.set("k", "{}")
        raw_redis.set("appX[1]:k", "keep")  # would match the prefix if it were a glob
        assert mine.stats().entries == 1
        assert mine.clear() == 1
        assert raw_redis.get("someone-else") == b"keep"
        assert raw_redis.get("appX[1]:k") == b"keep", "the prefix was used as a glob"
        assert other.get("k") == "{}", "clearing one prefix removed another's entries"
        assert "prefix=app%2A%5B1%5D%3A" in mine.url
    finally:
        mine.close()
        other.close()


def test_redis_clear_handles_more_keys_than_one_scan_batch(
    make_store: Callable[..., Any], raw_redis: redis.Redis
) -> None:
    store = make_store("redis")
    with raw_redis.pipeline() as pipe:
        for i in range(1200):
            pipe.set(f"summarize:{i}", "{}")
        pipe.execute()
    assert store.stats().entries == 1200
    assert store.clear() == 1200
    assert raw_redis.dbsize() == 0


@pytest.fixture
def redis_user(redis_server: RedisServer) -> str:
    """A URL for an ACL user with a password."""
    reply = redis_server.command(
        b"ACL", b"SETUSER", b"alice", b"on", f">{PASSWORD}".encode(), b"~*", b"+@all"
    )
    assert reply == b"+OK", reply
    return f"redis://alice:{PASSWORD}@127.0.0.1:{redis_server.port}/0"


def test_redis_password_is_used_but_never_shown(redis_user: str) -> None:
    store = RedisCache(redis_user)
    try:
        store.set("k", "{}")
        assert store.get("k") == "{}", "could not use the store with a password"
        shown = [store.url, repr(store), store.stats().location, str(open_cache(redis_user))]
        assert all(PASSWORD not in text for text in shown), shown
        assert "alice:***@" in store.url
    finally:
        store.close()


def test_redis_errors_never_show_the_password(redis_server: RedisServer, redis_user: str) -> None:
    wrong = RedisCache(redis_user.replace(PASSWORD, PASSWORD + "-wrong"))
    with pytest.raises(CacheError) as caught:
        wrong.get("k")
    assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)
    wrong.close()
    with pytest.raises(ConfigError) as bad_option:
        open_cache(redis_user + "?no_such_option=1")
    assert PASSWORD not in str(bad_option.value)
    with pytest.raises(ConfigError) as bad_redis_option:
        RedisCache(redis_user + "?no_such_option=1")
    assert PASSWORD not in str(bad_redis_option.value)
    right = RedisCache(redis_user)
    redis_server.stop()
    with pytest.raises(CacheError) as down:
        right.get("k")
    assert PASSWORD not in str(down.value)
    right.close()


def test_redis_size_is_none_when_memory_usage_is_refused(redis_server: RedisServer) -> None:
    reply = redis_server.command(
        b"ACL", b"SETUSER", b"bob", b"on", b">pw", b"~*", b"+@all", b"-memory"
    )
    assert reply == b"+OK", reply
    store = RedisCache(f"redis://bob:pw@127.0.0.1:{redis_server.port}/0")
    try:
        store.set("k", "{}")
        stats = store.stats()
        assert (stats.entries, stats.size_bytes) == (1, None), stats
    finally:
        store.close()


def test_redis_async_works_from_several_event_loops(redis_server: RedisServer) -> None:
    store = RedisCache(redis_server.url)

    async def round_trip(value: str) -> str | None:
        try:
            await store.aset("k", value)
            return await store.aget("k")
        finally:
            await store.aclose()

    assert asyncio.run(round_trip("1")) == "1"
    assert asyncio.run(round_trip("2")) == "2", "a second event loop could not use the store"
    store.close()
    assert store.get("k") == "2", "the sync client did not reconnect after close()"
    store.close()


def test_redis_killed_mid_run_is_a_cache_error_then_recovers(
    redis_server: RedisServer, make_store: Callable[..., Any]
) -> None:
    store = make_store("redis")
    store.set("k", "{}")
    redis_server.stop()
    for call in (lambda: store.get("k"), lambda: store.set("k", "{}"), store.stats, store.clear):
        started = time.monotonic()
        with pytest.raises(CacheError, match="Redis cache") as caught:
            call()
        assert time.monotonic() - started < 5, "a dead server made a call hang"
        assert "\n" not in str(caught.value)
    redis_server.start()
    store.set("k", "{}")
    assert store.get("k") == "{}", "the store did not reconnect after the server came back"


async def test_redis_killed_mid_run_is_a_cache_error_async(
    redis_server: RedisServer,
) -> None:
    store = RedisCache(redis_server.url, socket_timeout=1.0)
    try:
        await store.aset("k", "{}")
        redis_server.stop()
        with pytest.raises(CacheError):
            await store.aget("k")
        with pytest.raises(CacheError):
            await store.aset("k", "{}")
        redis_server.start()
        await store.aset("k", "{}")
        assert await store.aget("k") == "{}"
    finally:
        await store.aclose()


def test_a_hung_redis_times_out_instead_of_hanging(redis_server: RedisServer) -> None:
    store = RedisCache(redis_server.url, socket_timeout=0.3)
    try:
        store.set("k", "{}")
        redis_server.pause()
        started = time.monotonic()
        with pytest.raises(CacheError, match="Timeout"):
            store.get("k")
        assert time.monotonic() - started < 3, "socket_timeout did not bound the call"
    finally:
        redis_server.resume()
        store.close()


def test_an_unreachable_redis_fails_fast(redis_server: RedisServer) -> None:
    redis_server.stop()
    store = RedisCache(redis_server.url, socket_timeout=1.0)
    with pytest.raises(CacheError, match="could not write"):
        store.set("k", "{}")
    store.close()


# --- open_cache ----------------------------------------------------------------------------


def test_open_cache_none_is_the_default_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUMMARIZE_CACHE", str(tmp_path / "env" / "c.db"))
    store = open_cache(None)
    assert isinstance(store, SQLiteCache)
    assert store.path == tmp_path / "env" / "c.db"
    assert isinstance(open_cache(True), SQLiteCache)
    assert open_cache(False) is None


def test_default_cache_path_is_under_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUMMARIZE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "summarize" / "cache.sqlite3"
    monkeypatch.setenv("SUMMARIZE_CACHE", "~/my-cache.db")
    assert default_cache_path() == Path.home() / "my-cache.db"


def test_open_cache_memory(clock: FakeClock) -> None:
    assert isinstance(open_cache("memory"), MemoryCache)
    store = open_cache("memory://?max_entries=5&ttl=60")
    assert isinstance(store, MemoryCache)
    assert (store.max_entries, store.default_ttl) == (5, 60.0)


def test_open_cache_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_cache("sqlite:///sub/rel.db")
    assert isinstance(relative, SQLiteCache)
    assert relative.path == tmp_path / "sub" / "rel.db", "relative paths start at the cwd"
    absolute = open_cache(f"sqlite:///{tmp_path}/abs.db?ttl=30&max_entries=10&max_bytes=999")
    assert isinstance(absolute, SQLiteCache)
    assert absolute.path == tmp_path / "abs.db"
    assert (absolute.default_ttl, absolute.max_entries, absolute.max_bytes) == (30.0, 10, 999)
    spaced = open_cache("sqlite:///with%20space.db")
    assert isinstance(spaced, SQLiteCache)
    assert spaced.path == tmp_path / "with space.db"
    shared = open_cache("sqlite:///shared.db?mode=ro&ttl=30")
    assert isinstance(shared, SQLiteCache) and shared.read_only, "mode=ro was ignored"
    again = open_cache(shared.url)
    assert isinstance(again, SQLiteCache) and again.read_only and not absolute.read_only


def test_open_cache_redis_urls(redis_server: RedisServer) -> None:
    store = open_cache(f"{redis_server.url}?prefix=jobs:&ttl=60&socket_timeout=3")
    assert isinstance(store, RedisCache)
    try:
        assert (store.prefix, store.default_ttl) == ("jobs:", 60.0)
        store.set("k", "{}")
        assert redis_server.command(b"EXISTS", b"jobs:k") == b":1"
    finally:
        store.close()
    tls = open_cache("rediss://cache.example:6380/2")
    assert isinstance(tls, RedisCache)
    tls.close()


def test_open_cache_returns_a_cache_object_as_is() -> None:
    mine = MemoryCache()
    assert open_cache(mine) is mine


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "not a cache URL"),
        ("postgres://db/x", "not a cache URL"),
        ("cache.db", "sqlite:///cache.db"),
        ("/var/cache/x.sqlite3", "sqlite:////var/cache/x.sqlite3"),
        ("sqlite://host/x.db", "three slashes"),
        ("sqlite://", "three slashes"),
        ("sqlite:///", "name a file"),
        ("sqlite:///:memory:", "use 'memory'"),
        ("sqlite:///x.db?ttl=soon", "ttl='soon'"),
        ("sqlite:///x.db?max_entries=0", "max_entries"),
        ("sqlite:///x.db?colour=red", "unknown option 'colour'"),
        ("sqlite:///x.db?mode=rw", "mode is ro"),
        ("memory://somewhere", "no location"),
        ("memory://?prefix=x", "unknown option 'prefix'"),
        ("redis://127.0.0.1:6379/0?ttl=-5", "ttl"),
        ("redis://127.0.0.1:6379/0?bogus=1", "bogus"),
        ("redis://127.0.0.1:6379/notadb", "database number"),
        ("redis://127.0.0.1:port/0", "bad Redis URL"),
        (42, "got a int"),
        (b"memory", "got a bytes"),
    ],
)
def test_open_cache_rejects_what_it_cannot_open(spec: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_cache(spec)
    assert says in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)


def test_cache_error_is_a_summarize_error() -> None:
    assert issubclass(CacheError, SummarizeError)


def test_a_failed_call_leaves_the_store_usable_from_other_threads(
    tmp_path: Path, make_store: Callable[..., Any]
) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"garbage" * 100)
    store = make_store("sqlite", path=path)
    with pytest.raises(CacheError):
        store.get("k")
    path.unlink()
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: (store.set("k", "{}"), result.append(store.get("k"))))
    thread.start()
    thread.join(10)
    assert result == ["{}"]


def test_the_cache_package_exports_exactly_this() -> None:
    assert sorted(summarize.cache.__all__) == [
        "Cache",
        "CacheError",
        "CacheSpec",
        "CacheStats",
        "MemoryCache",
        "RedisCache",
        "SQLiteCache",
        "default_cache_path",
        "open_cache",
    ]


def test_redis_py_is_imported_only_when_a_redis_cache_is_made() -> None:
    code = (
        "import sys, summarize, summarize.cache\n"
        "before = 'redis' in sys.modules\n"
        "summarize.cache.open_cache('memory')\n"
        "print(before, 'redis' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["False", "False"], result.stdout + result.stderr
