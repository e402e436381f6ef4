"""The transient-failure policy: a backend wrapper that retries with tenacity.

It retries only `TransientBackendError` (connection failures, timeouts, 429, 5xx). Validation
re-asks are instructor's; the SDK's own retries are off, so the two never stack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from summarize.backends.base import Backend, BackendKind, Completion, ExtractionRequest
from summarize.errors import RateLimitedError, TransientBackendError

__all__ = ["RetryPolicy", "RetryingBackend"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        retries: Extra attempts after the first.
        initial_wait: First back-off in seconds; it doubles each time, with jitter.
        max_wait: Longest single back-off in seconds (a server's Retry-After is
            honoured up to this too).
    """

    retries: int = 3
    initial_wait: float = 0.5
    max_wait: float = 30.0


class RetryingBackend:
    """Wraps a backend; does nothing on its own but call it again after transient failures."""

    def __init__(self, wrapped: Backend, policy: RetryPolicy) -> None:
        self.wrapped = wrapped
        self.policy = policy
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.initial_wait
        )

    @property
    def kind(self) -> BackendKind:
        """The wrapped backend's kind."""
        return self.wrapped.kind

    @property
    def model(self) -> str:
        """The wrapped backend's model."""
        return self.wrapped.model

    def complete(self, request: ExtractionRequest) -> Completion:
        """Call the wrapped backend, retrying transient failures."""
        for attempt in Retrying(**self._tenacity_kwargs()):
            with attempt:
                completion = self.wrapped.complete(request)
        return self._count(completion, attempt.retry_state)

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Async twin of `complete`."""
        async for attempt in AsyncRetrying(**self._tenacity_kwargs()):
            with attempt:
                completion = await self.wrapped.acomplete(request)
        return self._count(completion, attempt.retry_state)

    def close(self) -> None:
        """Close the wrapped backend."""
        self.wrapped.close()

    async def aclose(self) -> None:
        """Close the wrapped backend's async connections."""
        await self.wrapped.aclose()

    def _tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "stop": stop_after_attempt(self.policy.retries + 1),
            "wait": self._wait,
            "retry": retry_if_exception_type(TransientBackendError),
            "after": _note_attempts,
            "before_sleep": _log_retry,
            "reraise": True,
        }

    def _wait(self, state: RetryCallState) -> float:
        """Exponential back-off with jitter, but never shorter than a server's Retry-After."""
        backoff = float(self._backoff(state))
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(backoff, error.retry_after), self.policy.max_wait)
        return backoff

    @staticmethod
    def _count(completion: Completion, state: RetryCallState) -> Completion:
        failed_calls = state.attempt_number - 1
        return replace(completion, attempts=completion.attempts + failed_calls)


def _log_retry(state: RetryCallState) -> None:
    wait = state.next_action.sleep if state.next_action else 0.0
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "model call %d failed (%s); retrying in %.1fs", state.attempt_number, error, wait
    )


def _note_attempts(state: RetryCallState) -> None:
    """Keep the running count on the error, so the one finally raised says how many calls."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, TransientBackendError):
        error.attempts = state.attempt_number
