"""The seed article on the embedded default model: llama.cpp's grammar sampler vs ours, one run.

    python benchmarks/local_speed.py [--pairs 2] [--model local]

Each summary runs in a fresh process, as `make demo` does (the time includes loading the
model, ~1 s; cache off), in pairs: llama-cpp-python's stock sampler chain, which checks the
whole vocabulary against the grammar for every token, then `GreedyGrammarSampler`, which
checks only the best token. It prints seconds per run, the medians and their ratio, and
whether both wrote the same summary (they must: the same tokens are picked).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from loopback import ROOT, SEED

_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
if {stock!r}:
    from llama_cpp import Llama
    from summarize.backends import greedy
    greedy.GreedyGrammarLlama._init_sampler = Llama._init_sampler  # the stock chain
from summarize import Summarizer
summarizer = Summarizer({model!r}, cache=False)
article = open({seed!r}, encoding="utf-8").read()
start = time.perf_counter()
summary = summarizer.summarize(article)
seconds = time.perf_counter() - start
print(json.dumps({{
    "seconds": seconds,
    "requests": summary.meta.attempts,
    "prompt_tokens": summary.meta.usage.prompt_tokens,
    "completion_tokens": summary.meta.usage.completion_tokens,
    "summary": summary.model_dump_json(exclude={{"meta"}}),
}}))
"""


def _run(model: str, *, stock: bool) -> dict[str, object]:
    code = _CHILD.format(root=str(ROOT), stock=stock, model=model, seed=str(SEED))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--model", default="local")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, object]]] = {"stock": [], "ours": []}
    began = time.perf_counter()
    for pair in range(args.pairs):
        for name in ("stock", "ours"):
            result = _run(args.model, stock=name == "stock")
            runs[name].append(result)
            print(
                f"pair {pair + 1} {name:5}: {result['seconds']:.1f} s, {result['requests']} "
                f"requests, {result['prompt_tokens']} prompt + {result['completion_tokens']} "
                "answer tokens",
                flush=True,
            )
    stock = statistics.median(float(str(r["seconds"])) for r in runs["stock"])
    ours = statistics.median(float(str(r["seconds"])) for r in runs["ours"])
    same = {str(r["summary"]) for r in runs["stock"] + runs["ours"]}
    print(f"median: stock sampler {stock:.1f} s, ours {ours:.1f} s: {ours / stock:.2f}x")
    print(f"same summary every run: {len(same) == 1}")
    print(f"(whole benchmark {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
