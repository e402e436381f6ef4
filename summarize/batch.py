"""Many articles at once: the concurrent engine, and `SummaryBatch`, what a batch returns.

`Summarizer.summarize_many` / ``asummarize_many`` return a `SummaryBatch` (one entry per
article, in input order: its summary or the error that stopped it); the ``*_as_completed``
variants yield ``(index, result)`` as results finish. Both run on `as_completed`: at most
``concurrency`` articles in flight on one event loop, inputs pulled only as slots free up (a
generator of 100,000 texts is never materialized), and every task cancelled and awaited when
the batch is cancelled or its consumer stops. Sync callers get the same engine on an event
loop in one helper thread (`LoopThread`), so it also works where a loop already runs (Jupyter).

A `SummaryBatch` can also be built from what ``asyncio.gather(..., return_exceptions=True)``
returns::

    batch = SummaryBatch(results, ids=names, articles=articles)
    batch                      # in a notebook: one row per article
    batch.to_dataframe()       # one row per item, with an article_id column
    batch.report()             # tokens, attempts, cache hits, latency, cost (`summarize.report`)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from summarize.schema import ArticleSummary

if TYPE_CHECKING:
    import pandas as pd

    from summarize.report import BatchReport

__all__ = ["BatchEntry", "BatchProgress", "LoopThread", "Result", "SummaryBatch", "as_completed"]

#: One article's outcome: its summary, or the exception that stopped it.
Result = ArticleSummary | Exception
T = TypeVar("T")
R = TypeVar("R")


async def as_completed(
    summarize: Callable[[T], Awaitable[ArticleSummary]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int,
    on_result: Callable[[Result], None] | None = None,
) -> AsyncGenerator[tuple[int, Result], None]:
    """Yield ``(index, result)`` for each item as it finishes, at most `concurrency` at a time.

    An item that fails yields its exception; nothing raises for a single item (an error
    raised by `items` itself ends the batch). Items are pulled only when a slot is free. When
    the consumer stops or the task is cancelled, the items in flight are cancelled and
    awaited before this returns.

    Raises:
        ValueError: `concurrency` is below 1.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    source = _aiter(items)
    running: dict[asyncio.Task[Result], int] = {}
    pulled = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < concurrency:
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    exhausted = True
                    break
                running[asyncio.create_task(_settled(summarize, item))] = pulled
                pulled += 1
            if not running:
                return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=running.__getitem__):
                result = task.result()
                if on_result is not None:
                    on_result(result)
                yield running.pop(task), result
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await source.aclose()


async def _settled(summarize: Callable[[T], Awaitable[ArticleSummary]], item: T) -> Result:
    try:
        return await summarize(item)
    except Exception as exc:  # one article's failure is its result, not the batch's
        return exc


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncGenerator[T, None]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class BatchProgress:
    """A tqdm bar on stderr counting finished articles, with failed and cached counts.

    Args:
        total: How many articles, when known.
    """

    def __init__(self, total: int | None = None) -> None:
        from tqdm import tqdm

        self.failed = 0
        self.cached = 0
        self._bar = tqdm(total=total, unit="article", desc="summarize", dynamic_ncols=True)

    def __call__(self, result: Result) -> None:
        """Count one finished article."""
        if isinstance(result, ArticleSummary):
            self.cached += result.meta.cache_hit
        else:
            self.failed += 1
        self._bar.set_postfix(failed=self.failed, cached=self.cached, refresh=False)
        self._bar.update()

    def close(self) -> None:
        """Leave the bar at its final count."""
        self._bar.close()


class LoopThread:
    """An event loop in one helper thread, for sync code to run coroutines on.

    Use as a context manager; `run` blocks until a coroutine is done. On KeyboardInterrupt
    (or any exception) in the waiting thread, the coroutine's task is cancelled and awaited
    before the exception goes on, so nothing is left running.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="summarize-batch", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run `coro` on the helper loop and return its result."""
        done: concurrent.futures.Future[R] = concurrent.futures.Future()
        started = threading.Event()
        tasks: list[asyncio.Task[R]] = []

        def start() -> None:
            task = self._loop.create_task(coro)
            task.add_done_callback(lambda t: _copy_outcome(t, done))
            tasks.append(task)
            started.set()

        self._loop.call_soon_threadsafe(start)
        try:
            return done.result()
        except BaseException:
            started.wait()
            self._loop.call_soon_threadsafe(tasks[0].cancel)
            concurrent.futures.wait([done])  # let it unwind: tasks cancelled, clients closed
            raise

    def iterate(self, stream: AsyncGenerator[R, None]) -> Iterator[R]:
        """Iterate `stream` on the helper loop; closing this iterator closes `stream`."""
        try:
            while got := self.run(_step(stream)):
                yield got[0]
        finally:
            self.run(stream.aclose())

    def close(self) -> None:
        """Finish async generators and the executor, stop the loop and join the thread."""
        if self._loop.is_closed():
            return
        try:
            self.run(self._loop.shutdown_asyncgens())
            self.run(self._loop.shutdown_default_executor())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _step(stream: AsyncGenerator[R, None]) -> tuple[R] | tuple[()]:
    """``(next item,)`` of `stream`, or ``()`` at its end."""
    try:
        return (await anext(stream),)
    except StopAsyncIteration:
        return ()


