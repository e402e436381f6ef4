"""Quality on the seed article against its gold annotation, for whatever model you point at.

    python benchmarks/seed_quality.py                      # the embedded model
    python benchmarks/seed_quality.py --base-url http://127.0.0.1:8080/v1 --model m
    OPENAI_API_KEY=... python benchmarks/seed_quality.py --model gpt-4o-mini

Prints precision / recall / F1 per category (ratios from one run) and the call's cost.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from summarize import Summarizer
from summarize.evaluate import evaluate, load_gold

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--base-url")
    args = parser.parse_args()
    article = (SEEDS / "vladivostok-2025-09-06.txt").read_text(encoding="utf-8")
    gold = load_gold(SEEDS / "vladivostok-2025-09-06.gold.json", article)
    with Summarizer(args.model, base_url=args.base_url) as summarizer:
        summary = summarizer.summarize(article)
    score = evaluate(summary, gold)
    print(f"model {summary.meta.model} ({summary.meta.backend})")
    print(f"{'':10} {'gold':>5} {'found':>6} {'match':>6} {'prec':>6} {'recall':>7} {'F1':>6}")
    for name, c in [*score.categories.items(), ("overall", score.overall)]:
        print(
            f"{name:10} {c.expected:5} {c.found:6} {c.matched:6} "
            f"{c.precision:6.2f} {c.recall:7.2f} {c.f1:6.2f}"
        )
    m = summary.meta
    print(
        f"\n{m.latency_s:.1f}s, {m.usage.total_tokens} tokens, {m.attempts} call(s); "
        f"dropped as ungrounded: {m.dropped_items} item(s), {m.dropped_evidence} quote(s)"
    )


if __name__ == "__main__":
    main()
