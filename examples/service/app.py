"""A small HTTP service over summarize (FastAPI): one shared Summarizer, cached, async.

    POST /summaries        {"text": "...", "model": "...", "options": {...}} -> ArticleSummary
    POST /summaries:batch  {"texts": ["...", ...], "model": ..., "options": ...}
                           -> {"results": [{"summary": {...}} | {"error": {...}}, ...]}
    GET  /healthz

Run it (see README.md beside this file)::

    OPENAI_API_KEY=sk-... python examples/service/app.py --port 8000
    uvicorn app:app --app-dir examples/service --port 8000

Errors map to HTTP: 422 bad input, 413 a body over the limit, 429 and 503 (with Retry-After
when the model's endpoint gave one) when the endpoint is rate limited or down, 502 when its
answer is unusable or it refused our request, 504 when the deadline passed. The endpoint's
API key comes from the server's environment: clients cannot send one, and it never appears
in a response or a log line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from summarize import (
    ArticleSummary,
    ConfigError,
    GroundingError,
    InputError,
    RateLimitError,
    RequestRejectedError,
    RequestTimeoutError,
    ResponseError,
    RetryPolicy,
    ServiceUnavailableError,
    SummarizeError,
    Summarizer,
)
from summarize.cache import Cache, open_cache

log = logging.getLogger("summarize.service")

MAX_BODY_BYTES = int(os.environ.get("SUMMARIZE_MAX_BODY_BYTES", 1_000_000))
MAX_BATCH = 16  # articles per batch request
CONCURRENCY = 4  # model calls in flight at once, for the whole service
DEADLINE = float(os.environ.get("SUMMARIZE_DEADLINE", 60))  # seconds per article

Factory = Callable[..., Summarizer]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


class Options(BaseModel):
    """What a client may change per request: never the endpoint, its key, or the cache.

    Few values on purpose: each combination (with the model) gets one shared Summarizer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    ungrounded: Literal["drop", "keep"] | None = None
    max_reasks: int | None = Field(None, ge=0, le=3)
    strategy: Literal["single", "sentences"] | None = None


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    model: str | None = None
    options: Options = Options()


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    model: str | None = None
    options: Options = Options()


class ErrorBody(BaseModel):
    type: str
    message: str
    status: int
    retry_after: int | None = None


class BatchResult(BaseModel):
    summary: ArticleSummary | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]


def default_factory(**options: Any) -> Summarizer:
    """A Summarizer from the environment (model, endpoint, key), with a per-call deadline."""
    return Summarizer(retry=RetryPolicy(deadline=DEADLINE), **options)


class Summarizers:
    """One shared Summarizer per (model, options), all on one cache store."""

    def __init__(self, factory: Factory, store: Cache | None, models: frozenset[str]) -> None:
        self.factory = factory
        self.store = store
        self.default = factory(cache=store if store is not None else False)
        self.models = frozenset(m for m in (*models, self.default.settings.model) if m)
        self.secret = self.default.settings.api_key
        self._made: dict[tuple[str | None, Options], Summarizer] = {}

    def get(self, model: str | None, options: Options) -> Summarizer:
        """The Summarizer for this request; `InputError` for a model the service does not offer."""
        model = model or self.default.settings.model
        if model is not None and model not in self.models:
            raise InputError(f"model {model!r} is not offered here; ask for one of {self.offered}")
        if model == self.default.settings.model and options == Options():
            return self.default
        key = (model, options)
        if key not in self._made:
            changes = options.model_dump(exclude_none=True)
            try:
                made = self.factory(model=model, cache=self.store or False, **changes)
            except ConfigError as exc:
                raise InputError(str(exc)) from None
            self._made[key] = made
        return self._made[key]

    @property
    def offered(self) -> list[str]:
        return sorted(self.models)

    async def aclose(self) -> None:
        for summarizer in [self.default, *self._made.values()]:
            await summarizer.aclose()
            summarizer.close()
        if self.store is not None:
            await self.store.aclose()
            self.store.close()


def http_error(exc: SummarizeError, secret: str | None) -> ErrorBody:
    """The HTTP status and body for an error; the endpoint's key is never in the message."""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, InputError):
        status = 422
    elif isinstance(exc, RequestTimeoutError):  # DeadlineExceededError included
        status = 504
    elif isinstance(exc, RateLimitError):
        status = 429
    elif isinstance(exc, ServiceUnavailableError):
        status = 503
    elif isinstance(exc, ResponseError | RequestRejectedError | GroundingError):
        status = 502  # the model's answer is unusable, or its endpoint refused our request
    else:
        status = 500
    message = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    if secret:
        message = message.replace(secret, "[redacted]")
    return ErrorBody(
        type=type(exc).__name__,
        message=message,
        status=status,
        retry_after=math.ceil(retry_after) if retry_after is not None else None,
    )


