"""A loopback OpenAI-compatible server in its own process, and what the benchmarks share.

    with serve(latency=0.2) as base_url:
        ...                                   # every request answered with the seed's summary
    articles = fresh_articles()               # articles(200): new texts on every call
    seconds = timed(lambda: ...)

It is `summarize.testing.FakeLLMServer` (real HTTP on 127.0.0.1) run as a separate process,
so its threads take no time from the measured client's interpreter and its memory is not the
client's. ``python benchmarks/loopback.py LATENCY`` prints the URL and serves until killed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "vladivostok-2025-09-06.txt"


def fresh_articles() -> Callable[[int], list[str]]:
    """A function giving `n` seed articles per call, each text new (nothing shared or cached)."""
    seed = SEED.read_text(encoding="utf-8")
    runs = count()

    def articles(n: int) -> list[str]:
        run = next(runs)
        return [f"{seed}\n\n(run {run}, article {i})" for i in range(n)]

    return articles


def timed(run: Callable[[], object]) -> float:
    """Seconds `run` takes."""
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


@contextmanager
def serve(latency: float = 0.0) -> Iterator[str]:
    """Start the server process; yield its ``/v1`` base URL; stop it."""
    process = subprocess.Popen(
        [sys.executable, __file__, str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _main(latency: float) -> None:
    sys.path.insert(0, str(ROOT))  # for tests.test_pipeline's scripted answer
    from http.server import ThreadingHTTPServer

    from summarize.testing import FakeLLM, FakeLLMServer

    ThreadingHTTPServer.request_queue_size = 128  # 20+ clients connect at once (default: 5)
    from tests.test_pipeline import good_draft

    fake = FakeLLM(good_draft(), latency=latency)
    with FakeLLMServer(fake) as server:
        print(server.base_url, flush=True)
        forget = threading.Event()
        while not forget.wait(1.0):  # the fake records every request: keep its memory flat
            with fake._lock:
                fake.requests.clear()
                fake.received_at.clear()


if __name__ == "__main__":
    _main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
