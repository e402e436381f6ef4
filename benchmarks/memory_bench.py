"""Peak memory over 20,000 generated articles streamed through one Summarizer: it stays flat.

    python benchmarks/memory_bench.py [--n 20000] [--concurrency 20]

A generator makes the articles one at a time; `Summarizer.summarize_as_completed` pulls them
only as results are delivered, and each result is dropped once counted. The process's peak
resident memory (the kernel's high-water mark) is printed at checkpoints: flat means it stops
growing after the first few hundred articles. The loopback server runs in its own process,
so its memory is not counted. Cache off.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopback import SEED, serve  # noqa: E402

from summarize import ArticleSummary, Summarizer  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    seed = SEED.read_text(encoding="utf-8")
    taken = 0

    def articles() -> Iterator[str]:
        nonlocal taken
        for i in range(args.n):
            taken += 1
            yield f"{seed}\n\n(article {i})"

    checkpoints = [c for c in (100, 1000, 2000, 5000, 10_000) if c < args.n] + [args.n]
    peaks: dict[int, float] = {}
    print(f"{args.n:,} generated articles, concurrency {args.concurrency}, cache off")
    print(f"{'articles':>9} {'peak RSS':>10} {'read ahead':>11} {'elapsed':>9}")
    started = time.perf_counter()
    with serve(latency=0.0) as base_url:
        summarizer = Summarizer("gpt-4o-mini", base_url=base_url, api_key="k", cache=False)
        failed = 0
        stream = summarizer.summarize_as_completed(articles(), concurrency=args.concurrency)
        for done, (_, result) in enumerate(stream, 1):
            failed += not isinstance(result, ArticleSummary)
            if done in checkpoints:
                peaks[done] = peak_mib()
                elapsed = time.perf_counter() - started
                print(f"{done:9,} {peaks[done]:8.1f}MiB {taken - done:11} {elapsed:8.1f}s")
        summarizer.close()
    base = min(1000, args.n)
    growth = peaks[args.n] - peaks[base]
    print(f"\n{failed} failed; peak RSS grew {growth:.1f} MiB from {base:,} to {args.n:,} articles")


if __name__ == "__main__":
    main()
