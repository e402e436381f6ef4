"""A batch of 200 articles at 200 ms server latency, concurrency 20: wall times from one run.

    python benchmarks/batch_bench.py [--n 200] [--latency 0.2] [--concurrency 20]

Against a loopback server in its own process that answers each request after `latency`
seconds (many at once). Compared, each on fresh articles, cache off:

- bare async instructor calls under an ``asyncio.Semaphore`` (the baseline);
- ``await Summarizer.asummarize_many`` and the sync ``Summarizer.summarize_many``
  (target: at most 1.15x the baseline);
- a sequential loop of ``Summarizer.summarize``, and a thread pool calling it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import instructor  # noqa: E402
import openai  # noqa: E402
from loopback import SEED, fresh_articles, serve, timed  # noqa: E402

from summarize import Summarizer  # noqa: E402
from summarize.draft import DraftSummary  # noqa: E402
from summarize.prompts import load_prompt  # noqa: E402

MODEL = "gpt-4o-mini"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    n, width = args.n, args.concurrency
    seed = SEED.read_text(encoding="utf-8")
    fresh = fresh_articles()

    def articles() -> list[str]:
        return fresh(n)

    with serve(latency=args.latency) as base_url:
        summarizer = Summarizer(MODEL, base_url=base_url, api_key="k", cache=False)

        async def bare() -> None:
            client = instructor.from_openai(
                openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0),
                mode=instructor.Mode.TOOLS,
            )
            limit = asyncio.Semaphore(width)

            async def one(article: str) -> None:
                async with limit:
                    await client.chat.completions.create(
                        model=MODEL,
                        messages=load_prompt().render(article),  # type: ignore[arg-type]
                        response_model=DraftSummary,
                        max_retries=2,
                        temperature=0.0,
                        max_tokens=2048,
                    )

            await asyncio.gather(*(one(a) for a in articles()))
            await client.client.close()

        async def library_async() -> None:
            async with summarizer:
                batch = await summarizer.asummarize_many(articles(), concurrency=width)
            assert not batch.errors, batch.errors

        def library_sync() -> None:
            batch = summarizer.summarize_many(articles(), concurrency=width)
            assert not batch.errors, batch.errors

        def sequential() -> None:
            for article in articles():
                summarizer.summarize(article)

        def thread_pool() -> None:
            with ThreadPoolExecutor(width) as pool:
                list(pool.map(summarizer.summarize, articles()))

        warm = Summarizer(MODEL, base_url=base_url, api_key="k", cache=False)
        warm.summarize(seed)  # imports, schemas, the first connection
        warm.close()
        results = {
            "bare async instructor + Semaphore": timed(lambda: asyncio.run(bare())),
            "asummarize_many": timed(lambda: asyncio.run(library_async())),
            "summarize_many (sync)": timed(library_sync),
            f"thread pool ({width} threads)": timed(thread_pool),
            "sequential loop": timed(sequential),
        }
        summarizer.close()
    baseline = results["bare async instructor + Semaphore"]
    ideal = -(-n // width) * args.latency
    print(f"{n} articles, {args.latency * 1e3:.0f} ms server latency, concurrency {width}")
    print(f"(ideal: {ideal:.2f}s of waiting on the server)\n")
    for name, seconds in results.items():
        print(f"{name:36} {seconds:7.2f}s  {seconds / baseline:6.2f}x")
    print("\ntarget: asummarize_many and summarize_many at most 1.15x the bare baseline")


if __name__ == "__main__":
    main()
