"""Instructor's re-ask loop: from rendered messages to a validated `DraftSummary`.

Instructor builds each request (the schema as a forced tool call, a JSON schema, ...), parses
the answer, and re-asks with the validation error when it is invalid, at most ``max_reasks``
times. Every request goes through a `Sender` (the retry layer over the HTTP one), so a
transient failure is retried where it happened and the conversation goes on from there.
The only importer of instructor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import instructor
from instructor.core.exceptions import InstructorRetryException
from instructor.core.hooks import Hooks

from summarize.backends.base import BackendKind, Completion, ExtractionRequest, Sender
from summarize.backends.http import Redactor, first_line
from summarize.config import Mode
from summarize.draft import GroundingCheck, grounding_scope
from summarize.errors import BackendError, InvalidOutputError

__all__ = ["StructuredBackend"]

_MODES: Final = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}

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


class StructuredBackend:
    """Structured extraction through instructor, each request made by `sender`.

    Args:
        sender: Makes one HTTP request (usually the retry layer over the HTTP sender).
        mode: How instructor asks for structure.
        redact: Removes the API key from messages built here.
    """

    def __init__(self, sender: Sender, *, mode: Mode, redact: Redactor) -> None:
        self.sender = sender
        self._mode = mode
        self._redact = redact

    @property
    def kind(self) -> BackendKind:
        """The sender's kind: local or openai."""
        return self.sender.kind

    @property
    def model(self) -> str:
        """The model asked."""
        return self.sender.model

    def complete(self, request: ExtractionRequest) -> Completion:
        """Ask the model, blocking; re-asks happen inside instructor."""
        budget = request.budget

        def send(**body: Any) -> Any:
            return self.sender.send(body, budget)

        create = instructor.patch(create=send, mode=_MODES[request.mode or self._mode])
        try:
            with self._active(request):
                output = create(**self._create_kwargs(request))
        except InstructorRetryException as exc:
            error = self._error(exc, request)
        else:
            return Completion(output=output, model=self.model)
        raise error  # outside the except: see `_error`

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Ask the model without blocking the event loop."""
        budget = request.budget

        async def send(**body: Any) -> Any:
            return await self.sender.asend(body, budget)

        create = instructor.patch(create=send, mode=_MODES[request.mode or self._mode])
        try:
            with self._active(request):
                output = await create(**self._create_kwargs(request))
        except InstructorRetryException as exc:
            error = self._error(exc, request)
        else:
            return Completion(output=output, model=self.model)
        raise error  # outside the except: see `_error`

    def close(self) -> None:
        """Close the sender's sync connections."""
        self.sender.close()

    async def aclose(self) -> None:
        """Close the sender's async connections of the running event loop."""
        await self.sender.aclose()

    def _create_kwargs(self, request: ExtractionRequest) -> dict[str, Any]:
        # No `timeout` here: instructor would take it as a limit on its whole re-ask loop.
        # The sender sets each request's own timeout from the call's budget.
        hooks = Hooks()
        hooks.on("parse:error", self._rejected(request))
        return {
            "messages": list(request.messages),
            "response_model": request.response_model,
            "max_retries": request.max_reasks,
            "strict": False,
            "hooks": hooks,
        }

    def _rejected(self, request: ExtractionRequest) -> Any:
        def output_rejected(error: Exception, **_: Any) -> None:
            request.journal.rejected_output(self._redact(str(error)))

        return output_rejected

    @contextmanager
    def _active(self, request: ExtractionRequest) -> Iterator[None]:
        """Around instructor's call: the grounding check on, its logs quiet."""
        check = GroundingCheck(request.article, may_reask=request.budget.may_reask)
        token = _IN_CALL.set(True)
        try:
            with grounding_scope(check):
                yield
        finally:
            _IN_CALL.reset(token)

    def _error(self, exc: InstructorRetryException, request: ExtractionRequest) -> BaseException:
        """Our error for instructor's give-up, to raise where no exception is being handled.

        A sender's `BackendError` is instructor's ``__cause__``; raised again inside the
        ``except``, it would get instructor's exception as its ``__context__``: a cycle that
        recursive picklers (tblib, which Dask installs) never leave.
        """
        cause = exc.__cause__
        if isinstance(cause, BackendError):
            return cause  # raised by a sender, already recorded
        reason = self._redact(first_line(str(cause or exc)))
        error = InvalidOutputError(
            f"the model's answer stayed invalid after {exc.n_attempts} attempt(s) "
            f"({request.max_reasks} re-ask(s) allowed): {reason}",
            model=self.model,
            status=200,
        )
        error.__cause__ = exc  # the pipeline's journal adds the last request id
        return error
