"""A 150 KB article end to end through the chunker, against a loopback `FakeLLMServer`.

    python benchmarks/long_article.py [--latency 0.2]

The article is gold/ and seeds/ joined three times over, cut to 150,000 characters. The
scripted model answers each chunk's request with items quoting real sentences of that chunk
(its first sentence, the ones that say "said", "warn" or "reject"), as a model that copies
quotes well would; each request takes `--latency` seconds. Printed, from one run per
context size: chunks and requests, wall time (sync, async, and again with every chunk
cached), items before and after merging, and the check that every grounded span of the
merged summary is ``article[start:end]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summarize import ArticleSummary, Summarizer  # noqa: E402
from summarize.chunking import estimate_tokens  # noqa: E402
from summarize.sentences import split_sentences  # noqa: E402
from summarize.testing import FakeLLM, FakeLLMServer  # noqa: E402


def long_article(size: int = 150_000) -> str:
    """gold/ and seeds/ joined three times over, cut at the last paragraph within `size`."""
    texts = [p.read_text(encoding="utf-8").strip() for p in sorted(ROOT.glob("[gs]*/*.txt"))]
    joined = "\n\n".join(texts * 3)
    return joined[: joined.rindex("\n\n", 0, size)]


def evidence(quote: str) -> list[dict[str, Any]]:
    return [{"quote": quote, "attribution": "narration"}]


def who(sentence: str) -> str:
    """A name that is the same wherever the sentence is found (so overlaps can merge)."""
    return "Source " + hashlib.sha1(sentence.encode()).hexdigest()[:6]


class Script:
    """Answers a chunk with items quoting its sentences; counts what it answered."""

    def __init__(self, article: str) -> None:
        self.sentences = list(dict.fromkeys(s.text for s in split_sentences(article)))
        self.items = 0

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        found = [(user.find(s), s) for s in self.sentences if s in user]
        sentences = [s for _, s in sorted(found)]
        said = [s for s in sentences[1:] if " said" in s][:7]
        positions = [
            {"holder": who(s), "issue": " ".join(s.split()[:4]), "stance": "-",
             "polarity": "neutral", "evidence": evidence(s)}
            for s in sentences[:1] + said
        ]  # fmt: skip
        warnings = [
            {"by": who(s), "target": "them", "consequence": "harm", "kind": "prediction",
             "evidence": evidence(s)}
            for s in sentences if "warn" in s
        ][:6]  # fmt: skip
        rebuttals = [
            {"by": who(s), "answers": "the proposal", "kind": "reject_proposal", "content": "-",
             "evidence": evidence(s)}
            for s in sentences if "reject" in s
        ][:6]  # fmt: skip
        self.items += len(positions) + len(warnings) + len(rebuttals)
        return {
            "summary": "The article reports talks.",
            "positions": positions,
            "warnings": warnings,
            "rebuttals": rebuttals,
        }


def spans_right(summary: ArticleSummary, article: str) -> tuple[int, int]:
    checked = [
        article[e.start : e.end] == e.quote
        for item in summary.items()
        for e in item.evidence
        if e.start is not None and e.end is not None
    ]
    return sum(checked), len(checked)


def run(article: str, latency: float, **options: Any) -> None:
    script = Script(article)
    with FakeLLMServer(FakeLLM(script, latency=latency)) as server:

        def summarizer(cache: Any = False) -> Summarizer:
            return Summarizer("m", base_url=server.base_url, api_key="k", cache=cache, **options)

        plain = summarizer()
        started = time.perf_counter()
        chunks = plain.chunker.split(article)
        split_s = time.perf_counter() - started

        started = time.perf_counter()
        summary = plain.summarize(article)
        sync_s = time.perf_counter() - started
        sync_requests, answered = server.fake.calls, script.items

        cached = summarizer(cache="memory")

        async def twice() -> tuple[ArticleSummary, float, ArticleSummary, float]:
            started = time.perf_counter()
            first = await cached.asummarize(article)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = await cached.asummarize(article)
            second_s = time.perf_counter() - started
            await cached.aclose()
            return first, first_s, second, second_s

        async_summary, async_s, hit, hit_s = asyncio.run(twice())
        async_requests = server.fake.calls - sync_requests
        plain.close()

    right, spans = spans_right(summary, article)
    merged = sum(1 for _ in summary.items())
    sizes = [len(c.text) for c in chunks]
    print(f"\ncontext {options.get('context_window') or 'default (8192: unknown endpoint model)'}")
    print(f"  article             {len(article):,} chars, ~{estimate_tokens(article):,} tokens")
    print(f"  chunks              {len(chunks)} (split in {split_s:.2f} s), "
          f"{min(sizes):,}-{max(sizes):,} chars each, "
          f"overlap {sum(sizes) / len(article) - 1:.1%} of the article sent twice")  # fmt: skip
    print(f"  requests            sync {sync_requests}, async {async_requests}, "
          f"cached re-run {server.fake.calls - sync_requests - async_requests}")  # fmt: skip
    print(f"  wall time           sync {sync_s:.2f} s (model {sync_requests * latency:.2f} s), "
          f"async {async_s:.2f} s ({sync_s / async_s:.1f}x faster), "
          f"all chunks cached {hit_s:.2f} s ({sync_s / hit_s:.1f}x faster)")  # fmt: skip
    print(f"  items               {answered} answered by the chunks, {merged} after merging "
          f"({answered - merged} found twice or repeated)")  # fmt: skip
    print(f"  grounded spans      {right}/{spans} equal article[start:end]")
    print(f"  meta                strategy {summary.meta.strategy!r}, attempts "
          f"{summary.meta.attempts}, cache hit on re-run: {hit.meta.cache_hit}")  # fmt: skip
    same = async_summary.model_dump(exclude={"meta"}) == summary.model_dump(exclude={"meta"})
    print(f"  async == sync       {same}")
    assert right == spans and same and hit.meta.cache_hit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    args = parser.parse_args()
    article = long_article()
    print(f"{len(article.encode()) / 1000:.0f} KB article, {args.latency} s per request")
    run(article, args.latency)
    run(article, args.latency, context_window=32_768)


if __name__ == "__main__":
    main()
