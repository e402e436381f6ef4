"""`SQLiteCache`: the default store, one SQLite file shared by threads and processes.

The file is in WAL mode, so readers never wait for the writer, and writers in other threads
or processes wait up to `timeout` seconds for each other (SQLite's busy timeout). Connections
come from a small pool: each is used by one thread at a time. Values are stored as TEXT.

Eviction is least-recently-used: every hit refreshes the entry's ``accessed_at``, and when a
write takes the store past `max_entries` or `max_bytes`, expired entries are purged first,
then the least recently used ones until the store fits again.

A file this process cannot write (or in a directory it cannot write) is opened read-only,
as a shared, prebuilt cache is deployed: hits are served, nothing is written. When WAL's
side files cannot be created next to it either, it is opened ``immutable``: SQLite then
takes no locks, so such a file must not be changed in place while it is read (replace it
with a rename instead).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import platformdirs

from summarize.cache.base import CacheError, CacheStats, check_entry, one_line, resolve_ttl

__all__ = ["SQLiteCache", "default_cache_path"]

_SCHEMA_VERSION = 1
_APPLICATION_ID = 0x53554D4D  # "SUMM": marks a file as a summarize cache
_MAX_IDLE_CONNECTIONS = 4
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
        cache_key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        size INTEGER NOT NULL,
        accessed_at REAL NOT NULL,
        expires_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_by_access ON entries (accessed_at)",
    "CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries (expires_at)",
    """CREATE TABLE IF NOT EXISTS totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        entries INTEGER NOT NULL,
        size INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO totals VALUES (1, 0, 0)",
    """CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, size = size + NEW.size;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, size = size - OLD.size;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET size = size - OLD.size + NEW.size;
    END""",
    f"PRAGMA user_version = {_SCHEMA_VERSION}",
    f"PRAGMA application_id = {_APPLICATION_ID}",
)
_UPSERT = """INSERT INTO entries (cache_key, value, size, accessed_at, expires_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, size = excluded.size,
        accessed_at = excluded.accessed_at, expires_at = excluded.expires_at"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
# What a read-only WAL reader gets when it cannot create the -shm and -wal files.
_NO_SIDE_FILES = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


class _Connection(sqlite3.Connection):
    """A pooled connection that knows whether it may write."""

    read_only = False


def default_cache_path() -> Path:
    """Return where the default cache lives.

    ``$SUMMARIZE_CACHE`` when set (a file path, ``~`` expanded), else ``cache.sqlite3`` in
    the user cache directory (``~/.cache/summarize`` on Linux, as platformdirs says
    elsewhere). Read at each call, never at import.
    """
    configured = os.environ.get("SUMMARIZE_CACHE", "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_cache_path("summarize", appauthor=False) / "cache.sqlite3"


class SQLiteCache:
    """Entries in one SQLite file, safe for many threads and many processes at once.

    Nothing touches the disk until the first call; then the parent directories and the
    file are created. Hit, miss and eviction counts are this object's own; entry and byte
    counts are the file's.

    Args:
        path: The database file; `None` means `default_cache_path()`. Relative paths are
            resolved against the current directory now.
        max_entries: Most entries kept (`None`: no limit).
        max_bytes: Most bytes of UTF-8 keys plus values kept (`None`: no limit). A single
            entry larger than this is not stored.
        default_ttl: Seconds an entry lives when `set` is given no `ttl`; `None`: forever.
        timeout: Seconds to wait for another writer's lock before failing.
        clock: Wall-clock seconds, shared by every process using the file; tests pass a
            fake one to expire entries without sleeping.
        read_only: Never write the file: `set` is a no-op (a miss is computed, not
            stored), `delete` and `clear` raise `CacheError`, hits leave the LRU order as
            it is and expired entries are skipped, not purged. Without it, a file this
            process cannot write is read the same way, but `set` raises `CacheError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_entries: int | None = 100_000,
        max_bytes: int | None = 1 << 30,
        default_ttl: float | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
    ) -> None:
        for name, limit in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1 or None, got {limit}")
        resolve_ttl(None, default_ttl)
        self.path = Path(default_cache_path() if path is None else path).expanduser().absolute()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.default_ttl = default_ttl
        self.timeout = timeout
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._generation = 0  # bumped by close(): connections lent out before it are dropped
        self._pid = os.getpid()
        self._schema_ready = False
        self._schema_lock = threading.Lock()  # one thread of this process sets the file up
        self._hits = self._misses = self._evictions = 0

    @property
    def url(self) -> str:
        """The file as a SQLAlchemy-style URL: ``sqlite:////absolute/path[?mode=ro]``."""
        return f"sqlite:///{self.path.as_posix()}" + ("?mode=ro" if self.read_only else "")

    def __repr__(self) -> str:
        flag = ", read_only=True" if self.read_only else ""
        return f"SQLiteCache({str(self.path)!r}, max_entries={self.max_entries}{flag})"

    def get(self, key: str) -> str | None:
        """Return the value under `key`, or `None` when absent or expired."""
        now = self._clock()
        with self._guard("read"), self._connection() as conn:
            row = conn.execute(
                "SELECT value, expires_at FROM entries WHERE cache_key = ?", (key,)
            ).fetchone()
            if row is not None and row[1] is not None and row[1] <= now:
                if not conn.read_only:
                    conn.execute(
                        f"DELETE FROM entries WHERE cache_key = ? AND NOT {_LIVE}", (key, now)
                    )
                row = None
            if row is not None and not conn.read_only:
                conn.execute("UPDATE entries SET accessed_at = ? WHERE cache_key = ?", (now, key))
        with self._lock:
            if row is None:
                self._misses += 1
            else:
                self._hits += 1
        return None if row is None else _as_text(row[0])

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store `value` under `key` for `ttl` seconds (default: `default_ttl`)."""
        check_entry(key, value)
        seconds = resolve_ttl(ttl, self.default_ttl)
        if self.read_only:
            return
        now = self._clock()
        size = len(key.encode()) + len(value.encode())
        expires_at = None if seconds is None else now + seconds
        with self._guard("write"), self._connection() as conn, _transaction(conn):
            if self.max_bytes is not None and size > self.max_bytes:
                conn.execute("DELETE FROM entries WHERE cache_key = ?", (key,))
                evicted = 1
            else:
                conn.execute(_UPSERT, (key, value, size, now, expires_at))
                evicted = self._evict(conn, now)
        with self._lock:
            self._evictions += evicted

    def delete(self, key: str) -> bool:
        """Remove `key`; return whether a live entry was there."""
        now = self._clock()
        with self._guard("delete"), self._connection() as conn, _transaction(conn):
            live = conn.execute(
                f"DELETE FROM entries WHERE cache_key = ? AND {_LIVE}", (key, now)
            ).rowcount
            conn.execute("DELETE FROM entries WHERE cache_key = ?", (key,))
        return live > 0

    def clear(self) -> int:
        """Remove every entry; return how many live ones were removed."""
        now = self._clock()
        with self._guard("clear"), self._connection() as conn, _transaction(conn):
            live = conn.execute(f"DELETE FROM entries WHERE {_LIVE}", (now,)).rowcount
            conn.execute("DELETE FROM entries")
        return int(live)

    def stats(self) -> CacheStats:
        """Purge expired entries (unless read-only); return the file's size and our counters."""
        now = self._clock()
        with self._guard("read stats"), self._connection() as conn:
            if conn.read_only:
                entries, size = conn.execute(
                    f"SELECT count(*), total(size) FROM entries WHERE {_LIVE}", (now,)
                ).fetchone()
            else:
                with _transaction(conn):
                    conn.execute(f"DELETE FROM entries WHERE NOT {_LIVE}", (now,))
                    entries, size = conn.execute("SELECT entries, size FROM totals").fetchone()
        with self._lock:
            return CacheStats(
                backend="sqlite",
                location=self.url,
                entries=int(entries),
                size_bytes=int(size),
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
            )

    def close(self) -> None:
        """Close the connections; ones in use close when released. A later call reopens."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for conn in idle:
            conn.close()

    async def aget(self, key: str) -> str | None:
        """Async `get`, run in a worker thread."""
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async `set`, run in a worker thread."""
        await asyncio.to_thread(self.set, key, value, ttl)

    async def adelete(self, key: str) -> bool:
        """Async `delete`, run in a worker thread."""
        return await asyncio.to_thread(self.delete, key)

    async def aclear(self) -> int:
        """Async `clear`, run in a worker thread."""
        return await asyncio.to_thread(self.clear)

    async def astats(self) -> CacheStats:
        """Async `stats`, run in a worker thread."""
        return await asyncio.to_thread(self.stats)

    async def aclose(self) -> None:
        """Async `close`."""
        await asyncio.to_thread(self.close)

    def _evict(self, conn: sqlite3.Connection, now: float) -> int:
        """Bring the store under its caps: expired entries first, then least recently used."""
        if not self._over_cap(conn):
            return 0
        conn.execute(f"DELETE FROM entries WHERE NOT {_LIVE}", (now,))
        entries, size = conn.execute("SELECT entries, size FROM totals").fetchone()
        victims: list[str] = []
        excess_entries = 0 if self.max_entries is None else entries - self.max_entries
        excess_bytes = 0 if self.max_bytes is None else size - self.max_bytes
        cursor = conn.execute("SELECT cache_key, size FROM entries ORDER BY accessed_at, rowid")
        while excess_entries > 0 or excess_bytes > 0:
            row = cursor.fetchone()
            if row is None:
                break
            victims.append(row[0])
            excess_entries -= 1
            excess_bytes -= row[1]
        cursor.close()
        conn.executemany("DELETE FROM entries WHERE cache_key = ?", [(k,) for k in victims])
        return len(victims)

    def _over_cap(self, conn: sqlite3.Connection) -> bool:
        entries, size = conn.execute("SELECT entries, size FROM totals").fetchone()
        return (self.max_entries is not None and entries > self.max_entries) or (
            self.max_bytes is not None and size > self.max_bytes
        )

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. Changing the journal mode skips the busy handler: wait here instead."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn every storage failure into a one-line `CacheError`."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(
                f"SQLite cache {self.path}: could not {action}: {one_line(exc)}"
            ) from exc

    @contextmanager
    def _connection(self) -> Iterator[_Connection]:
        """Lend an idle connection (or a new one) to this thread; a failed one is dropped."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
            generation = self._generation
        if conn is None:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        with self._lock:
            if generation == self._generation and len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def _open(self) -> _Connection:
        if self.read_only or not self._writable():
            return self._open_read_only()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect(str(self.path))
        try:
            if not self._schema_ready:
                with self._schema_lock:
                    if not self._schema_ready:
                        self._create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _writable(self) -> bool:
        """Whether this process may write the file and create WAL's side files beside it."""
        if not self.path.exists():
            return True  # to be created (or fail, saying why)
        effective = os.access in os.supports_effective_ids  # seteuid'd services
        return all(
            os.access(where, os.W_OK, effective_ids=effective)
            for where in (self.path, self.path.parent)
        )

    def _open_read_only(self) -> _Connection:
        """Open the file to read only; ``immutable`` if WAL's side files cannot be made."""
        uri = f"{self.path.as_uri()}?mode=ro"
        conn = self._connect(uri, read_only=True)
        try:
            _pragma(conn, "application_id")  # the first read: WAL needs its side files
        except sqlite3.OperationalError as exc:
            conn.close()
            if exc.sqlite_errorcode & 0xFF not in _NO_SIDE_FILES:
                raise
            conn = self._connect(f"{uri}&immutable=1", read_only=True)
        try:
            self._check_format(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect(self, target: str, *, read_only: bool = False) -> _Connection:
        conn = sqlite3.connect(
            target,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
            uri=read_only,
        )
        try:
            conn.read_only = read_only
            conn.text_factory = _as_text
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not read_only:
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: _Connection) -> None:
        self._enable_wal(conn)
        if _pragma(conn, "application_id") == _APPLICATION_ID and (
            _pragma(conn, "user_version") == _SCHEMA_VERSION
        ):
            self._schema_ready = True  # made before: no need to take the write lock
            return
        with _transaction(conn):
            self._check_format(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
        self._schema_ready = True

    def _check_format(self, conn: _Connection) -> None:
        """Refuse another program's database, and a cache newer than this code reads."""
        app_id = _pragma(conn, "application_id")
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id not in (0, _APPLICATION_ID) or (app_id == 0 and tables):
            raise CacheError(
                f"{self.path} is a SQLite database but not a summarize cache: use another path"
            )
        version = _pragma(conn, "user_version")
        if version > _SCHEMA_VERSION:
            raise CacheError(
                f"SQLite cache {self.path} has format {version}, newer than this version "
                f"of summarize reads ({_SCHEMA_VERSION}): upgrade, or use another path"
            )


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the lock up front (no upgrade deadlocks in WAL)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):
            conn.rollback()
        raise
    conn.execute("COMMIT")


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _as_text(value: object) -> str:
    """Stored values come back as text even when written by someone else as bytes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)
