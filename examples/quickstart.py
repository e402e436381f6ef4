"""Summarize the seed article and walk the result.

python examples/quickstart.py                    # embedded model, no key
OPENAI_API_KEY=... python examples/quickstart.py # OpenAI
"""

from pathlib import Path

from summarize import Summarizer

article = (Path(__file__).parent.parent / "seeds" / "vladivostok-2025-09-06.txt").read_text()

with Summarizer() as summarizer:
    summary = summarizer.summarize(article)

print(summary.summary, "\n")
for item in summary.items():
    print(item.id, type(item).__name__, item.model_dump(exclude={"evidence"}))
    for e in item.evidence:
        # Offsets are verified: for grounded evidence this slice IS the quote, whatever matched.
        assert e.start is not None and e.end is not None and article[e.start : e.end] == e.quote
        print(f"   {e.match:10} {article[e.start : e.end]!r}  ({e.attribution}, via {e.via})")
print("\n", summary.meta)
