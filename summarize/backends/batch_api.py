"""The provider's Batch API: its requests built, its answers read, its Files and Batches endpoints.

A batch request must be the request the online path would send, and a batch answer must be
read as the online path reads one. Both come from the online stack itself: `replay` runs
`StructuredBackend` (instructor's re-ask loop, the grounding check, the openai sender's
request fields and answer checks) over the answers a unit already got from earlier batches.
Where instructor would send its next request, the replay stops and hands that request's body
back (`NextRequest`): the first request of an article, or the re-ask of an invalid or
ungrounded answer, built by instructor exactly as online. An answer it accepts comes back
validated, and what cannot be re-asked any more goes to the ``ungrounded`` policy, as online.

`BatchClient` uploads request files (Files API, purpose "batch"), creates batches
(``/v1/chat/completions``, completion window 24h), polls them and downloads their output and
error files, through the openai SDK. These control requests are retried by the SDK itself
(``retry.max_attempts - 1`` times): nothing else retries them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx2
import openai
from openai.types import Batch
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from summarize.backends.base import ChatBody, ExtractionRequest
from summarize.backends.http import OpenAISender, Redactor, Transport, _from_sdk, _scrub
from summarize.backends.structured import StructuredBackend
from summarize.budget import CallBudget
from summarize.config import Settings
from summarize.errors import BackendError, MalformedResponseError

__all__ = ["BATCH_ENDPOINT", "BatchClient", "BatchInfo", "NextRequest", "replay"]

BATCH_ENDPOINT: Final = "/v1/chat/completions"
#: Batch statuses after which nothing changes.
FINISHED: Final = frozenset({"completed", "failed", "expired", "cancelled"})


class NextRequest(BackendError):
    """Instructor asked for one more answer: `body` is the request to send (in a batch).

    Attributes:
        body: The JSON body of a ``/v1/chat/completions`` request.
    """

    def __init__(self, body: ChatBody, *, model: str) -> None:
        super().__init__("the next request is to be sent in a batch", model=model)
        self.body = body


def replay(
    settings: Settings, request: ExtractionRequest, answers: Sequence[Mapping[str, Any]]
) -> BaseModel:
    """Run the online re-ask loop over stored answers; the validated output, if it ends there.

    Args:
        settings: The summarizer's settings (model, sampling fields, mode, extra_body).
        request: The ask, with a fresh budget: its journal records each replayed answer.
        answers: The provider's answers so far, oldest first, each
            ``{"body": <chat completion>, "request_id": ...}``.

    Raises:
        NextRequest: Instructor asks again (no answer yet, or the last one was invalid or
            ungrounded and may be re-asked); carries the request body.
        BackendError: The answers end the call as online: `InvalidOutputError` after the
            last re-ask, `TruncatedError`, `RefusalError`, `MalformedResponseError`.
    """
    sender = _Replay(settings, answers)
    backend = StructuredBackend(sender, mode=settings.mode, redact=sender.redact)
    return backend.complete(request).output


class _Replay(OpenAISender):
    """A sender that answers from stored completions, and stops at the request after them."""

    def __init__(self, settings: Settings, answers: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(settings)
        self._answers = deque(answers)

    def send(self, body: ChatBody, budget: CallBudget) -> ChatCompletion:
        """The next stored answer, checked and recorded as online; or `NextRequest`."""
        if not self._answers:
            raise NextRequest(_json_body(self._request(body, budget)), model=self.model)
        answer = self._answers.popleft()
        started = time.perf_counter()
        try:
            response = ChatCompletion.model_validate(answer["body"])
        except (ValidationError, KeyError, TypeError):
            error = MalformedResponseError(
                "the batch's answer is not a chat completion", model=self.model, status=200
            )
            budget.journal.failed(error, duration=0.0)
            raise error from None
        response._request_id = answer.get("request_id")
        return self._received(response, started, budget)


def _json_body(request: ChatBody) -> ChatBody:
    """SDK keyword arguments as the JSON body they become: extra_body merged, no timeout."""
    body = {k: v for k, v in request.items() if k not in ("timeout", "extra_body")}
    return {**body, **request.get("extra_body", {})}


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What the provider says about one batch.

    Attributes:
        id: The batch id.
        status: validating, in_progress, finalizing, completed, failed, expired, cancelling
            or cancelled.
        input_file_id: The uploaded request file.
        output_file_id: Answers (HTTP 200), once there are any.
        error_file_id: Requests that failed, once there are any.
        total: Requests in the batch.
        completed: Requests answered.
        failed: Requests that failed.
        errors: Why the batch itself failed (validation), one line each.
    """

    id: str
    status: str
    input_file_id: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """Whether the batch will not change any more."""
        return self.status in FINISHED

    @classmethod
    def of(cls, batch: Batch) -> BatchInfo:
        """From the SDK's batch object."""
        counts = batch.request_counts
        errors = batch.errors.data if batch.errors is not None and batch.errors.data else []
        return cls(
            id=batch.id,
            status=batch.status,
            input_file_id=batch.input_file_id,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
            total=counts.total if counts else 0,
            completed=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            errors=tuple(
                f"line {e.line}: {e.message}" if e.line else str(e.message) for e in errors
            ),
        )


