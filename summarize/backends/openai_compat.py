"""The one place that talks to openai and instructor: any OpenAI-compatible endpoint.

The SDK's own retries are off (``max_retries=0``): transient failures belong to
`summarize.retry`; validation re-asks belong to instructor. SDK and instructor errors are
mapped to `summarize.errors` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import httpx2
import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

from summarize.backends.base import BackendKind, Completion, ExtractionRequest
from summarize.config import Settings
from summarize.draft import GROUNDING_CONTEXT_KEY, DraftSummary, GroundingCheck
from summarize.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    OutputError,
    RateLimitedError,
    RequestRejectedError,
    TruncatedOutputError,
)
from summarize.schema import Usage

__all__ = ["TRANSIENT_STATUS_CODES", "OpenAICompatibleBackend"]

#: HTTP statuses worth another try (the same set the openai SDK would retry).
TRANSIENT_STATUS_CODES: Final = frozenset({408, 409, 429, 500, 502, 503, 504})

_MODES: Final = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}

Transport = httpx2.BaseTransport | httpx2.AsyncBaseTransport


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
        self._extra_body = {**(settings.extra_body or {}), **(extra_body or {})}
        self._sync: tuple[instructor.Instructor, openai.OpenAI] | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[instructor.AsyncInstructor, openai.AsyncOpenAI]
        ] = weakref.WeakKeyDictionary()
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
        check = GroundingCheck(request.article, request.max_reasks)
        with self._mapped_errors(check):
            draft = self._sync_client().create(**self._create_kwargs(request, check))
        return self._completion(draft, check)

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Ask the model without blocking the event loop."""
        check = GroundingCheck(request.article, request.max_reasks)
        with self._mapped_errors(check):
            draft = await self._async_client().create(**self._create_kwargs(request, check))
        return self._completion(draft, check)

    async def aclose(self) -> None:
        """Close the async HTTP client of the running event loop."""
        pair = self._async.pop(asyncio.get_running_loop(), None)
        if pair is not None:
            await pair[1].close()

    def close(self) -> None:
        """Close the sync HTTP client (use `aclose` for the async one)."""
        with self._lock:
            if self._sync is not None:
                self._sync[1].close()
            self._sync = None

    def _client_kwargs(self) -> dict[str, Any]:
        s = self._settings
        return {
            "api_key": s.api_key or "not-needed",
            "base_url": s.base_url,
            "max_retries": 0,
            "timeout": s.timeout,
        }

    def _sync_client(self) -> instructor.Instructor:
        with self._lock:
            if self._sync is None:
                transport = _sync_transport(self._transport)
                http = httpx2.Client(transport=transport) if transport else None
                raw = openai.OpenAI(**self._client_kwargs(), http_client=http)
                self._sync = (instructor.from_openai(raw, mode=_MODES[self._settings.mode]), raw)
            return self._sync[0]

    def _async_client(self) -> instructor.AsyncInstructor:
        # httpx connection pools belong to one event loop: one client per loop.
        loop = asyncio.get_running_loop()
        pair = self._async.get(loop)
        if pair is None:
            transport = _async_transport(self._transport)
            http = httpx2.AsyncClient(transport=transport) if transport else None
            raw = openai.AsyncOpenAI(**self._client_kwargs(), http_client=http)
            pair = self._async[loop] = (
                instructor.from_openai(raw, mode=_MODES[self._settings.mode]),
                raw,
            )
        return pair[0]

    def _create_kwargs(self, request: ExtractionRequest, check: GroundingCheck) -> dict[str, Any]:
        s = self._settings
        kwargs: dict[str, Any] = {
            "model": s.model_name,
            "messages": list(request.messages),
            "response_model": DraftSummary,
            "max_retries": request.max_reasks,
            "context": {GROUNDING_CONTEXT_KEY: check},
            "strict": False,
        }
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if s.max_tokens is not None:
            kwargs["max_tokens"] = s.max_tokens
        if self._extra_body:
            kwargs["extra_body"] = dict(self._extra_body)
        return kwargs

    def _completion(self, draft: DraftSummary, check: GroundingCheck) -> Completion:
        return Completion(
            draft=draft,
            model=self.model,
            usage=_usage(draft),
            attempts=max(check.attempts, 1),
        )

    @contextmanager
    def _mapped_errors(self, check: GroundingCheck) -> Iterator[None]:
        try:
            yield
        except IncompleteOutputException as exc:
            raise TruncatedOutputError(
                f"the model hit max_tokens={self._settings.max_tokens} before finishing; "
                "raise max_tokens or use a larger model",
                model=self.model,
                attempts=max(check.attempts, 1),
            ) from exc
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, openai.OpenAIError):
                raise _from_sdk(cause, self.model, exc.n_attempts) from exc
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
            raise OutputError(
                f"the model's answer stayed invalid after {exc.n_attempts} attempt(s): "
                f"{first_line}",
                model=self.model,
                attempts=exc.n_attempts,
            ) from exc
        except openai.OpenAIError as exc:
            raise _from_sdk(exc, self.model, max(check.attempts, 1)) from exc


def _sync_transport(transport: Transport | None) -> httpx2.BaseTransport | None:
    if transport is None or isinstance(transport, httpx2.BaseTransport):
        return transport
    raise ConfigError(f"{type(transport).__name__} is async-only; use asummarize()")


def _async_transport(transport: Transport | None) -> httpx2.AsyncBaseTransport | None:
    if transport is None or isinstance(transport, httpx2.AsyncBaseTransport):
        return transport
    raise ConfigError(f"{type(transport).__name__} is sync-only; use summarize()")


def _from_sdk(exc: openai.OpenAIError, model: str, attempts: int) -> BackendError:
    """Map an openai SDK error to ours; transient ones are what the retry layer retries."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return BackendUnavailableError(
            f"could not reach the model endpoint: {exc}", model=model, attempts=attempts
        )
    if isinstance(exc, openai.LengthFinishReasonError):
        return TruncatedOutputError(str(exc), model=model, attempts=attempts)
    if not isinstance(exc, openai.APIStatusError):
        return BackendError(f"model call failed: {exc}", model=model, attempts=attempts)
    status = exc.status_code
    message = f"the endpoint answered HTTP {status}: {_error_message(exc)}"
    if status == 429:
        return RateLimitedError(
            message, model=model, attempts=attempts, retry_after=_retry_after(exc.response)
        )
    if status in TRANSIENT_STATUS_CODES or status >= 500:
        return BackendUnavailableError(message, model=model, attempts=attempts)
    return RequestRejectedError(message, model=model, attempts=attempts)


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(exc.message)


def _retry_after(response: httpx2.Response) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds form), if present."""
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            continue
    return None


def _usage(draft: DraftSummary) -> Usage:
    """Tokens over all attempts when instructor summed them, else the last response's."""
    usage = getattr(draft, "_total_usage", None)
    if usage is None:
        raw = getattr(draft, "_raw_response", None)
        usage = getattr(raw, "usage", None)
    if usage is None:
        return Usage()
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    total = int(getattr(usage, "total_tokens", 0) or 0) or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
