"""Summarize a folder of articles concurrently, writing JSON Lines as each one finishes.

    python examples/batch_async.py ARTICLES_DIR out.jsonl --base-url http://127.0.0.1:8080/v1

Failures are reported per article and do not stop the batch; a run report ends the output.
(The command line does the same for a JSON Lines corpus: ``summarize --jsonl in.jsonl``.)
"""

import argparse
import asyncio
import json
from pathlib import Path

from summarize import ArticleSummary, BatchReport, Summarizer


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rpm", type=int, help="requests per minute at most")
    args = parser.parse_args()

    paths = sorted(args.folder.glob("*.txt"))
    texts = (path.read_bytes() for path in paths)  # read one at a time, as slots free up
    results = []
    async with Summarizer(args.model, base_url=args.base_url, rpm=args.rpm) as summarizer:
        stream = summarizer.asummarize_as_completed(texts, concurrency=args.concurrency)
        with args.output.open("w", encoding="utf-8") as out:
            async for index, result in stream:
                name = paths[index].name
                results.append((name, result))
                if isinstance(result, ArticleSummary):
                    out.write(json.dumps({"file": name, **result.model_dump(mode="json")}) + "\n")
                    out.flush()
                else:
                    print(f"{name}: {result}")
    report = BatchReport.of(results)
    print(f"{report.summarized}/{report.articles} summarized")
    print(report)


if __name__ == "__main__":
    asyncio.run(main())
