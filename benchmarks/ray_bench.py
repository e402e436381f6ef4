"""Ray Data against one process: summarize_dataset vs summarize_many, same total concurrency.

    python benchmarks/ray_bench.py [--n 200] [--latency 0.2] [--actors 2] [--concurrency 20]

Against the loopback server of `loopback.py` (its own process; every answer after `latency`
seconds). Each arm gets fresh articles, cache off:

- ``summarize_many(concurrency=C)`` in this process (the baseline);
- ``summarize_dataset`` on a local Ray session (``num_cpus=2``), `actors` actors with C/actors
  requests in flight each: once over `actors` rows (what a run costs before any row: actors
  starting, importing summarize, scheduling) and once over the `n` rows.

Prints the ratio to the baseline, Ray's fixed cost per run and what it adds per row.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ray  # noqa: E402
from loopback import SEED, fresh_articles, serve, timed  # noqa: E402

from summarize import Summarizer  # noqa: E402
from summarize.ray import summarize_dataset  # noqa: E402

MODEL = "gpt-4o-mini"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=20, help="in all, not per actor")
    args = parser.parse_args()
    n, width, actors = args.n, args.concurrency, args.actors
    seed = SEED.read_text(encoding="utf-8")
    articles = fresh_articles()

    with serve(latency=args.latency) as base_url:
        summarizer = Summarizer(MODEL, base_url=base_url, api_key="k", cache=False)
        summarizer.summarize(seed)  # imports, schemas, the first connection

        def one_process() -> None:
            batch = summarizer.summarize_many(articles(n), concurrency=width)
            assert not batch.errors, batch.errors

        def on_ray(count: int) -> Callable[[], None]:
            def run() -> None:
                rows = [{"id": i, "text": t} for i, t in enumerate(articles(count))]
                ds = ray.data.from_items(rows)
                out = summarize_dataset(ds, summarizer, actors=actors, concurrency=width // actors)
                failed = [row["error"] for row in out.take_all() if row["error"]]
                assert not failed, failed

            return run

        started = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        logging.getLogger("ray").setLevel(logging.WARNING)
        ray.data.DataContext.get_current().enable_progress_bars = False
        del started
        results = {
            "summarize_many (one process)": timed(one_process),
            f"summarize_dataset, {actors} rows (fixed cost)": timed(on_ray(actors)),
            f"summarize_dataset, {n} rows": timed(on_ray(n)),
        }
        ray.shutdown()
    baseline = results["summarize_many (one process)"]
    fixed = results[f"summarize_dataset, {actors} rows (fixed cost)"] - args.latency
    full = results[f"summarize_dataset, {n} rows"]
    print(
        f"{n} articles, {args.latency * 1e3:.0f} ms server latency, concurrency {width} in all "
        f"({actors} actors x {width // actors} on Ray)\n"
    )
    for name, seconds in results.items():
        print(f"{name:44} {seconds:7.2f}s  {seconds / baseline:6.2f}x")
    print(f"\nRay's fixed cost per run (actors start, import, schedule): {fixed:.2f}s")
    print(f"Ray adds per row, fixed cost included: {(full - baseline) / n * 1e3:.1f} ms")
    print(f"Ray adds per row, fixed cost excluded: {(full - fixed - baseline) / n * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
