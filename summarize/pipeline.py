"""The pipeline, top to bottom.

    text → check input → (too long for one request? chunks, each on its own from here on)
         → cache? → render prompt
         → instructor's re-ask loop → (each request) retry → HTTP → ground → summary → cache
         → (chunks? merged into one summary)

Sync and async share every step but the awaited calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable, Sized
from contextlib import aclosing
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel

from summarize.assemble import assemble
from summarize.backends import (
    Backend,
    ExtractionRequest,
    StructuredBackend,
    Transport,
    open_sender,
)
from summarize.batch import BatchProgress, LoopThread, Result, SummaryBatch, as_completed
from summarize.budget import CallBudget
from summarize.cache import Cache, CacheSpec, RedisCache, open_cache
from summarize.cache.key import KeyMaker
from summarize.cache.layer import CacheErrors, Computed, SummaryCache
from summarize.cache.url import travel_url
from summarize.chunking import Chunk, Chunker
from summarize.coding import SentenceCoding
from summarize.config import Mode, RetryPolicy, Settings, SummarizerConfig
from summarize.draft import DraftSummary
from summarize.errors import BackendError, ConfigError, ResponseError
from summarize.inputs import check_article
from summarize.journal import CallJournal
from summarize.merge import merge
from summarize.prompts import load_prompt
from summarize.ratelimit import Throttle, ThrottledSender
from summarize.retry import RetryingSender
from summarize.schema import ArticleSummary, Meta
from summarize.strategy import Ask, SingleCall, Strategy

__all__ = ["Summarizer", "Texts", "asummarize", "summarize"]

#: Chunks of one long article summarized at once by `Summarizer.asummarize`.
CHUNKS_IN_FLIGHT = 4

#: Articles for a batch: any iterable or async iterable of texts (consumed lazily).
Texts = Iterable[str | bytes] | AsyncIterable[str | bytes]


class Summarizer:
    """Turns news articles into grounded `ArticleSummary` objects. Thread-safe and reusable.

    It pickles, to run in other processes (Ray actors, Dask workers): as its `config`, from
    which the copy opens its own clients, cache connections and local model on first use
    (see `SummarizerConfig` for what travels). One built with ``transport=`` cannot.

    Args:
        model: ``"local"`` (embedded SmolLM2), ``"local:/path/model.gguf"``, or the endpoint's
            model name. Default: ``$SUMMARIZE_MODEL``, else the local model unless an API key
            or base URL is set.
        base_url: An OpenAI-compatible endpoint. Default: ``$OPENAI_BASE_URL``.
        api_key: The endpoint's key. Default: ``$OPENAI_API_KEY``.
        settings: A complete `Settings`; explicit arguments above override its fields.
        retry: How transient failures are retried (`RetryPolicy`); default: 4 attempts
            with exponential back-off and full jitter, honouring Retry-After.
        cache: Where finished summaries are kept: None for the default SQLite file
            (``$SUMMARIZE_CACHE``, else the user cache dir), ``"memory"``,
            ``"sqlite:///file.db"``, ``"redis://host:6379/0"``, a `summarize.cache.Cache`,
            or False for none.
        cache_errors: When the cache store fails: "warn" once and go on uncached, or
            "raise": a failed read raises `CacheError`, a failed write issues a
            `CacheWarning` (the summary is kept; ``meta.cache_error`` says why it was not
            stored).
        transport: An httpx2 transport to use instead of the network
            (see `summarize.testing.FakeLLM`).
        on_progress: Called with (steps done, steps in all) as a many-step strategy
            (sentence coding) works through an article, e.g. to drive a progress bar.
        **options: Any other `Settings` field, e.g. ``ungrounded="keep"``, ``max_reasks=1``,
            ``rpm=500``, ``tpm=200_000`` (limits shared by every call of this summarizer).

    Raises:
        ConfigError: Invalid settings, or the local extra is missing for the local model.
        PromptError: The configured prompt cannot be loaded.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
        cache: CacheSpec = None,
        cache_errors: CacheErrors = "warn",
        transport: Transport | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> None:
        named = {"model": model, "base_url": base_url, "api_key": api_key, "retry": retry}
        key_from_env = settings is None and api_key is None and options.get("api_key") is None
        # None for a named argument means "not given"; among **options it is a value
        # (max_tokens=None leaves the field out of requests).
        given = {**{k: v for k, v in named.items() if v is not None}, **options}
        settings = Settings.from_env(**given) if settings is None else settings.replace(**given)
        self.settings = settings
        self._key_from_env = key_from_env and settings.api_key is not None
        self._transport = transport
        self._default_cache = cache is None or cache is True
        self._cache_errors: CacheErrors = cache_errors
        self.strategy: Strategy = open_strategy(settings)
        in_process = settings.is_local and transport is None  # its vocabulary counts tokens
        self.chunker = Chunker(settings, self.strategy, in_process=in_process)
        # Known exactly for a model in this process; a re-ask that would overflow it is not sent.
        self._context_window = settings.n_ctx if in_process else settings.context_window
        self.on_progress = on_progress
        sender = open_sender(settings, transport=transport)
        self.throttle = Throttle.from_settings(settings)
        self.backend: Backend = StructuredBackend(
            RetryingSender(ThrottledSender(sender, self.throttle), settings.retry),
            mode=settings.mode,
            redact=sender.redact,
        )
        if cache_errors not in ("warn", "raise"):
            raise ConfigError(f"cache_errors must be warn or raise, not {cache_errors!r}")
        store = open_cache(cache)
        self._owns_store = store is not None and not isinstance(cache, Cache)
        self.cache = (
            None
            if store is None
            else SummaryCache(
                store,
                key=KeyMaker(
                    settings, self.strategy.prompt, f"{self.strategy.name}/{self.strategy.revision}"
                ),
                reassemble=self._reassemble,
                errors=cache_errors,
            )
        )

    @classmethod
    def from_config(cls, config: SummarizerConfig) -> Self:
        """A summarizer built from `config`: what unpickling one does in another process."""
        summarizer = cls(
            settings=config.settings,
            cache=config.cache,
            cache_errors=config.cache_errors,
            on_progress=config.on_progress,
        )
        summarizer._key_from_env = config.api_key_from_env
        return summarizer

    @property
    def config(self) -> SummarizerConfig:
        """What rebuilds this summarizer in another process, and all that pickling it carries.

        Raises:
            ConfigError: It cannot travel: it was built with ``transport=``, or with a cache
                store that is none of summarize's.
        """
        if self._transport is not None:
            raise ConfigError(
                f"this Summarizer was built with transport= (a {type(self._transport).__name__}"
                "), which exists in this process only, so it cannot be pickled for another "
                "process; serve a FakeLLM with summarize.testing.FakeLLMServer and pass its "
                "base_url=, or build a Summarizer in each process"
            )
        cache: str | bool | None = None  # the default: that process's own
        if not self._default_cache:
            cache = False if self.cache is None else travel_url(self.cache.store)
        return SummarizerConfig(
            settings=self.settings,
            cache=cache,
            cache_errors=self._cache_errors,
            on_progress=self.on_progress,
            api_key_from_env=self._key_from_env,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as `config`; the copy is rebuilt with `from_config`."""
        return (type(self).from_config, (self.config,))

    def summarize(self, text: str | bytes) -> ArticleSummary:
        """Summarize one article.

        Raises:
            InputError: The text is empty, binary or too long (nothing was sent).
            TransientError: Rate limits, outages or timeouts outlasted the retry policy.
            RequestRejectedError: The endpoint refused the request (not retried).
            ResponseError: The answer was truncated, refused, or invalid after re-asks.
            GroundingError: ``ungrounded="raise"`` and a quote is not in the article.
            ConfigError: The context window leaves no room for an article (nothing was sent).
        """
        article = check_article(text, self.settings.max_input_chars)
        chunks = self.chunker.split(article)
        if len(chunks) > 1:
            started = time.perf_counter()
            parts = [(chunk, self._cached(chunk.text)) for chunk in chunks]
            return merge(article, parts, latency_s=time.perf_counter() - started)
        return self._cached(article)

    async def asummarize(self, text: str | bytes) -> ArticleSummary:
        """Async `summarize`: the model call does not block the event loop."""
        article = check_article(text, self.settings.max_input_chars)
        chunks = await asyncio.to_thread(self.chunker.split, article)
        if len(chunks) > 1:
            started = time.perf_counter()
            parts = await self._achunks(chunks)
            return merge(article, parts, latency_s=time.perf_counter() - started)
        return await self._acached(article)

    def summarize_many(
        self,
        texts: Texts,
        *,
        concurrency: int = 8,
        progress: bool = False,
        ids: Iterable[object] | None = None,
    ) -> SummaryBatch:
        """Summarize many articles concurrently; one entry per article, in input order.

        Runs `asummarize_many` on an event loop in one helper thread, so it works where a
        loop is already running (Jupyter) too.

        Args:
            texts: Any iterable or async iterable of texts, read as slots free up.
            concurrency: Articles in flight at most.
            progress: Show a progress bar (tqdm, on stderr) with failed and cached counts.
            ids: The articles' ids for the batch's table; default their positions.

        Returns:
            A `SummaryBatch`: each entry holds the article's summary or the exception that
            stopped it (a `SummarizeError`); one bad article never stops the others.
        """
        with LoopThread() as loop:
            try:
                return loop.run(
                    self.asummarize_many(texts, concurrency=concurrency, progress=progress, ids=ids)
                )
            finally:
                loop.run(self._release_loop())

    async def asummarize_many(
        self,
        texts: Texts,
        *,
        concurrency: int = 8,
        progress: bool = False,
        ids: Iterable[object] | None = None,
    ) -> SummaryBatch:
        """Async `summarize_many`. Cancelling it cancels and awaits every article in flight."""
        started = time.perf_counter()
        results: dict[int, Result] = {}
        stream = self.asummarize_as_completed(texts, concurrency=concurrency, progress=progress)
        async with aclosing(stream):
            async for index, result in stream:
                results[index] = result
        ordered = [results[i] for i in range(len(results))]
        return SummaryBatch(ordered, ids=ids, elapsed_s=time.perf_counter() - started)

    def summarize_as_completed(
        self, texts: Texts, *, concurrency: int = 8, progress: bool = False
    ) -> Generator[tuple[int, Result], None, None]:
        """Yield ``(index, summary or exception)`` for each article as it finishes.

        Inputs are read only as results are taken, so memory stays bounded however many
        there are. Closing the iterator (``break``, Ctrl-C) cancels the articles in flight.
        """
        with LoopThread() as loop:
            try:
                yield from loop.iterate(
                    self.asummarize_as_completed(texts, concurrency=concurrency, progress=progress)
                )
            finally:
                loop.run(self._release_loop())

    async def asummarize_as_completed(
        self, texts: Texts, *, concurrency: int = 8, progress: bool = False
    ) -> AsyncGenerator[tuple[int, Result], None]:
        """Async `summarize_as_completed`."""
        bar = BatchProgress(len(texts) if isinstance(texts, Sized) else None) if progress else None
        try:
            stream = as_completed(self.asummarize, texts, concurrency=concurrency, on_result=bar)
            async with aclosing(stream):
                async for pair in stream:
                    yield pair
        finally:
            if bar is not None:
                bar.close()

    def close(self) -> None:
        """Release the HTTP connections `summarize` opened, and a cache store it opened."""
        self.backend.close()
        self.throttle.close()
        if self.cache is not None and self._owns_store:
            self.cache.store.close()

    async def aclose(self) -> None:
        """Release the connections `asummarize` opened in this event loop."""
        await self.backend.aclose()
        self.throttle.close()
        if self.cache is not None and self._owns_store:
            await self.cache.store.aclose()

    async def _release_loop(self) -> None:
        """Close what the running (helper) loop opened: its HTTP client, a Redis client."""
        await self.backend.aclose()
        if self.cache is not None and isinstance(self.cache.store, RedisCache):
            await self.cache.store.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        cache = self.cache.store.url if self.cache is not None else None
        return (
            f"Summarizer(model={self.backend.model!r}, backend={self.backend.kind!r}, "
            f"cache={cache!r})"
        )

    def _cached(self, article: str) -> ArticleSummary:
        """The summary of an article (or a chunk) that fits one request, through the cache."""
        if self.cache is None:
            return self._compute(article).summary
        return self.cache.get_or_compute(article, lambda: self._compute(article))

    async def _acached(self, article: str) -> ArticleSummary:
        if self.cache is None:
            return (await self._acompute(article)).summary
        return await self.cache.aget_or_compute(article, lambda: self._acompute(article))

    async def _achunks(self, chunks: tuple[Chunk, ...]) -> list[tuple[Chunk, ArticleSummary]]:
        """Every chunk summarized, `CHUNKS_IN_FLIGHT` at a time; then the first failure raised.

        Chunks that succeed are cached even when another fails, so a retry resumes.
        """
        slots = asyncio.Semaphore(CHUNKS_IN_FLIGHT)

        async def one(chunk: Chunk) -> ArticleSummary:
            async with slots:
                return await self._acached(chunk.text)

        done = await asyncio.gather(*(one(chunk) for chunk in chunks), return_exceptions=True)
        parts: list[tuple[Chunk, ArticleSummary]] = []
        for chunk, result in zip(chunks, done, strict=True):
            if isinstance(result, BaseException):
                raise result
            parts.append((chunk, result))
        return parts

    def _compute(self, article: str) -> Computed:
        run = _Run(self.settings, self.strategy, article, self._context_window)
        try:
            ask = next(run.plan)
            while True:
                ask = run.plan.send(self._answer(run, ask))
        except StopIteration as done:
            return self._finish(run, done.value)
        except BackendError as error:
            raise run.journal.annotate(error) from error.__cause__

    async def _acompute(self, article: str) -> Computed:
        run = _Run(self.settings, self.strategy, article, self._context_window)
        try:
            ask = next(run.plan)
            while True:
                ask = run.plan.send(await self._aanswer(run, ask))
        except StopIteration as done:
            return self._finish(run, done.value)
        except BackendError as error:
            raise run.journal.annotate(error) from error.__cause__

    def _answer(self, run: _Run, ask: Ask) -> BaseModel | None:
        self._progress(ask)
        try:
            return self.backend.complete(run.request(ask)).output
        except ResponseError:
            if ask.optional:
                return None
            raise

    async def _aanswer(self, run: _Run, ask: Ask) -> BaseModel | None:
        self._progress(ask)
        try:
            return (await self.backend.acomplete(run.request(ask))).output
        except ResponseError:
            if ask.optional:
                return None
            raise

    def _progress(self, ask: Ask) -> None:
        if self.on_progress is not None and ask.progress is not None:
            self.on_progress(*ask.progress)

    def _finish(self, run: _Run, draft: DraftSummary) -> Computed:
        journal = run.journal
        meta = Meta(
            model=self.backend.model,
            backend=self.backend.kind,
            prompt=self.strategy.prompt.ref,
            strategy=self.strategy.name,
            usage=journal.usage,
            attempts=journal.count,
            attempt_log=journal.attempts,
            latency_s=round(time.perf_counter() - run.started, 3),
        )
        summary = assemble(
            draft,
            run.article,
            policy=self.settings.ungrounded,
            meta=meta,
            unattributed=self.settings.unattributed,
            rebuttals_must_link=self.strategy.rebuttals_must_link,
        )
        return Computed(summary, draft)

    def _reassemble(self, draft: DraftSummary, article: str, meta: Meta) -> ArticleSummary:
        """A stored draft grounded in `article` by today's rules; `meta` says how it was made."""
        return assemble(
            draft,
            article,
            policy=self.settings.ungrounded,
            meta=meta,
            unattributed=self.settings.unattributed,
            rebuttals_must_link=self.strategy.rebuttals_must_link,
        )


def open_strategy(settings: Settings) -> Strategy:
    """The strategy `settings` ask for; ``"auto"`` picks the one measured best for the backend.

    Sentence coding asks through ``json_schema`` in-process (a grammar that keeps the schema
    out of the shared prompt prefix) and through the configured mode against an endpoint.

    Raises:
        PromptError: Its prompt cannot be loaded.
    """
    name = settings.strategy
    if name == "auto":
        name = "sentences" if settings.is_local else "single"
    if name == "sentences":
        mode: Mode = "json_schema" if settings.is_local else settings.mode
        return SentenceCoding(load_prompt("sentence_coding"), mode=mode)
    return SingleCall(load_prompt(settings.prompt), settings)


class _Run:
    """One summarize call: the plan being driven, its journal, and a budget per ask."""

    def __init__(
        self, settings: Settings, strategy: Strategy, article: str, context_window: int | None
    ) -> None:
        self.settings = settings
        self.article = article
        self.started = time.perf_counter()
        self.root = CallBudget(
            CallJournal(),
            max_requests=settings.requests_per_call,
            max_answers=settings.max_reasks + 1,
            timeout=settings.timeout,
            deadline=settings.retry.deadline,
            clock=settings.retry.clock,
            context_window=context_window,
        )
        self.plan = strategy.plan(article)

    @property
    def journal(self) -> CallJournal:
        """Every request of the call."""
        return self.root.journal

    def request(self, ask: Ask) -> ExtractionRequest:
        """`ask` as a request with its own allowance of requests and answers."""
        cap = self.settings.max_tokens
        if cap is not None and ask.max_tokens is not None:
            cap = min(cap, ask.max_tokens)
        budget = self.root.next_ask(max_tokens=cap)
        return ExtractionRequest(ask.messages, self.article, budget, ask.response_model, ask.mode)


def summarize(text: str | bytes, model: str | None = None, **kwargs: Any) -> ArticleSummary:
    """One-shot `Summarizer(model, **kwargs).summarize(text)`."""
    with Summarizer(model, **kwargs) as summarizer:
        return summarizer.summarize(text)


async def asummarize(text: str | bytes, model: str | None = None, **kwargs: Any) -> ArticleSummary:
    """One-shot `Summarizer(model, **kwargs).asummarize(text)`."""
    async with Summarizer(model, **kwargs) as summarizer:
        return await summarizer.asummarize(text)
