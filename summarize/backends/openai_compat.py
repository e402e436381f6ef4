"""The one place that talks to openai and instructor: any OpenAI-compatible endpoint.

Each request goes through `_Exchange`, which records it in the call's journal and turns
SDK errors and unusable answers (truncated, refused, empty, not a completion) into
`summarize.errors` at once, so instructor re-asks only after invalid output. The SDK's own
retries are off (``max_retries=0``): transient failures belong to `summarize.retry`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import httpx2
import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from instructor.core.hooks import Hooks
from openai.types.chat import ChatCompletion

from summarize.backends.base import BackendKind, Completion, ExtractionRequest
from summarize.config import Settings
from summarize.draft import DraftSummary, GroundingCheck, grounding_scope
from summarize.errors import (
    AuthenticationError,
    BackendError,
    ConfigError,
    InvalidOutputError,
    MalformedResponseError,
    RateLimitError,
    RefusalError,
    RequestRejectedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TruncatedError,
)
from summarize.journal import CallJournal
from summarize.schema import Usage

__all__ = ["RETRYABLE_STATUS_CODES", "OpenAICompatibleBackend"]

#: HTTP statuses worth another try. Other 4xx are the caller's mistake and fail at once.
RETRYABLE_STATUS_CODES: Final = frozenset({408, 409, 429, 500, 502, 503, 504})

_MODES: Final = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
_SECRET_HEADERS: Final = ("authorization", "api-key", "x-api-key", "proxy-authorization")
_BEARER: Final = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
_REDACTED: Final = "[redacted]"

Transport = httpx2.BaseTransport | httpx2.AsyncBaseTransport
Redact = Callable[[str], str]

_IN_CALL: ContextVar[bool] = ContextVar("summarize_in_call", default=False)


class _OwnedFailures(logging.Filter):
    """Drop instructor's ERROR lines about failures we raise, log and retry ourselves.

    Only inside our own calls: other instructor users in the process keep their logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_IN_CALL.get() and record.levelno >= logging.ERROR)


_INSTRUCTOR_RETRY_LOGGER: Final = logging.getLogger("instructor.v2.retry")
if not any(isinstance(f, _OwnedFailures) for f in _INSTRUCTOR_RETRY_LOGGER.filters):
    _INSTRUCTOR_RETRY_LOGGER.addFilter(_OwnedFailures())


