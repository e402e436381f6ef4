"""Long articles: token budgets, cuts where sentences start, and chunks through the cache.

`LONG` shrinks the context window so that a few kilobytes need several chunks; the model is
scripted (`FakeLLM` answers each chunk with the scripted items whose quotes it contains), so
these tests check what the pipeline does with chunks. Merging is tested in test_merge.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import tiktoken

from summarize import InputTooLargeError, RequestRejectedError, Settings, Summarizer
from summarize import chunking as chunking_module
from summarize.chunking import (
    BYTES_PER_TOKEN,
    DEFAULT_CONTEXT,
    Chunk,
    context_window,
    estimate_tokens,
    split_article,
    token_counter,
)
from summarize.errors import ConfigError
from summarize.pipeline import CHUNKS_IN_FLIGHT
from summarize.sentences import split_sentences
from summarize.testing import FakeLLM, FakeLLMServer, HTTPFailure, Reply, Responder

GOLD = Path(__file__).resolve().parent.parent / "gold"

# A context window small enough to need several chunks for the article below.
LONG: dict[str, Any] = {"context_window": 3000, "max_tokens": 500}

WARNING = (
    "Egypt's Foreign Minister Karim Nassar warned on Tuesday that Egypt would take every "
    "measure to protect its water if the filling went ahead without a deal."
)
NAIROBI = "Kenya has offered to host the next round of talks in Nairobi."
GENEVA = "Nassar proposed Geneva as the venue for the next round of talks on the dam."
REJECTION = "Ethiopia rejected the Geneva proposal on Wednesday: African talks belong in Africa."
REPEAT = "Nassar repeated on Thursday that Egypt would take every measure to protect its water."
DISMISSAL = "Sudan dismissed the Geneva proposal on Friday as a distraction from the talks."


def filler(n: int) -> str:
    return (
        f"Engineers at gauging station {n} measured the river at {n + 3} metres on day {n}. "
        f"The reading from station {n} was logged and sent to both capitals within the hour. "
        f"Farmers living near station {n} said their canals had been dry for weeks."
    )


ARTICLE = "\n\n".join(
    [
        "Water talks stall as deadline nears",
        f"CAIRO, May 2 - {WARNING} {NAIROBI}",
        *(filler(n) for n in range(1, 7)),
        f"{GENEVA} {REJECTION}",
        *(filler(n) for n in range(7, 11)),
        REPEAT,
        *(filler(n) for n in range(11, 15)),
        DISMISSAL,
        *(filler(n) for n in range(15, 19)),
    ]
)


def item(category: str, quote: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    return category, quote, fields


SCRIPT = [
    item("warnings", WARNING, by="Karim Nassar", target="Ethiopia", kind="threat",
         consequence="every measure to protect its water", condition="if the filling goes ahead"),
    item("venues", GENEVA, place="Geneva", proposed_by="Karim Nassar", status="proposed",
         meeting="the next round of talks"),
    item("venues", NAIROBI, place="Nairobi", proposed_by="Kenya", status="offered_to_host",
         meeting="the next round of talks"),
    item("rebuttals", REJECTION, by="Ethiopia", kind="reject_proposal",
         content="African talks belong in Africa"),
    item("rebuttals", DISMISSAL, by="Sudan", kind="dismiss",
         content="a distraction from the talks"),
    item("warnings", REPEAT, by="Nassar", target="Ethiopia", kind="threat",
         consequence="every measure to protect its water"),
]  # fmt: skip
ACTORS = {
    WARNING: {"name": "Karim Nassar", "canonical": "Karim Nassar", "kind": "person",
              "country": "EGY"},
    REPEAT: {"name": "Nassar", "canonical": "Nassar", "kind": "person",
             "role": "Foreign Minister"},
    REJECTION: {"name": "Ethiopia", "canonical": "Ethiopia", "kind": "country", "country": "ETH"},
}  # fmt: skip


def chunk_text(body: dict[str, Any]) -> str:
    """The user message that carries the (chunk of the) article."""
    return str(next(m["content"] for m in body["messages"] if m["role"] == "user"))


def scripted(
    script: list[tuple[str, str, dict[str, Any]]] = SCRIPT, summary: str = "The talks stalled."
) -> Responder:
    """Answers each request with the scripted items whose quotes its chunk contains.

    A rebuttal answers the Geneva venue by its id in the chunk when the chunk has it, else
    by description (as a model that cannot see it would).
    """

    def answer(body: dict[str, Any]) -> Reply:
        text = chunk_text(body)
        draft: dict[str, Any] = {
            "summary": summary,
            "actors": [actor for quote, actor in ACTORS.items() if quote in text],
            "warnings": [],
            "positions": [],
            "venues": [],
            "rebuttals": [],
        }
        for category, quote, fields in script:
            if quote in text:
                evidence = [{"quote": quote, "attribution": "narration"}]
                draft[category].append({**fields, "evidence": evidence})
        places = [v["place"] for v in draft["venues"]]
        for rebuttal in draft["rebuttals"]:
            geneva = f"v{places.index('Geneva') + 1}" if "Geneva" in places else None
            rebuttal["answers"] = geneva or "Geneva for the next round of talks"
        return draft

    return answer


def test_the_article_needs_several_chunks_under_the_test_budget() -> None:
    summarizer = FakeLLM(scripted()).summarizer(**LONG)
    chunks = summarizer.chunker.split(ARTICLE)
    assert 4 <= len(chunks) <= 12, f"{len(chunks)} chunks: adjust LONG or the article"
    assert "\n\n" in ARTICLE and len(ARTICLE) < 10_000


def test_an_article_that_fits_is_sent_whole_as_before() -> None:
    fake = FakeLLM(scripted())
    summarizer = fake.summarizer()
    assert summarizer.chunker.split(ARTICLE) == (Chunk(0, 0, len(ARTICLE), ARTICLE),)
    summary = summarizer.summarize(ARTICLE)
    assert fake.calls == 1 and summary.meta.strategy == "single" and summary.meta.chunks == 1
    assert ARTICLE in chunk_text(fake.requests[0])


def check_chunks(article: str, chunks: tuple[Chunk, ...], limit: int) -> None:
    assert chunks[0].start == 0 and chunks[-1].end == len(article), "article not covered"
    for chunk in chunks:
        assert article[chunk.start : chunk.end] == chunk.text, f"chunk {chunk.index} not a slice"
        assert estimate_tokens(chunk.text) <= limit, f"chunk {chunk.index} over the budget"
    for before, after in pairwise(chunks):
        assert before.start < after.start <= before.end, "chunks skip text or do not advance"


def test_chunks_are_exact_slices_within_budget_that_cover_the_article() -> None:
    for limit in (150, 300, 700):
        check_chunks(ARTICLE, split_article(ARTICLE, limit, estimate_tokens), limit)


def test_no_sentence_straddles_a_cut() -> None:
    chunks = split_article(ARTICLE, 300, estimate_tokens)
    starts = {s.start for s in split_sentences(ARTICLE)}
    assert all(c.start in starts for c in chunks[1:]), "a chunk starts inside a sentence"
    for sentence in split_sentences(ARTICLE):
        assert any(c.start <= sentence.start and sentence.end <= c.end for c in chunks), (
            f"no chunk holds the whole sentence {sentence.text!r}"
        )


def test_articles_cut_in_several_threads_at_once_are_cut_alike() -> None:
    # pysbd keeps the text it splits on the segmenter: a shared one mixed threads' texts up.
    articles = [ARTICLE, *(p.read_text(encoding="utf-8") for p in sorted(GOLD.glob("*.txt")))]
    alone = [split_article(a, 300, estimate_tokens) for a in articles]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda a: split_article(a, 300, estimate_tokens), articles * 2))
    assert together == alone * 2, "concurrent splits cut articles elsewhere"


def test_cuts_fall_where_paragraphs_start_when_one_is_near() -> None:
    chunks = split_article(ARTICLE, 300, estimate_tokens, overlap=0)
    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert chunk.text.endswith("\n\n"), f"chunk {chunk.index} ends mid-paragraph"


def test_each_chunk_repeats_the_last_sentences_of_the_one_before() -> None:
    for overlap in (1, 2):
        chunks = split_article(ARTICLE, 300, estimate_tokens, overlap=overlap)
        for before, after in pairwise(chunks):
            shared = [
                s.text
                for s in split_sentences(ARTICLE)
                if after.start <= s.start and s.end <= before.end
            ]
            assert len(shared) == overlap, f"chunk {after.index} repeats {shared}"


def test_a_sentence_longer_than_the_budget_is_cut_at_spaces() -> None:
    words = " ".join(f"word{n}" for n in range(2000))  # no sentence end for 14,000 characters
    article = f"A first short sentence opens the text. {words}. A closing sentence ends it."
    chunks = split_article(article, 400, estimate_tokens)
    check_chunks(article, chunks, 400)
    for chunk in chunks[1:]:
        assert chunk.text[0] != " " and article[chunk.start - 1] == " ", "cut inside a word"


def test_budget_leaves_room_for_the_prompt_the_schema_and_the_answer() -> None:
    summarizer = FakeLLM(scripted()).summarizer(**LONG)
    count, limit = summarizer.chunker.budget()
    assert count is estimate_tokens, "an unknown endpoint model is estimated"
    ask = next(summarizer.strategy.plan(""))
    prompt = sum(count(m["content"]) for m in ask.messages)
    schema = count(json.dumps(ask.response_model.model_json_schema()))
    assert limit == int((3000 - prompt - schema - 500 - 256) / 1.15)
    wider = FakeLLM(scripted()).summarizer(context_window=6000, max_tokens=500)
    assert wider.chunker.budget()[1] == int((6000 - prompt - schema - 500 - 256) / 1.15)


def test_a_window_too_small_for_the_prompt_and_answer_is_a_config_error() -> None:
    fake = FakeLLM(scripted())
    with pytest.raises(ConfigError, match=r"context window of 2000 tokens.*context_window"):
        fake.summarizer(context_window=2000).summarize(ARTICLE)
    assert fake.calls == 0


def test_context_window_known_for_openai_models_set_or_assumed_for_others() -> None:
    openai = Settings(model="gpt-4o-mini", api_key="k")
    assert context_window(openai) == 128_000
    assert context_window(Settings(model="gpt-4", api_key="k")) == 8_192
    assert context_window(openai.replace(context_window=32_000)) == 32_000
    assert context_window(Settings(model="local", n_ctx=4096)) == 4096
    other = Settings(model="qwen2.5:7b", base_url="http://127.0.0.1:11434/v1", api_key="x")
    assert context_window(other) == DEFAULT_CONTEXT


def byte_encoding() -> tiktoken.Encoding:
    """A tiktoken encoding built offline: one token per byte."""
    return tiktoken.Encoding(
        name="bytes",
        pat_str=r"\S+|\s+",
        mergeable_ranks={bytes([b]): b for b in range(256)},
        special_tokens={},
    )


@pytest.fixture
def offline_tiktoken() -> Iterator[list[str]]:
    """Records the encodings asked for; each test's counters are made afresh."""
    asked: list[str] = []
    chunking_module._tiktoken_counter.cache_clear()
    yield asked
    chunking_module._tiktoken_counter.cache_clear()


