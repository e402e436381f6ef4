"""Batches: many articles on one event loop, in order or as they finish, sync and async.

Against `FakeLLMServer` on loopback where concurrency, cancellation or connections matter,
in-process `FakeLLM` elsewhere.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psutil
import pytest

from summarize import ArticleSummary, EmptyInputError, RequestRejectedError, Summarizer
from summarize.batch import SummaryBatch, as_completed
from summarize.testing import FakeLLM, FakeLLMServer, HTTPFailure, Reply

from .test_pipeline import good_draft

GOOD = good_draft()


def article_number(body: dict[str, Any]) -> int:
    """The N of the "(article N)" line the tests append to the seed article."""
    found = re.search(r"\(article (\d+)\)", str(body["messages"]))
    assert found, "the request does not carry the article"
    return int(found.group(1))


def articles(seed: str, n: int) -> list[str]:
    return [f"{seed}\n\n(article {i})" for i in range(n)]


class Peak:
    """A reply that takes `seconds` and notes how many requests were in flight at most."""

    def __init__(self, seconds: float, reply: Reply = GOOD) -> None:
        self.seconds = seconds
        self.reply = reply
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.seconds)
        with self._lock:
            self.active -= 1
        return self.reply


def server_summarizer(server: FakeLLMServer, **options: Any) -> Summarizer:
    return Summarizer("m", base_url=server.base_url, api_key="k", cache=False, **options)


def test_results_are_in_input_order_with_each_failure_in_its_place(seed_article: str) -> None:
    def reply(body: dict[str, Any]) -> Reply:
        time.sleep(0.05 * (4 - article_number(body)))  # later articles finish first
        return HTTPFailure(400, "no") if article_number(body) == 2 else GOOD

    texts = articles(seed_article, 4)
    texts.insert(1, "   ")
    with FakeLLMServer(FakeLLM(reply)) as server:
        batch = server_summarizer(server).summarize_many(texts, concurrency=5, ids="abcde")
    assert isinstance(batch, SummaryBatch) and [e.id for e in batch] == list("abcde")
    kinds = [type(e.summary or e.error).__name__ for e in batch]
    assert kinds == [
        "ArticleSummary",
        "EmptyInputError",
        "ArticleSummary",
        "RequestRejectedError",
        "ArticleSummary",
    ], "a result is out of place, or one failure lost the others"
    assert isinstance(batch.results[3], RequestRejectedError)
    assert batch.elapsed_s is not None and batch.elapsed_s > 0


def test_as_completed_yields_each_result_as_it_finishes(seed_article: str) -> None:
    def reply(body: dict[str, Any]) -> Reply:
        time.sleep(0.15 * (2 - article_number(body)))
        return GOOD

    with FakeLLMServer(FakeLLM(reply)) as server:
        summarizer = server_summarizer(server)
        order = [i for i, _ in summarizer.summarize_as_completed(articles(seed_article, 3))]
    assert order == [2, 1, 0], f"results came in input order, not as they finished: {order}"


async def test_async_variants_take_an_async_iterable(seed_article: str) -> None:
    async def texts() -> AsyncIterator[str]:
        for text in articles(seed_article, 3):
            await asyncio.sleep(0)
            yield text

    async with FakeLLM(GOOD).summarizer() as summarizer:
        batch = await summarizer.asummarize_many(texts(), concurrency=2)
        seen = sorted([i async for i, _ in summarizer.asummarize_as_completed(texts())])
    assert len(batch.summaries) == 3 and seen == [0, 1, 2]


def test_concurrency_is_what_was_asked(seed_article: str) -> None:
    peak = Peak(0.2)
    with FakeLLMServer(FakeLLM(peak)) as server:
        batch = server_summarizer(server).summarize_many(articles(seed_article, 9), concurrency=3)
    assert len(batch.summaries) == 9
    assert peak.peak == 3, f"{peak.peak} requests in flight at once, asked for 3"


async def test_the_sync_api_works_where_an_event_loop_already_runs(seed_article: str) -> None:
    asyncio.get_running_loop()  # as in a Jupyter cell
    with FakeLLM(GOOD).summarizer() as summarizer:
        batch = summarizer.summarize_many(articles(seed_article, 2))
        streamed = list(summarizer.summarize_as_completed(articles(seed_article, 2)))
    assert len(batch.summaries) == 2 and len(streamed) == 2


class Counted:
    """A generator of 100,000 articles that counts how many were taken from it."""

    def __init__(self, seed: str, n: int = 100_000) -> None:
        self.seed = seed
        self.n = n
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        for i in range(self.n):
            self.taken += 1
            yield f"{self.seed}\n\n(article {i})"


def test_inputs_are_read_only_as_results_are_delivered(seed_article: str) -> None:
    source = Counted(seed_article)
    summarizer = FakeLLM(GOOD).summarizer()
    ahead = []
    for delivered, _ in enumerate(summarizer.summarize_as_completed(source, concurrency=4), 1):
        ahead.append(source.taken - delivered)
        if delivered == 40:
            break
    assert max(ahead) <= 4, f"the generator was read {max(ahead)} articles ahead of the results"
    assert source.taken <= 44, f"{source.taken} of 100,000 inputs were read for 40 results"


async def test_async_inputs_are_read_only_as_results_are_delivered(seed_article: str) -> None:
    source = Counted(seed_article)
    summarizer = FakeLLM(GOOD).summarizer()
    delivered = 0
    async for _ in summarizer.asummarize_as_completed(iter(source), concurrency=4):
        delivered += 1
        assert source.taken - delivered <= 4, "the inputs were read ahead of the results"
        if delivered == 40:
            break
    assert source.taken <= 44


def open_connections(server: FakeLLMServer) -> list[Any]:
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    return [
        c
        for c in psutil.Process().net_connections("tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    ]


async def test_cancelling_an_async_batch_leaves_no_task_and_no_connection(
    seed_article: str,
) -> None:
    with FakeLLMServer(FakeLLM(GOOD, latency=3.0)) as server:
        summarizer = server_summarizer(server)
        batch = asyncio.create_task(
            summarizer.asummarize_many(Counted(seed_article), concurrency=4)
        )
        while server.fake.calls < 4:
            await asyncio.sleep(0.02)
        assert len(open_connections(server)) == 4
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        assert asyncio.all_tasks() == {asyncio.current_task()}, "a task is still running"
        assert open_connections(server) == [], "a cancelled request kept its connection open"
        assert server.fake.calls == 4, "the batch went on after it was cancelled"


def test_leaving_a_sync_stream_early_cancels_what_is_in_flight(seed_article: str) -> None:
    def reply(body: dict[str, Any]) -> Reply:
        time.sleep(0 if article_number(body) == 0 else 3.0)
        return GOOD

    with FakeLLMServer(FakeLLM(reply)) as server:
        stream = server_summarizer(server).summarize_as_completed(
            articles(seed_article, 50), concurrency=3
        )
        started = time.monotonic()
        for _ in stream:
            break
        stream.close()
        assert time.monotonic() - started < 2.5, "closing waited for the articles in flight"
        assert open_connections(server) == []
        assert not [t for t in threading.enumerate() if t.name == "summarize-batch"]
        assert server.fake.calls == 3, "articles were started after the consumer left"


def test_any_exception_of_one_article_is_its_result() -> None:
    async def summarize(n: int) -> ArticleSummary:
        if n == 1:
            raise RuntimeError("a bug in one article")
        raise EmptyInputError("empty")

    async def collect() -> list[tuple[int, Any]]:
        return [pair async for pair in as_completed(summarize, range(3), concurrency=2)]

    results = dict(asyncio.run(collect()))
    assert isinstance(results[1], RuntimeError) and isinstance(results[2], EmptyInputError)


def test_concurrency_below_one_is_refused(seed_article: str) -> None:
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        FakeLLM(GOOD).summarizer().summarize_many([seed_article], concurrency=0)


def test_progress_bar_counts_done_failed_and_cached(
    seed_article: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summarizer = FakeLLM(GOOD).summarizer(cache="memory")
    summarizer.summarize(seed_article)
    summarizer.summarize_many([seed_article, "", seed_article + " x"], progress=True)
    bar = capsys.readouterr().err.rstrip().rsplit("\r", 1)[-1]
    assert "3/3" in bar and "failed=1" in bar and "cached=1" in bar, f"bar: {bar!r}"


def test_a_batch_report_adds_up_its_articles(seed_article: str) -> None:
    summarizer = FakeLLM(GOOD).summarizer(cache="memory", model="gpt-4o-mini")
    batch = summarizer.summarize_many([seed_article, seed_article + " x", seed_article, ""])
    report = batch.report()
    assert (report.articles, report.summarized, report.failed) == (4, 3, 1)
    assert report.errors == {"EmptyInputError": 1}
    fresh = [s for s in batch.summaries if not s.meta.cache_hit]
    assert report.total("tokens_in") == sum(s.meta.usage.prompt_tokens for s in fresh)
    assert report.cost_usd is not None and report.cost_usd > 0