class BatchClient:
    """The Files and Batches endpoints of an OpenAI-compatible provider.

    Args:
        settings: Endpoint, key and timeout; ``retry.max_attempts`` bounds the SDK's tries.
        transport: An httpx2 transport to use instead of the network.

    Raises:
        BackendError: From every method, when the provider refuses or cannot be reached
            (`AuthenticationError`, `RequestRejectedError`, `ServiceUnavailableError`, ...).
    """

    def __init__(self, settings: Settings, *, transport: Transport | None = None) -> None:
        if transport is not None and not isinstance(transport, httpx2.BaseTransport):
            raise TypeError("BatchClient needs a sync httpx2 transport")
        self._model = settings.model_name
        self._redact = Redactor(settings.api_key)
        self._sdk = openai.OpenAI(
            api_key=settings.api_key or "not-needed",
            base_url=settings.base_url,
            max_retries=settings.retry.max_attempts - 1,
            timeout=settings.timeout,
            http_client=httpx2.Client(transport=transport) if transport else None,
        )

    def upload(self, name: str, content: bytes) -> str:
        """Upload a JSONL request file (purpose "batch"); its file id."""
        with self._mapped():
            return self._sdk.files.create(file=(name, content), purpose="batch").id

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        """Start a batch of ``/v1/chat/completions`` requests with a 24-hour window."""
        with self._mapped():
            batch = self._sdk.batches.create(
                input_file_id=input_file_id,
                endpoint=BATCH_ENDPOINT,
                completion_window="24h",
                metadata=dict(metadata),
            )
        return BatchInfo.of(batch)

    def find(self, input_file_id: str) -> BatchInfo | None:
        """A batch already made from this file, among the 100 newest (after a crash)."""
        with self._mapped():
            page = self._sdk.batches.list(limit=100)
        found = next((b for b in page.data if b.input_file_id == input_file_id), None)
        return None if found is None else BatchInfo.of(found)

    def retrieve(self, batch_id: str) -> BatchInfo:
        """The batch's status now."""
        with self._mapped():
            return BatchInfo.of(self._sdk.batches.retrieve(batch_id))

    def download(self, file_id: str) -> bytes:
        """A file's content (an output or error file)."""
        with self._mapped():
            return self._sdk.files.content(file_id).content

    def close(self) -> None:
        """Close the HTTP connections."""
        self._sdk.close()

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        """The SDK's errors as `summarize.errors`, as the online path raises them (key scrubbed)."""
        try:
            yield
        except openai.OpenAIError as exc:
            _scrub(exc, self._redact)
            raise _from_sdk(exc, self._model, self._redact) from exc