def test_openai_models_are_counted_with_tiktoken(
    monkeypatch: pytest.MonkeyPatch, offline_tiktoken: list[str]
) -> None:
    def get_encoding(name: str) -> tiktoken.Encoding:
        offline_tiktoken.append(name)
        return byte_encoding()

    monkeypatch.setattr(tiktoken, "get_encoding", get_encoding)
    count = token_counter(Settings(model="gpt-4o-mini", api_key="k"), in_process=False)
    assert count("héllo") == 6, "not tiktoken's count (one token per byte here)"
    token_counter(Settings(model="gpt-9-preview", api_key="k"), in_process=False)
    assert offline_tiktoken == ["o200k_base", "o200k_base"], "unknown OpenAI model: o200k_base"
    proxy = Settings(model="gpt-4o-mini", base_url="http://127.0.0.1:8080/v1", api_key="k")
    assert token_counter(proxy, in_process=False) is estimate_tokens, "not OpenAI's tokenizer"


def test_offline_without_encoding_files_tokens_are_estimated(
    monkeypatch: pytest.MonkeyPatch, offline_tiktoken: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(name: str) -> tiktoken.Encoding:
        offline_tiktoken.append(name)
        raise OSError("Failed to resolve 'openaipublic.blob.core.windows.net'")

    monkeypatch.setattr(tiktoken, "get_encoding", unreachable)
    with caplog.at_level(logging.WARNING, logger="summarize"):
        count = token_counter(Settings(model="gpt-4", api_key="k"), in_process=False)
    assert count is estimate_tokens
    assert offline_tiktoken == ["cl100k_base", "o200k_base"], "fallbacks not tried in order"
    assert any("TIKTOKEN_CACHE_DIR" in r.getMessage() for r in caplog.records)


def test_a_model_file_llama_cpp_cannot_read_is_counted_by_estimate(tmp_path: Path) -> None:
    """The transport, not the chunker, reports a broken model (as RequestRejectedError)."""
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file" * 100)
    settings = Settings(model=f"local:{bad}")
    assert token_counter(settings, in_process=True) is estimate_tokens


def test_the_estimate_over_counts_a_real_tokenizer_on_the_gold_set() -> None:
    pytest.importorskip("llama_cpp")
    from summarize.backends.local import token_counter as local_counter

    smollm2 = local_counter("smollm2")  # its vocabulary only, no weights
    assert smollm2("Hello world") == 2
    for path in sorted(GOLD.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert estimate_tokens(text) >= smollm2(text), f"{path.name}: estimate under-counts"
    assert estimate_tokens("abcdefgh") == math.ceil(8 / BYTES_PER_TOKEN)
    settings = Settings(model="local:smollm2", n_ctx=2048)
    assert token_counter(settings, in_process=True) == smollm2


def test_an_article_over_max_input_chars_is_refused_before_any_call() -> None:
    assert Settings().max_input_chars == 1_000_000
    fake = FakeLLM(scripted())
    with pytest.raises(InputTooLargeError):
        fake.summarizer(**LONG).summarize("word " * 200_001)
    with pytest.raises(InputTooLargeError):
        fake.summarizer(**LONG, max_input_chars=len(ARTICLE) - 1).summarize(ARTICLE)
    assert fake.calls == 0, "a request was sent for an article over the limit"


def test_each_chunk_is_one_request_carrying_only_its_own_text() -> None:
    fake = FakeLLM(scripted())
    summarizer = fake.summarizer(**LONG)
    chunks = summarizer.chunker.split(ARTICLE)
    summary = summarizer.summarize(ARTICLE)
    assert fake.calls == len(chunks)
    for chunk, body in zip(chunks, fake.requests, strict=True):
        assert chunk.text.strip() in chunk_text(body)
        assert ARTICLE not in chunk_text(body)
    assert summary.meta.strategy == "single" and summary.meta.chunks == len(chunks)


def test_a_crashed_run_resumes_with_the_chunks_it_had_not_finished(tmp_path: Path) -> None:
    cache = f"sqlite:///{tmp_path / 'chunks.db'}"
    answer = scripted()
    crashing = FakeLLM(answer, answer, HTTPFailure(400, "simulated crash"))
    summarizer = crashing.summarizer(cache=cache, **LONG)
    chunks = summarizer.chunker.split(ARTICLE)
    with pytest.raises(RequestRejectedError):
        summarizer.summarize(ARTICLE)
    assert crashing.calls == 3, "the sync path goes on after a chunk failed"

    resumed = FakeLLM(scripted())
    summary = resumed.summarizer(cache=cache, **LONG).summarize(ARTICLE)
    sent = [chunk_text(body) for body in resumed.requests]
    assert resumed.calls == len(chunks) - 2, "finished chunks were asked for again"
    assert [c.text.strip() in s for c, s in zip(chunks[2:], sent, strict=True)] == [True] * len(
        sent
    )
    fresh = FakeLLM(scripted()).summarizer(**LONG).summarize(ARTICLE)
    assert summary.model_dump(exclude={"meta"}) == fresh.model_dump(exclude={"meta"})
    assert not summary.meta.cache_hit and summary.meta.attempts == len(chunks) - 2

    again = FakeLLM(scripted())
    hit = again.summarizer(cache=cache, **LONG).summarize(ARTICLE)
    assert again.calls == 0 and hit.meta.cache_hit and hit.meta.attempts == 0


async def test_async_chunks_run_concurrently_and_match_the_sync_summary() -> None:
    with FakeLLMServer(FakeLLM(scripted(), latency=0.2)) as server:
        summarizer = Summarizer("m", base_url=server.base_url, api_key="k", cache=False, **LONG)
        chunks = summarizer.chunker.split(ARTICLE)
        summary = await summarizer.asummarize(ARTICLE)
        await summarizer.aclose()
    arrived = server.fake.received_at
    assert server.fake.calls == len(chunks)
    in_flight = sum(t < min(arrived) + 0.2 for t in arrived)
    assert in_flight == min(CHUNKS_IN_FLIGHT, len(chunks)), f"{in_flight} chunks in flight"
    synced = FakeLLM(scripted()).summarizer(**LONG).summarize(ARTICLE)
    assert summary.model_dump(exclude={"meta"}) == synced.model_dump(exclude={"meta"})


async def test_async_failure_is_raised_after_the_other_chunks_are_cached() -> None:
    answer = scripted()
    fake = FakeLLM(answer, HTTPFailure(400, "one chunk fails"), answer)
    summarizer = fake.summarizer(cache="memory", **LONG)
    chunks = summarizer.chunker.split(ARTICLE)
    with pytest.raises(RequestRejectedError):
        await summarizer.asummarize(ARTICLE)
    assert fake.calls == len(chunks), "other chunks were not finished"
    summary = await summarizer.asummarize(ARTICLE)
    assert fake.calls == len(chunks) + 1, "only the failed chunk is asked again"
    assert summary.warnings
