"""Dask against one process: summarize_dataframe vs summarize_many, same total concurrency.

    python benchmarks/dask_bench.py [--n 200] [--latency 0.2] [--workers 2] [--concurrency 20]

Against the loopback server of `loopback.py` (its own process; every answer after `latency`
seconds). Each arm gets fresh articles, cache off:

- ``summarize_many(concurrency=C)`` in this process (the baseline);
- ``summarize_dataframe`` on a ``LocalCluster`` of `workers` processes (one thread each),
  C/workers requests in flight per partition, two partitions per worker: a first run (each
  worker builds its summarizer, importing summarize) and a second on fresh articles (warm).

Prints the ratio to the baseline, the cluster's start-up and what Dask adds per row.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from loopback import SEED, fresh_articles, serve, timed  # noqa: E402

from summarize import Summarizer  # noqa: E402
from summarize.dask import summarize_dataframe  # noqa: E402

MODEL = "gpt-4o-mini"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=20, help="in all, not per worker")
    args = parser.parse_args()
    n, width, workers = args.n, args.concurrency, args.workers
    seed = SEED.read_text(encoding="utf-8")
    articles = fresh_articles()

    with serve(latency=args.latency) as base_url:
        summarizer = Summarizer(MODEL, base_url=base_url, api_key="k", cache=False)
        summarizer.summarize(seed)  # imports, schemas, the first connection

        def one_process() -> None:
            batch = summarizer.summarize_many(articles(n), concurrency=width)
            assert not batch.errors, batch.errors

        def on_dask() -> None:
            frame = dd.from_pandas(pd.DataFrame({"text": articles(n)}), npartitions=2 * workers)
            out = summarize_dataframe(frame, summarizer, concurrency=width // workers).compute()
            assert out["error"].isna().all(), out["error"].dropna().tolist()

        baseline = timed(one_process)
        started = time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster),
        ):
            start_up = time.perf_counter() - started
            cold, warm = timed(on_dask), timed(on_dask)
    results = {
        "summarize_many (one process)": baseline,
        "summarize_dataframe, first run": cold,
        "summarize_dataframe, warm workers": warm,
    }
    print(
        f"{n} articles, {args.latency * 1e3:.0f} ms server latency, concurrency {width} in all "
        f"({workers} workers x {width // workers} on Dask, {2 * workers} partitions)\n"
    )
    for name, seconds in results.items():
        print(f"{name:36} {seconds:7.2f}s  {seconds / baseline:6.2f}x")
    print(f"\nLocalCluster start-up (once per session): {start_up:.2f}s")
    print(f"Dask adds per row, first run: {(cold - baseline) / n * 1e3:.1f} ms")
    print(f"Dask adds per row, warm workers: {(warm - baseline) / n * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
