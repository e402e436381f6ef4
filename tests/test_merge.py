"""Merging chunk summaries: offsets in the whole article, duplicates, links, actors, meta.

End to end through `Summarizer` with the scripted model of test_chunking (each chunk is
answered with the scripted items whose quotes it contains), and `merge` alone on summaries
assembled from hand-written drafts.
"""

from __future__ import annotations

from typing import Any

import pytest

from summarize import ArticleSummary
from summarize.assemble import assemble
from summarize.chunking import Chunk
from summarize.draft import DraftSummary
from summarize.merge import merge
from summarize.schema import Meta
from summarize.sentences import split_sentences
from summarize.testing import FakeLLM

from .test_chunking import (
    ARTICLE,
    DISMISSAL,
    GENEVA,
    LONG,
    NAIROBI,
    REJECTION,
    REPEAT,
    SCRIPT,
    WARNING,
    chunk_text,
    item,
    scripted,
)

NAMES = ["Amina Diallo", "Tomas Berg", "Leila Haddad", "Yuki Sato", "Pedro Alves", "Nora Quist"]


def assert_grounded(summary: ArticleSummary, article: str) -> None:
    for found in summary.items():
        for e in found.evidence:
            assert e.grounded and e.start is not None and e.end is not None
            assert article[e.start : e.end] == e.quote, f"{found.id}: {e.start}:{e.end} is off"


def summarized(script: list[Any] = SCRIPT, **options: Any) -> tuple[ArticleSummary, FakeLLM]:
    fake = FakeLLM(scripted(script, **options))
    return fake.summarizer(**LONG).summarize(ARTICLE), fake


def chunks_of(article: str = ARTICLE) -> tuple[Chunk, ...]:
    return FakeLLM(scripted()).summarizer(**LONG).chunker.split(article)


def test_quotes_from_every_chunk_have_offsets_in_the_whole_article() -> None:
    chunks = chunks_of()
    own = [  # per chunk, a sentence no other chunk has
        next(
            s.text
            for s in split_sentences(ARTICLE)
            if sum(c.start <= s.start and s.end <= c.end for c in chunks) == 1
            and chunk.start <= s.start
            and s.end <= chunk.end
        )
        for chunk in chunks
    ]
    positions = [
        item("positions", quote, holder=name, issue="the river", stance="low", polarity="neutral")
        for quote, name in zip(own, NAMES, strict=False)
    ]
    summary, _ = summarized([*SCRIPT, *positions])
    assert_grounded(summary, ARTICLE)
    starts = [e.start for found in summary.items() for e in found.evidence]
    for chunk in chunks[: len(NAMES)]:
        assert any(chunk.start <= s < chunk.end for s in starts if s is not None), chunk.index
    assert [p.holder for p in summary.positions] == NAMES[: len(positions)]


def test_an_item_found_in_the_overlap_is_reported_once() -> None:
    chunks = chunks_of()
    shared = next(
        s for s in split_sentences(ARTICLE) if chunks[1].start <= s.start and s.end <= chunks[0].end
    )
    overlap = item(
        "positions",
        shared.text,
        holder="Amina Diallo",
        issue="gauges",
        stance="-",
        polarity="neutral",
    )
    summary, fake = summarized([*SCRIPT, overlap])
    seen = [shared.text in chunk_text(body) for body in fake.requests]
    assert seen[:2] == [True, True], "the sentence is not in the overlap of the first chunks"
    assert len(summary.positions) == 1 and len(summary.positions[0].evidence) == 1
    e = summary.positions[0].evidence[0]
    assert (e.start, e.end) == (shared.start, shared.end)


def test_a_paragraph_in_two_chunks_gives_each_of_its_items_once() -> None:
    summary, fake = summarized()
    both = [body for body in fake.requests if REJECTION in chunk_text(body)]
    assert len(both) == 2, "the Geneva paragraph should be in two chunks"
    assert [v.place for v in summary.venues] == ["Nairobi", "Geneva"]
    assert [r.by for r in summary.rebuttals] == ["Ethiopia", "Sudan"]
    assert_grounded(summary, ARTICLE)


def test_one_actors_repeated_warning_is_one_item_with_both_quotes() -> None:
    summary, _ = summarized()
    assert len(summary.warnings) == 1
    quotes = [e.quote for e in summary.warnings[0].evidence]
    assert quotes == [WARNING, REPEAT]
    assert summary.warnings[0].by == "Karim Nassar", "the first finding's fields are kept"


def test_rebuttal_links_follow_their_targets_to_the_merged_ids() -> None:
    summary, fake = summarized()
    local = [chunk_text(b) for b in fake.requests if REJECTION in chunk_text(b)]
    assert all(NAIROBI not in text for text in local), "Geneva must be v1 in its chunks"
    geneva = next(v for v in summary.venues if v.place == "Geneva")
    assert geneva.id == "v2"
    links = {r.by: r.answers_id for r in summary.rebuttals}
    assert links["Ethiopia"] == "v2", "the chunk's v1 was not re-pointed to the merged id"
    assert links["Sudan"] == "v2", "a rebuttal of an earlier chunk's venue was not linked"
    sudan = [chunk_text(b) for b in fake.requests if DISMISSAL in chunk_text(b)]
    assert sudan and all(GENEVA not in text for text in sudan), "Sudan's chunk sees Geneva"