class OpenAICompatibleBackend:
    """Structured extraction through instructor over the openai SDK.

    Args:
        settings: Model, endpoint, key, mode and sampling settings.
        transport: An httpx2 transport to send requests through instead of the network
            (the in-process local model, or `summarize.testing.FakeLLM`).
        kind: Recorded in `Meta.backend`.
        extra_body: JSON fields added to every request, on top of `settings.extra_body`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: Transport | None = None,
        kind: BackendKind = "openai",
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._kind: BackendKind = kind
        self._mode = _MODES[settings.mode]
        self._extra_body = {**(settings.extra_body or {}), **(extra_body or {})}
        self._sync: openai.OpenAI | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    @property
    def kind(self) -> BackendKind:
        """Either local or openai."""
        return self._kind

    @property
    def model(self) -> str:
        """The model name sent with each request."""
        return self._settings.model_name

    def complete(self, request: ExtractionRequest) -> Completion:
        """Ask the model, blocking; re-asks happen inside instructor."""
        sdk = self._sync_client()
        exchange = self._exchange(request)

        def send(**kwargs: Any) -> ChatCompletion:
            started = time.perf_counter()
            try:
                response = sdk.chat.completions.create(**kwargs)
            except (openai.OpenAIError, ValueError) as exc:
                raise exchange.failed(exc, started) from exc
            return exchange.received(response, started)

        create = instructor.patch(create=send, mode=self._mode)
        with exchange.active():
            draft = create(**exchange.create_kwargs())
        return Completion(draft=draft, model=self.model)

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Ask the model without blocking the event loop."""
        sdk = self._async_client()
        exchange = self._exchange(request)

        async def send(**kwargs: Any) -> ChatCompletion:
            started = time.perf_counter()
            try:
                response = await sdk.chat.completions.create(**kwargs)
            except (openai.OpenAIError, ValueError) as exc:
                raise exchange.failed(exc, started) from exc
            return exchange.received(response, started)

        create = instructor.patch(create=send, mode=self._mode)
        with exchange.active():
            draft = await create(**exchange.create_kwargs())
        return Completion(draft=draft, model=self.model)

    async def aclose(self) -> None:
        """Close the async HTTP client of the running event loop."""
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close the sync HTTP client (use `aclose` for the async one)."""
        with self._lock:
            if self._sync is not None:
                self._sync.close()
            self._sync = None

    def _exchange(self, request: ExtractionRequest) -> _Exchange:
        return _Exchange(self._settings, request, self.model, self._extra_body)

    def _client_kwargs(self) -> dict[str, Any]:
        s = self._settings
        return {
            "api_key": s.api_key or "not-needed",
            "base_url": s.base_url,
            "max_retries": 0,
            "timeout": s.timeout,
        }

    def _sync_client(self) -> openai.OpenAI:
        with self._lock:
            if self._sync is None:
                transport = _sync_transport(self._transport)
                http = httpx2.Client(transport=transport) if transport else None
                self._sync = openai.OpenAI(**self._client_kwargs(), http_client=http)
            return self._sync

    def _async_client(self) -> openai.AsyncOpenAI:
        # httpx connection pools belong to one event loop: one client per loop.
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            transport = _async_transport(self._transport)
            http = httpx2.AsyncClient(transport=transport) if transport else None
            client = self._async[loop] = openai.AsyncOpenAI(
                **self._client_kwargs(), http_client=http
            )
        return client


class _Exchange:
    """One call's requests: builds them, records each in the journal, names what failed."""

    def __init__(
        self,
        settings: Settings,
        request: ExtractionRequest,
        model: str,
        extra_body: Mapping[str, Any],
    ) -> None:
        self.settings = settings
        self.request = request
        self.model = model
        self.extra_body = extra_body
        self.journal: CallJournal = request.journal
        self.check = GroundingCheck(request.article, request.max_reasks)
        self.hooks = Hooks()
        self.hooks.on("parse:error", self._output_rejected)

    def create_kwargs(self) -> dict[str, Any]:
        s, r = self.settings, self.request
        kwargs: dict[str, Any] = {
            "model": s.model_name,
            "messages": list(r.messages),
            "response_model": DraftSummary,
            "max_retries": r.max_reasks,
            "strict": False,
            "hooks": self.hooks,
            "timeout": s.timeout if r.timeout is None else min(s.timeout, r.timeout),
        }
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if r.max_tokens is not None:
            kwargs["max_tokens"] = r.max_tokens
        if self.extra_body:
            kwargs["extra_body"] = dict(self.extra_body)
        return kwargs

    def received(self, response: Any, started: float) -> ChatCompletion:
        """Record an answer; raise at once when it cannot be parsed or re-asked."""
        duration = time.perf_counter() - started
        if not isinstance(response, ChatCompletion):
            raise self._record(
                MalformedResponseError(
                    "the endpoint did not answer with a chat completion "
                    "(is base_url an OpenAI-compatible /v1 URL?)",
                    model=self.model,
                    status=200,
                ),
                duration,
            )
        usage = _usage(response)
        request_id = getattr(response, "_request_id", None)
        problem = self._problem(response, request_id)
        if problem is not None:
            raise self._record(problem, duration, usage)
        self.journal.answered(status=200, request_id=request_id, usage=usage, duration=duration)
        return response

    def failed(self, exc: openai.OpenAIError | ValueError, started: float) -> BackendError:
        """Record a failed request as our error (the API key scrubbed from both).

        A `ValueError` is a 200 whose body the SDK could not parse: most likely cut off.
        """
        if isinstance(exc, openai.OpenAIError):
            _scrub(exc, self.redact)
            error = _from_sdk(exc, self.model, self.redact)
        else:
            error = ServiceUnavailableError(
                "the endpoint's response body is not valid JSON (cut off in transit?): "
                f"{self.redact(_first_line(str(exc)))}",
                model=self.model,
                status=200,
            )
        return self._record(error, time.perf_counter() - started)

    def redact(self, text: str) -> str:
        key = self.settings.api_key
        if key and len(key) >= 4:
            text = text.replace(key, _REDACTED)
        return _BEARER.sub(rf"\g<1>{_REDACTED}", text)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Around instructor's call: the grounding check on, our errors out, its logs quiet."""
        token = _IN_CALL.set(True)
        try:
            with grounding_scope(self.check):
                yield
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, BackendError):
                raise cause from cause.__cause__  # raised by `send`, already recorded
            reason = self.redact(_first_line(str(cause or exc)))
            raise InvalidOutputError(
                f"the model's answer stayed invalid after {exc.n_attempts} attempt(s) "
                f"({self.request.max_reasks} re-ask(s) allowed): {reason}",
                model=self.model,
                status=200,
            ) from exc  # the pipeline's journal adds the last request id
        finally:
            _IN_CALL.reset(token)

    def _problem(self, response: ChatCompletion, request_id: str | None) -> BackendError | None:
        common: dict[str, Any] = {"model": self.model, "status": 200, "request_id": request_id}
        if not response.choices:
            return MalformedResponseError("the endpoint answered with no choices", **common)
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            return RefusalError(f"the model refused: {self.redact(str(refusal))}", **common)
        if choice.finish_reason == "content_filter":
            return RefusalError("the provider's content filter stopped the answer", **common)
        if choice.finish_reason == "length":
            limit = self.request.max_tokens
            return TruncatedError(
                f"the answer hit max_tokens={limit} before it was complete; raise max_tokens, "
                "or set RetryPolicy(retry_truncated=True)",
                **common,
            )
        return None

    def _record(
        self, error: BackendError, duration: float, usage: Usage | None = None
    ) -> BackendError:
        self.journal.failed(error, usage=usage, duration=duration)
        return error

    def _output_rejected(self, error: Exception, **_: Any) -> None:
        self.journal.rejected_output(self.redact(str(error)))


