"""Grounding cost by cascade stage, on a ~100k-character article. Prints ratios from one run.

    python benchmarks/grounding_bench.py

Ratios compare against the exact stage (a str.find), and one shared `Aligner` against a fresh
one per quote (the pipeline shares one per article, so normalization is paid once). "typo"
(one character changed) and "meaning" (a "not" inserted) are near matches the fuzzy stage
finds and then refuses, so they pay the whole cascade plus the word-by-word check.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from summarize.grounding import Aligner, Alignment, align_quote

SEED = Path(__file__).resolve().parent.parent / "seeds" / "vladivostok-2025-09-06.txt"
QUOTES_PER_KIND = 40


def build_article() -> str:
    base = SEED.read_text(encoding="utf-8")
    rng = random.Random(7)
    paragraphs = base.split("\n\n")
    out: list[str] = []
    while sum(map(len, out)) < 100_000:
        out.append(
            rng.choice(paragraphs).replace("Putin", rng.choice(["Putin", "Lavrov", "Peskov"]))
        )
    return "\n\n".join(out)


def quotes(article: str) -> dict[str, list[str]]:
    rng = random.Random(11)
    spans = []
    for _ in range(QUOTES_PER_KIND):
        start = rng.randrange(0, len(article) - 200)
        spans.append(article[start : start + rng.randrange(60, 160)].strip())
    # Quotes made of whole words, as a model writes them, for the word-level kinds.
    whole = [" ".join(s.split()[1:-1]) for s in spans]
    return {
        "exact": spans,
        "normalized": [s.upper().replace("“", '"').replace("—", "-") for s in spans],
        "ellipsis": [f"{s[:25]} … {s[-25:]}" for s in spans],
        "fuzzy": [w.replace(" the ", " ", 1) if " the " in w else f"the {w}" for w in whole],
        "typo": [s[:20] + "x" + s[21:] for s in spans],
        "meaning": [w.replace(" ", " not ", 1) for w in whole],
        "none": [
            f"Invented sentence number {i} that appears nowhere at all."
            for i in range(QUOTES_PER_KIND)
        ],
    }


EXPECTED: dict[str, Callable[[Alignment], bool]] = {
    "exact": lambda a: a.match == "exact",
    "normalized": lambda a: a.match == "normalized",
    "ellipsis": lambda a: a.match == "normalized",
    "fuzzy": lambda a: a.match == "fuzzy",
    "typo": lambda a: a.rejected is not None,
    "meaning": lambda a: a.rejected is not None and "negation" in a.rejected,
    "none": lambda a: a.match == "none",
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    article = build_article()
    kinds = quotes(article)
    print(f"article: {len(article):,} chars; {QUOTES_PER_KIND} quotes per kind\n")
    shared = Aligner(article)
    shared.align("warm-up")
    per_quote = {
        kind: timed(lambda qs=qs: [shared.align(q) for q in qs]) / len(qs)
        for kind, qs in kinds.items()
    }
    expected = {
        kind: sum(EXPECTED[kind](align_quote(article, q)) for q in qs[:10])
        for kind, qs in kinds.items()
    }
    for kind, seconds in per_quote.items():
        ratio = seconds / per_quote["exact"]
        print(f"{kind:11} {seconds * 1e3:8.3f} ms/quote   {ratio:8.1f}x exact")
    print(f"\nstage sanity (of 10 quotes each, ending as their kind should): {expected}")

    mixed = [q for qs in kinds.values() for q in qs[:8]]
    fresh = timed(lambda: [align_quote(article, q) for q in mixed])
    reused = timed(lambda: [Aligner(article).align(mixed[0])] + [shared.align(q) for q in mixed])
    print(
        f"\n{len(mixed)} mixed quotes: fresh Aligner each {fresh:.3f}s, one shared "
        f"{reused:.3f}s -> sharing is {fresh / reused:.1f}x faster"
    )


if __name__ == "__main__":
    main()