def test_actors_are_unified_by_canonical_name_and_alias() -> None:
    summary, _ = summarized()
    names = [a.canonical for a in summary.actors]
    assert names == ["Karim Nassar", "Ethiopia"], names
    nassar = summary.actors[0]
    assert (nassar.country, nassar.role) == ("EGY", "Foreign Minister"), "aliases not combined"


def test_meta_adds_up_the_chunks() -> None:
    summary, fake = summarized()
    meta = summary.meta
    assert meta.strategy == "single" and meta.chunks == fake.calls
    assert meta.attempts == fake.calls and len(meta.attempt_log) == fake.calls
    assert [a.number for a in meta.attempt_log] == list(range(1, fake.calls + 1))
    assert meta.usage.total_tokens == fake.billed_tokens
    assert not meta.cache_hit and meta.latency_s > 0


def test_summary_text_is_the_first_chunks_or_built_from_the_merged_items() -> None:
    summary, _ = summarized()
    assert summary.summary == "The talks stalled." and summary.meta.summary_from == "model"
    invented, _ = summarized(summary="Officials from Atlantis argued.")
    assert invented.meta.summary_from == "items"
    assert "Atlantis" not in invented.summary and "Geneva" in invented.summary


# merge alone, on summaries assembled from drafts

TALKS = (
    "Leaders met on Monday to discuss a ceasefire. "
    "Putin proposed Moscow and Erdogan offered Istanbul for the talks. "
    "Both men said they favour a ceasefire. "
    "Aides said a summit could follow within weeks."
)


def part(index: int, start: int, end: int, **draft: Any) -> tuple[Chunk, ArticleSummary]:
    chunk = Chunk(index, start, end, TALKS[start:end])
    meta = Meta(model="m", backend="openai", prompt="p@v1")
    return chunk, assemble(
        DraftSummary.model_validate({"summary": "Talks.", **draft}),
        chunk.text,
        policy="drop",
        meta=meta,
    )


def venue(place: str, by: str, quote: str) -> dict[str, Any]:
    return {
        "place": place,
        "proposed_by": by,
        "status": "proposed",
        "meeting": "talks",
        "evidence": [{"quote": quote, "attribution": "narration"}],
    }


SENTENCE = "Putin proposed Moscow and Erdogan offered Istanbul for the talks."


def test_two_venues_in_one_overlapping_sentence_stay_apart() -> None:
    cut = TALKS.index("Both")
    second = TALKS.index("Putin")
    venues = [venue("Moscow", "Putin", SENTENCE), venue("Istanbul", "Erdogan", SENTENCE)]
    merged = merge(
        TALKS,
        [part(0, 0, cut, venues=venues), part(1, second, len(TALKS), venues=venues[::-1])],
        latency_s=0.1,
    )
    assert [(v.id, v.place) for v in merged.venues] == [("v1", "Moscow"), ("v2", "Istanbul")]
    assert all(len(v.evidence) == 1 for v in merged.venues)
    assert_grounded(merged, TALKS)


def test_passages_addressed_to_a_model_are_mapped_and_joined_across_a_cut() -> None:
    def flagged(found: tuple[Chunk, ArticleSummary], *spans: tuple[int, int]) -> Any:
        chunk, summary = found
        meta = summary.meta.model_copy(update={"instruction_spans": spans})
        return chunk, summary.model_copy(update={"meta": meta})

    merged = merge(
        TALKS,
        [flagged(part(0, 0, 60), (50, 60)), flagged(part(1, 40, len(TALKS)), (0, 25), (90, 95))],
        latency_s=0,
    )
    assert merged.meta.instruction_spans == ((40, 65), (130, 135))


def test_items_one_chunk_told_apart_stay_apart() -> None:
    position = {
        "holder": "Putin",
        "issue": "a ceasefire",
        "stance": "favours it",
        "polarity": "favor",
        "evidence": [
            {"quote": "Both men said they favour a ceasefire.", "attribution": "indirect"}
        ],
    }
    aides = {
        **position,
        "evidence": [
            {"quote": "Aides said a summit could follow within weeks.", "attribution": "indirect"}
        ],
    }
    merged = merge(TALKS, [part(0, 0, len(TALKS), positions=[position, aides])], latency_s=0.0)
    assert len(merged.positions) == 2


def test_actors_of_another_kind_are_not_unified_by_a_shared_word() -> None:
    actors = [
        {"name": "Turkey", "canonical": "Turkey", "kind": "country", "country": "TUR"},
        {"name": "Turkey's foreign ministry", "canonical": "Turkish Foreign Ministry",
         "kind": "government"},
        {"name": "Erdogan", "canonical": "Recep Tayyip Erdogan", "kind": "person"},
    ]  # fmt: skip
    later = [{"name": "President Erdogan", "canonical": "Erdogan", "kind": "person"}]
    merged = merge(
        TALKS, [part(0, 0, 50, actors=actors), part(1, 40, len(TALKS), actors=later)], latency_s=0
    )
    assert [a.canonical for a in merged.actors] == [
        "Turkey",
        "Turkish Foreign Ministry",
        "Recep Tayyip Erdogan",
    ]


def test_a_chunk_that_is_not_a_slice_of_the_article_is_refused() -> None:
    chunk, summary = part(0, 0, 40)
    moved = Chunk(0, 1, 41, chunk.text)
    with pytest.raises(ValueError, match=r"chunk 0 is not article\[1:41\]"):
        merge(TALKS, [(moved, summary)], latency_s=0)
