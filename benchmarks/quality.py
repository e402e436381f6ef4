"""The model table: every candidate model and strategy over the gold set, one run each.

    python benchmarks/quality.py                          # every local candidate, both strategies
    python benchmarks/quality.py --only qwen2.5-coder-1.5b:sentences
    python benchmarks/quality.py --base-url http://127.0.0.1:8080/v1 --model m   # an endpoint

Prints one row per configuration (F1 per category, overall precision/recall/F1, traps,
seconds and tokens per article, the largest prompt of one request) and writes every report
as JSON (``--out``). Local models take minutes per article on 2 cores: run it when the
machine is otherwise idle, or the seconds measure the other work too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from summarize import Summarizer
from summarize.evaluate import EvalReport, evaluate_files
from summarize.models import MODELS

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("gold", nargs="*", type=Path, default=[ROOT / "gold", ROOT / "seeds"])
    parser.add_argument("--only", action="append", help="MODEL:STRATEGY, repeatable")
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--out", type=Path, default=Path("quality.json"))
    args = parser.parse_args()
    if args.base_url:
        configs = [(args.model or "m", s) for s in ("single", "sentences")]
    else:
        configs = [(f"local:{name}", s) for name in MODELS for s in ("sentences", "single")]
    if args.only:
        wanted = {tuple(o.rsplit(":", 1)) for o in args.only}
        configs = [(m, s) for m, s in configs if (m.removeprefix("local:"), s) in wanted]
    reports: list[EvalReport] = []
    print(_header())
    for model, strategy in configs:
        options = {"base_url": args.base_url, "api_key": "x"} if args.base_url else {}
        with Summarizer(model, strategy=strategy, cache=False, **options) as summarizer:
            report = evaluate_files(args.gold, summarizer)
        reports.append(report)
        print(_row(model, strategy, report), flush=True)
        args.out.write_text(json.dumps([r.as_dict() for r in reports], indent=1) + "\n")


def _header() -> str:
    return (
        "| model | strategy | warnings | positions | venues | rebuttals | P | R | F1 | "
        "venue traps | s/article | prompt+completion tokens/article | largest prompt |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )


def _row(model: str, strategy: str, report: EvalReport) -> str:
    d = report.as_dict()
    cats = " | ".join(f"{report.categories[c].f1:.2f}" for c in report.categories)
    o = report.overall
    return (
        f"| {model} | {strategy} | {cats} | {o.precision:.2f} | {o.recall:.2f} | {o.f1:.2f} | "
        f"{d['venue_traps_triggered']} | {d['seconds_per_article']:.0f} | "
        f"{d['prompt_tokens_per_article']}+{d['completion_tokens_per_article']} | "
        f"{d['max_prompt_tokens_per_request']} |"
    )


if __name__ == "__main__":
    main()
