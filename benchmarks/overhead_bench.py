"""Library overhead per call: `Summarizer.summarize` vs a bare instructor call. One run, one ratio.

    python benchmarks/overhead_bench.py [--n 100]

Both ask the same loopback server (a separate process, no latency) with the same messages and
the same response model (`DraftSummary`, TOOLS mode), interleaved call by call. The library
adds input checks, the retry and rate-limit layers, the journal, grounding every quote and
assembling the `ArticleSummary`; the cache is off. Target: at most 1.25x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import instructor  # noqa: E402
import openai  # noqa: E402
from loopback import SEED, serve  # noqa: E402

from summarize import Summarizer  # noqa: E402
from summarize.draft import DraftSummary  # noqa: E402
from summarize.prompts import load_prompt  # noqa: E402

MODEL = "gpt-4o-mini"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="calls of each kind")
    n = parser.parse_args().n
    article = SEED.read_text(encoding="utf-8")
    with serve(latency=0.0) as base_url:
        library = Summarizer(MODEL, base_url=base_url, api_key="k", cache=False)
        bare = instructor.from_openai(
            openai.OpenAI(base_url=base_url, api_key="k", max_retries=0), mode=instructor.Mode.TOOLS
        )
        messages = load_prompt().render(article)

        def bare_call() -> None:
            bare.chat.completions.create(
                model=MODEL,
                messages=messages,  # type: ignore[arg-type]
                response_model=DraftSummary,
                max_retries=2,
                temperature=0.0,
                max_tokens=2048,
            )

        def library_call() -> None:
            library.summarize(article)

        for call in (bare_call, library_call):  # warm both: connections, schemas, imports
            for _ in range(3):
                call()
        times: dict[str, list[float]] = {"bare": [], "library": []}
        for _ in range(n):
            for name, call in (("bare", bare_call), ("library", library_call)):
                started = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - started)
        library.close()
    bare_ms = statistics.median(times["bare"]) * 1e3
    lib_ms = statistics.median(times["library"]) * 1e3
    print(f"{n} calls each, interleaved, loopback server with no latency; median per call")
    print(f"bare instructor call  {bare_ms:8.2f} ms")
    print(f"Summarizer.summarize  {lib_ms:8.2f} ms")
    print(f"ratio                 {lib_ms / bare_ms:8.2f}x   (target <= 1.25x)")


if __name__ == "__main__":
    main()
