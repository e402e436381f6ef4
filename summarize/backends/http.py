"""The one place that talks to the openai SDK: one HTTP request to an OpenAI-compatible endpoint.

`OpenAISender` sends a request, records it in the call's journal, and turns SDK errors and
unusable answers (truncated, refused, empty, not a completion) into `summarize.errors` at once,
so instructor re-asks only after invalid output. The SDK's own retries are off
(``max_retries=0``): transient failures belong to `summarize.retry`.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx2
import openai
from openai.types.chat import ChatCompletion

from summarize.backends.base import BackendKind, ChatBody
from summarize.budget import CallBudget
from summarize.config import Settings
from summarize.errors import (
    AuthenticationError,
    BackendError,
    ConfigError,
    MalformedResponseError,
    RateLimitError,
    RefusalError,
    RequestRejectedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TruncatedError,
)
from summarize.schema import Usage

__all__ = ["RETRYABLE_STATUS_CODES", "OpenAISender", "Redactor", "Transport", "first_line"]

#: HTTP statuses worth another try. Other 4xx are the caller's mistake and fail at once.
RETRYABLE_STATUS_CODES: Final = frozenset({408, 409, 429, 500, 502, 503, 504})

_SECRET_HEADERS: Final = ("authorization", "api-key", "x-api-key", "proxy-authorization")
_BEARER: Final = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
_REDACTED: Final = "[redacted]"

Transport = httpx2.BaseTransport | httpx2.AsyncBaseTransport
Redact = Callable[[str], str]


class Redactor:
    """Removes an API key (and any bearer token) from text."""

    def __init__(self, api_key: str | None) -> None:
        self._key = api_key if api_key and len(api_key) >= 4 else None

    def __call__(self, text: str) -> str:
        """`text` without the key."""
        if self._key:
            text = text.replace(self._key, _REDACTED)
        return _BEARER.sub(rf"\g<1>{_REDACTED}", text)


class OpenAISender:
    """Sends chat-completion requests through the openai SDK; one client per event loop.

    Args:
        settings: Model, endpoint, key, timeout and sampling settings.
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
        self._extra_body = {**(settings.extra_body or {}), **(extra_body or {})}
        self.redact = Redactor(settings.api_key)
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

    def send(self, body: ChatBody, budget: CallBudget) -> ChatCompletion:
        """Make one request, blocking."""
        sdk = self._sync_client()
        started = time.perf_counter()
        try:
            response = sdk.chat.completions.create(**self._request(body, budget))
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failed(exc, started, budget) from exc
        return self._received(response, started, budget)

    async def asend(self, body: ChatBody, budget: CallBudget) -> ChatCompletion:
        """Make one request without blocking the event loop."""
        sdk = self._async_client()
        started = time.perf_counter()
        try:
            response = await sdk.chat.completions.create(**self._request(body, budget))
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failed(exc, started, budget) from exc
        return self._received(response, started, budget)

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

    def _request(self, body: ChatBody, budget: CallBudget) -> ChatBody:
        """`body` with the model, sampling fields and this request's timeout."""
        s = self._settings
        request = {**body, "model": s.model_name, "timeout": budget.request_timeout()}
        for name, value in (("temperature", s.temperature), ("max_tokens", budget.max_tokens)):
            if value is None:
                request.pop(name, None)  # reasoning models reject the field itself
            else:
                request[name] = value
        if self._extra_body:
            request["extra_body"] = {**self._extra_body, **request.get("extra_body", {})}
        return request

    def _received(self, response: Any, started: float, budget: CallBudget) -> ChatCompletion:
        """Record an answer; raise at once when it cannot be parsed or re-asked."""
        duration = time.perf_counter() - started
        if not isinstance(response, ChatCompletion):
            error = MalformedResponseError(
                "the endpoint did not answer with a chat completion "
                "(is base_url an OpenAI-compatible /v1 URL?)",
                model=self.model,
                status=200,
            )
            raise _record(budget, error, duration)
        usage = _usage(response)
        request_id = getattr(response, "_request_id", None)
        problem = self._problem(response, request_id, budget.max_tokens)
        if problem is not None:
            raise _record(budget, problem, duration, usage)
        budget.journal.answered(status=200, request_id=request_id, usage=usage, duration=duration)
        return response

    def _failed(
        self, exc: openai.OpenAIError | ValueError, started: float, budget: CallBudget
    ) -> BackendError:
        """Record a failed request as our error (the API key scrubbed from both).

        A `ValueError` is a 200 whose body the SDK could not parse: most likely cut off.
        """
        if isinstance(exc, openai.OpenAIError):
            _scrub(exc, self.redact)
            error = _from_sdk(exc, self.model, self.redact)
        else:
            error = ServiceUnavailableError(
                "the endpoint's response body is not valid JSON (cut off in transit?): "
                f"{self.redact(first_line(str(exc)))}",
                model=self.model,
                status=200,
            )
        return _record(budget, error, time.perf_counter() - started)

    def _problem(
        self, response: ChatCompletion, request_id: str | None, max_tokens: int | None
    ) -> BackendError | None:
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
            return TruncatedError(
                f"the answer hit max_tokens={max_tokens} before it was complete; raise "
                "max_tokens, or set RetryPolicy(retry_truncated=True)",
                **common,
            )
        return None

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


def _record(
    budget: CallBudget, error: BackendError, duration: float, usage: Usage | None = None
) -> BackendError:
    budget.journal.failed(error, usage=usage, duration=duration)
    return error


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
            f"lost the connection to the model endpoint: {redact(first_line(str(reason)))}",
            model=model,
        )
    if not isinstance(exc, openai.APIStatusError):
        return MalformedResponseError(
            f"could not read the endpoint's response: {redact(first_line(str(exc)))}",
            model=model,
        )
    status = exc.status_code
    message = f"the endpoint answered HTTP {status}: {redact(_error_message(exc))}"
    common: dict[str, Any] = {"model": model, "status": status, "request_id": exc.request_id}
    retry_after = _retry_after(exc.response.headers)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **common)
    if status in RETRYABLE_STATUS_CODES or status >= 500:
        return ServiceUnavailableError(message, retry_after=retry_after, **common)
    if status in (401, 403):
        return AuthenticationError(f"{message} (check the API key)", **common)
    return RequestRejectedError(message, **common)


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return first_line(str(inner["message"]))
    return first_line(str(exc.message))


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


def first_line(text: str) -> str:
    """The first non-empty line of `text` ("no details" when there is none)."""
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
