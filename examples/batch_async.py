"""Summarize a folder of articles concurrently, writing JSON Lines.

    python examples/batch_async.py ARTICLES_DIR out.jsonl --base-url http://127.0.0.1:8080/v1

Failures are reported per article and do not stop the batch.
"""

import argparse
import asyncio
from pathlib import Path

from summarize import SummarizeError, Summarizer


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    limit = asyncio.Semaphore(args.concurrency)
    async with Summarizer(args.model, base_url=args.base_url) as summarizer:

        async def one(path: Path) -> str | None:
            async with limit:
                try:
                    return (await summarizer.asummarize(path.read_bytes())).model_dump_json()
                except SummarizeError as exc:
                    print(f"{path}: {exc}")
                    return None

        paths = sorted(args.folder.glob("*.txt"))
        results = await asyncio.gather(*(one(p) for p in paths))
    with args.output.open("w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in results if line)
    print(f"{sum(r is not None for r in results)}/{len(paths)} summarized")


if __name__ == "__main__":
    asyncio.run(main())
