"""Eight processes share one SQLite cache file: nothing is lost, nothing is corrupted."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import queue
from pathlib import Path
from typing import Any

from summarize.cache import SQLiteCache

PROCESSES = 8
WRITES = 500
JOIN_TIMEOUT = 120


def key_of(process: int, index: int) -> str:
    return f"p{process}:{index}"


def value_of(process: int, index: int) -> str:
    body = {"process": process, "index": index, "text": f"summary {process}/{index} " * 8}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return json.dumps({"body": body, "sha256": digest})


def check(raw: str | None, process: int, index: int) -> str | None:
    """'missing', 'corrupt' or None (the value is exactly what that process wrote)."""
    if raw is None:
        return "missing"
    return None if raw == value_of(process, index) else "corrupt"


def worker(path: str, me: int, start: Any, written: Any, results: Any) -> None:
    """Write my keys while reading a neighbour's; then, once all have written, read theirs."""
    report: dict[str, Any] = {"process": me, "errors": [], "corrupt": [], "lost": []}
    cache = SQLiteCache(path, timeout=30)
    neighbour = (me + 1) % PROCESSES
    try:
        start.wait(timeout=JOIN_TIMEOUT)
        for index in range(WRITES):
            cache.set(key_of(me, index), value_of(me, index))
            if check(cache.get(key_of(me, index)), me, index):
                report["corrupt"].append(key_of(me, index))
            if check(cache.get(key_of(neighbour, index)), neighbour, index) == "corrupt":
                report["corrupt"].append(key_of(neighbour, index))
        written.wait(timeout=JOIN_TIMEOUT)
        for index in range(WRITES):
            problem = check(cache.get(key_of(neighbour, index)), neighbour, index)
            if problem:
                report["lost" if problem == "missing" else "corrupt"].append(
                    key_of(neighbour, index)
                )
    except Exception as exc:
        report["errors"].append(f"{type(exc).__name__}: {exc}")
        start.abort()  # the others stop waiting for me (BrokenBarrierError) and report too
        written.abort()
    finally:
        cache.close()
        results.put(report)


def test_eight_processes_share_one_file_without_losing_or_corrupting_entries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared" / "cache.sqlite3"
    context = multiprocessing.get_context("spawn")
    start, written = context.Barrier(PROCESSES), context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(str(path), me, start, written, results))
        for me in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    reports = []
    try:
        for _ in processes:
            reports.append(results.get(timeout=JOIN_TIMEOUT))
    except queue.Empty:
        pass
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
        results.join_thread()

    assert len(reports) == PROCESSES, f"only {len(reports)} of {PROCESSES} workers reported"
    problems = {
        r["process"]: {k: r[k][:3] for k in ("errors", "corrupt", "lost") if r[k]}
        for r in reports
        if r["errors"] or r["corrupt"] or r["lost"]
    }
    assert problems == {}, f"workers saw errors, corrupt or lost entries: {problems}"
    assert [p.exitcode for p in processes] == [0] * PROCESSES

    cache = SQLiteCache(path)
    try:
        bad = [
            key_of(p, i)
            for p in range(PROCESSES)
            for i in range(WRITES)
            if check(cache.get(key_of(p, i)), p, i)
        ]
        assert bad == [], f"{len(bad)} entries missing or corrupt afterwards, e.g. {bad[:5]}"
        assert cache.stats().entries == PROCESSES * WRITES
    finally:
        cache.close()