def _copy_outcome(task: asyncio.Task[R], done: concurrent.futures.Future[R]) -> None:
    if task.cancelled():  # as an outcome: a cancelled concurrent Future never wakes wait()
        done.set_exception(concurrent.futures.CancelledError())
    elif (error := task.exception()) is not None:
        done.set_exception(error)
    else:
        done.set_result(task.result())


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One article of a batch: its summary, or the error that stopped it.

    Attributes:
        id: The article's id (a file name, a URL, or its position).
        summary: The summary, or None when it failed.
        error: Why it failed, or None.
        article: The text, when known (the detailed view highlights its spans).
    """

    id: str
    summary: ArticleSummary | None = None
    error: BaseException | None = None
    article: str | None = None


class SummaryBatch(Sequence[BatchEntry]):
    """Summaries and errors of several articles, shown as a table in notebooks.

    Args:
        results: One `ArticleSummary` or exception per article, in order.
        ids: The articles' ids; default their positions ("0", "1", ...).
        articles: The texts, in the same order, when they should be shown.
        elapsed_s: Wall time of the whole batch, when known (the report's throughput).

    Raises:
        ValueError: `ids` or `articles` do not have one entry per result.
        TypeError: A result is neither a summary nor an exception.
    """

    def __init__(
        self,
        results: Iterable[ArticleSummary | BaseException],
        *,
        ids: Iterable[object] | None = None,
        articles: Iterable[str] | None = None,
        elapsed_s: float | None = None,
    ) -> None:
        results = list(results)
        self.elapsed_s = elapsed_s
        names = [str(i) for i in ids] if ids is not None else [str(n) for n in range(len(results))]
        texts: list[str | None] = list(articles) if articles is not None else [None] * len(results)
        if not len(names) == len(texts) == len(results):
            raise ValueError("ids and articles need one entry per result")
        self.entries = tuple(_entry(*triple) for triple in zip(names, results, texts, strict=True))

    @property
    def summaries(self) -> list[ArticleSummary]:
        """The summaries that succeeded, in order."""
        return [e.summary for e in self.entries if e.summary is not None]

    @property
    def errors(self) -> dict[str, BaseException]:
        """The errors, by article id."""
        return {e.id: e.error for e in self.entries if e.error is not None}

    @property
    def results(self) -> list[ArticleSummary | BaseException]:
        """One summary or error per article, in order."""
        return [e.summary if e.summary is not None else _error_of(e) for e in self.entries]

    def report(self, prices: Mapping[str, tuple[float, float]] | None = None) -> BatchReport:
        """Tokens, attempts, retries, grounding, cache hits, latency and cost of the batch.

        Args:
            prices: Model → (USD per million input tokens, per million output tokens);
                default `summarize.report.DEFAULT_PRICES`.
        """
        from summarize.report import BatchReport

        return BatchReport.of(
            [(e.id, e.summary or _error_of(e)) for e in self.entries],
            elapsed_s=self.elapsed_s,
            prices=prices,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per item, with an ``article_id`` column (see `summarize.tables`)."""
        from summarize.tables import batch_records

        return batch_records(self)

    def to_dataframe(self) -> pd.DataFrame:
        """`to_records` as a pandas DataFrame (needs the ``tables`` extra)."""
        from summarize.tables import batch_dataframe

        return batch_dataframe(self)

    def html(self, *, details: bool = False) -> str:
        """The table as HTML; `details` adds each summary's full view below it."""
        from summarize.display import batch_html

        return batch_html(self, details=details)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        from summarize.display import batch_markdown

        return batch_markdown(self)

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> BatchEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchEntry]: ...
    def __getitem__(self, index: int | slice) -> BatchEntry | Sequence[BatchEntry]:
        return self.entries[index]

    def __iter__(self) -> Iterator[BatchEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"SummaryBatch({len(self.summaries)} summarized, {len(self.errors)} failed)"


def _entry(name: str, result: object, article: str | None) -> BatchEntry:
    if isinstance(result, ArticleSummary):
        return BatchEntry(name, summary=result, article=article)
    if isinstance(result, BaseException):
        return BatchEntry(name, error=result, article=article)
    raise TypeError(f"a batch result is an ArticleSummary or an exception, not {result!r:.80}")


def _error_of(entry: BatchEntry) -> BaseException:
    assert entry.error is not None
    return entry.error
