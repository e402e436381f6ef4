"""Cache hit vs miss, per store, on a zero-latency model. Prints ratios from one run.

    python benchmarks/cache_bench.py [--n 200]

A miss runs the whole pipeline (openai SDK + instructor + grounding) against `FakeLLM`'s
in-memory transport, so it is as cheap as a miss can be: a real model adds seconds, and
every ratio here is a floor. A hit is key + store read; the summarizer that stored an entry
keeps what it assembled to, so its repeat hits stop there. A hit elsewhere (another
`Summarizer` or process on the same store) also checks the envelope and assembles the stored
draft in the article by today's rules (grounding, attribution, event codes, guards).
Redis runs when a ``redis-server`` binary is found (the benchmark starts its own on a free
port).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.test_pipeline's scripted answer

from summarize import Summarizer  # noqa: E402
from summarize.cache import Cache, MemoryCache, RedisCache, SQLiteCache  # noqa: E402
from summarize.testing import FakeLLM  # noqa: E402
from tests.test_pipeline import good_draft  # noqa: E402

SEED = ROOT / "seeds" / "vladivostok-2025-09-06.txt"


def timed_calls(
    fake: FakeLLM, store: Cache, articles: list[str]
) -> tuple[list[float], list[float], list[float]]:
    """Per call: misses, hits by the same summarizer, hits by another one on the store."""
    summarizer = fake.summarizer(cache=store)
    misses = [timed(summarizer, a, hit=False) for a in articles]
    hits = [timed(summarizer, a, hit=True) for a in articles]
    other = fake.summarizer(cache=store)  # as another process: assembles each entry anew
    elsewhere = [timed(other, a, hit=True) for a in articles]
    summarizer.close()
    other.close()
    return misses, hits, elsewhere


def timed(summarizer: Summarizer, article: str, *, hit: bool) -> float:
    started = time.perf_counter()
    summary = summarizer.summarize(article)
    elapsed = time.perf_counter() - started
    assert summary.meta.cache_hit is hit
    return elapsed


@contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )
    if binary is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="distinct articles per store")
    n = parser.parse_args().n
    base = SEED.read_text(encoding="utf-8")
    articles = [f"{base}\n\n(Item {i}.)" for i in range(n)]
    fake = FakeLLM(good_draft())

    with tempfile.TemporaryDirectory() as tmp, redis_server() as redis_url:
        stores: dict[str, Cache | None] = {
            "memory": MemoryCache(max_entries=n * 2),
            "sqlite": SQLiteCache(Path(tmp) / "bench.db"),
            "redis": RedisCache(redis_url, prefix="bench:") if redis_url else None,
        }
        print(f"{n} distinct seed-sized articles per store; median per call\n")
        print(f"{'store':8} {'miss':>9} {'hit':>9} {'hit is':>9}   {'hit elsewhere':>13} {'is':>6}")
        for name, store in stores.items():
            if store is None:
                print(f"{name:8} skipped: no redis-server binary found")
                continue
            miss, hit, far = map(statistics.median, timed_calls(fake, store, articles))
            print(
                f"{name:8} {miss * 1e3:7.2f}ms {hit * 1e3:7.3f}ms {miss / hit:8.0f}x"
                f"   {far * 1e3:11.3f}ms {miss / far:5.0f}x"
            )
            store.close()


if __name__ == "__main__":
    main()
