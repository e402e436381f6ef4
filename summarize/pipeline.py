"""The pipeline, top to bottom.

    text → check input → cache? → render prompt
         → instructor's re-ask loop → (each request) retry → HTTP → ground → summary → cache

Sync and async share every step but the awaited calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from summarize.budget import CallBudget
from summarize.cache import Cache, CacheSpec, open_cache
from summarize.cache.key import KeyMaker
from summarize.cache.layer import CacheErrors, Computed, SummaryCache
from summarize.coding import SentenceCoding
from summarize.config import Mode, RetryPolicy, Settings
from summarize.draft import DraftSummary
from summarize.errors import BackendError, ConfigError, ResponseError
from summarize.inputs import check_article
from summarize.journal import CallJournal
from summarize.prompts import load_prompt
from summarize.retry import RetryingSender
from summarize.schema import ArticleSummary, Meta
from summarize.strategy import Ask, SingleCall, Strategy

__all__ = ["Summarizer", "asummarize", "summarize"]


class Summarizer:
    """Turns news articles into grounded `ArticleSummary` objects. Thread-safe and reusable.

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
        **options: Any other `Settings` field, e.g. ``ungrounded="keep"``, ``max_reasks=1``.

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
        # None for a named argument means "not given"; among **options it is a value
        # (max_tokens=None leaves the field out of requests).
        given = {**{k: v for k, v in named.items() if v is not None}, **options}
        settings = Settings.from_env(**given) if settings is None else settings.replace(**given)
        self.settings = settings
        self.strategy: Strategy = open_strategy(settings)
        self.on_progress = on_progress
        sender = open_sender(settings, transport=transport)
        self.backend: Backend = StructuredBackend(
            RetryingSender(sender, settings.retry), mode=settings.mode, redact=sender.redact
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
                key=KeyMaker(settings, self.strategy.prompt, self.strategy.name),
                reassemble=self._reassemble,
                errors=cache_errors,
            )
        )

    def summarize(self, text: str | bytes) -> ArticleSummary:
        """Summarize one article.

        Raises:
            InputError: The text is empty, binary or too long (nothing was sent).
            TransientError: Rate limits, outages or timeouts outlasted the retry policy.
            RequestRejectedError: The endpoint refused the request (not retried).
            ResponseError: The answer was truncated, refused, or invalid after re-asks.
            GroundingError: ``ungrounded="raise"`` and a quote is not in the article.
        """
        article = check_article(text, self.settings.max_input_chars)
        if self.cache is None:
            return self._compute(article).summary
        return self.cache.get_or_compute(article, lambda: self._compute(article))

    async def asummarize(self, text: str | bytes) -> ArticleSummary:
        """Async `summarize`: the model call does not block the event loop."""
        article = check_article(text, self.settings.max_input_chars)
        if self.cache is None:
            return (await self._acompute(article)).summary
        return await self.cache.aget_or_compute(article, lambda: self._acompute(article))

    def close(self) -> None:
        """Release the HTTP connections `summarize` opened, and a cache store it opened."""
        self.backend.close()
        if self.cache is not None and self._owns_store:
            self.cache.store.close()

    async def aclose(self) -> None:
        """Release the connections `asummarize` opened in this event loop."""
        await self.backend.aclose()
        if self.cache is not None and self._owns_store:
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

    def _compute(self, article: str) -> Computed:
        run = _Run(self.settings, self.strategy, article)
        try:
            ask = next(run.plan)
            while True:
                ask = run.plan.send(self._answer(run, ask))
        except StopIteration as done:
            return self._finish(run, done.value)
        except BackendError as error:
            raise run.journal.annotate(error) from error.__cause__

    async def _acompute(self, article: str) -> Computed:
        run = _Run(self.settings, self.strategy, article)
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
        summary = assemble(draft, run.article, policy=self.settings.ungrounded, meta=meta)
        return Computed(summary, draft)

    def _reassemble(self, draft: DraftSummary, article: str, meta: Meta) -> ArticleSummary:
        """A stored draft grounded in `article` by today's rules; `meta` says how it was made."""
        return assemble(draft, article, policy=self.settings.ungrounded, meta=meta)


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

    def __init__(self, settings: Settings, strategy: Strategy, article: str) -> None:
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