def error_response(error: ErrorBody) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    body = {"error": error.model_dump(exclude_none=True)}
    return JSONResponse(body, status_code=error.status, headers=headers)


class BodyTooLarge(HTTPException):
    """A request body over the limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit:,} bytes")


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, whether or not they say their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        length = dict(scope.get("headers", ())).get(b"content-length")
        if scope["type"] == "http" and length is not None and int(length) > self.max_bytes:
            await http_exception_response(BodyTooLarge(self.max_bytes))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:  # a body with no length (chunked) is counted as it comes
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted if scope["type"] == "http" else receive, send)


def http_exception_response(exc: HTTPException) -> JSONResponse:
    body = {"error": {"type": type(exc).__name__, "message": exc.detail}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def create_app(
    factory: Factory = default_factory,
    *,
    cache: Any = None,
    models: frozenset[str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The service.

    Args:
        factory: Makes a Summarizer from options (model, cache, settings); default: from
            the environment. Tests pass ``FakeLLM(...).summarizer``.
        cache: The store every Summarizer shares: a URL (``redis://...``, ``sqlite:///...``),
            a `summarize.cache.Cache`, or None for ``$SUMMARIZE_CACHE`` / the default file.
        models: Models a request may name besides the default; default ``$SUMMARIZE_MODELS``
            (comma-separated).
        max_body_bytes: Largest request body accepted (413 beyond).
    """
    if models is None:
        models = frozenset(m for m in os.environ.get("SUMMARIZE_MODELS", "").split(",") if m)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = Summarizers(factory, open_cache(cache), models)
        app.state.pool = pool
        app.state.limit = asyncio.Semaphore(CONCURRENCY)
        log.info("serving %s (cache: %s)", pool.offered, type(pool.store).__name__)
        try:
            yield
        finally:
            await pool.aclose()

    app = FastAPI(title="summarize", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    async def summarize_one(request: Request, summarizer: Summarizer, text: str) -> ArticleSummary:
        async with request.app.state.limit:
            summary = await summarizer.asummarize(text)
        m = summary.meta
        log.info(
            "summarized %d chars with %s: %d items, %d tokens, %.2f s%s",
            len(text),
            m.model,
            sum(1 for _ in summary.items()),
            m.usage.total_tokens,
            m.latency_s,
            ", cache hit" if m.cache_hit else "",
        )
        return summary

    @app.post("/summaries", response_model=ArticleSummary)
    async def create_summary(body: SummaryRequest, request: Request) -> ArticleSummary:
        summarizer = request.app.state.pool.get(body.model, body.options)
        return await summarize_one(request, summarizer, body.text)

    @app.post("/summaries:batch", response_model=BatchResponse)
    async def create_summaries(body: BatchRequest, request: Request) -> BatchResponse:
        pool: Summarizers = request.app.state.pool
        summarizer = pool.get(body.model, body.options)

        async def one(text: str) -> BatchResult:
            try:
                return BatchResult(summary=await summarize_one(request, summarizer, text))
            except SummarizeError as exc:
                error = http_error(exc, pool.secret)
                log.warning("batch item failed: %s %s", error.status, error.type)
                return BatchResult(error=error)

        return BatchResponse(results=list(await asyncio.gather(*(one(t) for t in body.texts))))

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        pool: Summarizers = request.app.state.pool
        return {"status": "ok", "models": pool.offered, "cache": type(pool.store).__name__}

    @app.exception_handler(SummarizeError)
    async def summarize_error(request: Request, exc: SummarizeError) -> JSONResponse:
        error = http_error(exc, request.app.state.pool.secret)
        log.warning("%s %s -> %s %s", request.method, request.url.path, error.status, error.type)
        return error_response(error)

    @app.exception_handler(HTTPException)
    async def http_exception(request: Request, exc: HTTPException) -> JSONResponse:
        return http_exception_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
        return JSONResponse({"error": {"type": "ValidationError", "detail": detail}}, 422)

    return app


app = create_app()


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(app, host=args.host, port=args.port)