def _sync_transport(transport: Transport | None) -> httpx2.BaseTransport | None:
    if transport is None or isinstance(transport, httpx2.BaseTransport):
        return transport
    raise ConfigError(f"{type(transport).__name__} is async-only; use asummarize()")


def _async_transport(transport: Transport | None) -> httpx2.AsyncBaseTransport | None:
    if transport is None or isinstance(transport, httpx2.AsyncBaseTransport):
        return transport
    raise ConfigError(f"{type(transport).__name__} is sync-only; use summarize()")


def _from_sdk(exc: openai.OpenAIError, model: str, redact: Redact) -> BackendError:
    """Map an openai SDK error to ours; `TransientError`s are what the retry layer retries."""
    if isinstance(exc, openai.APITimeoutError):
        return RequestTimeoutError(
            "no answer from the model endpoint within the timeout", model=model
        )
    if isinstance(exc, openai.APIConnectionError):
        reason = exc.__cause__ or exc
        return ServiceUnavailableError(
            f"lost the connection to the model endpoint: {redact(_first_line(str(reason)))}",
            model=model,
        )
    if not isinstance(exc, openai.APIStatusError):
        return MalformedResponseError(
            f"could not read the endpoint's response: {redact(_first_line(str(exc)))}",
            model=model,
        )
    status = exc.status_code
    request_id = exc.request_id
    message = f"the endpoint answered HTTP {status}: {redact(_error_message(exc))}"
    common: dict[str, Any] = {"model": model, "status": status, "request_id": request_id}
    if status == 429:
        return RateLimitError(message, retry_after=_retry_after(exc.response.headers), **common)
    if status in RETRYABLE_STATUS_CODES or status >= 500:
        return ServiceUnavailableError(message, **common)
    if status in (401, 403):
        return AuthenticationError(f"{message} (check the API key)", **common)
    return RequestRejectedError(message, **common)


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return _first_line(str(inner["message"]))
    return _first_line(str(exc.message))


def _retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds the server asked for: ``retry-after-ms``, or ``retry-after`` (seconds or date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _scrub(exc: openai.OpenAIError, redact: Redact) -> None:
    """Remove the API key from an SDK error kept as ``__cause__``: headers, message, body."""
    response = getattr(exc, "response", None)
    for request in (getattr(exc, "request", None), getattr(response, "request", None)):
        if isinstance(request, httpx2.Request):
            for name in _SECRET_HEADERS:
                if name in request.headers:
                    request.headers[name] = _REDACTED
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(getattr(exc, "message", None), str):
        exc.message = redact(exc.message)  # type: ignore[attr-defined]
    if getattr(exc, "body", None) is not None:
        exc.body = _redact_json(exc.body, redact)  # type: ignore[attr-defined]


def _redact_json(value: object, redact: Redact) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_json(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, redact) for v in value]
    return value


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else "no details"


def _usage(response: ChatCompletion) -> Usage:
    usage = response.usage
    if usage is None:
        return Usage()
    prompt = int(usage.prompt_tokens or 0)
    completion = int(usage.completion_tokens or 0)
    total = int(usage.total_tokens or 0) or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
