"""The transient-failure layer: a backend wrapper that retries with tenacity.

It owns `TransientError` (HTTP 408/409/429/5xx, lost connections, timeouts) and, when asked,
one retry of a `TruncatedError` with a larger ``max_tokens``. Re-asks after invalid output
are instructor's; the SDK's own retries are off, so no two layers retry the same failure.
Each retry is logged at INFO on the ``summarize.retry`` logger and recorded in the journal.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential,
    wait_random_exponential,
)

from summarize.backends.base import Backend, BackendKind, Completion, ExtractionRequest
from summarize.config import RetryPolicy
from summarize.errors import RateLimitError, TransientError, TruncatedError

__all__ = ["RetryingBackend"]

logger = logging.getLogger(__name__)


class RetryingBackend:
    """Wraps a backend; calls it again after transient failures, as `policy` allows."""

    def __init__(self, wrapped: Backend, policy: RetryPolicy) -> None:
        self.wrapped = wrapped
        self.policy = policy

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
        run = _Run(self.policy, request)
        for attempt in Retrying(sleep=self.policy.sleep, **run.tenacity_kwargs()):
            with attempt:
                completion = self.wrapped.complete(run.next_request())
        return completion

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Async twin of `complete`: the same policy, awaiting its sleeps."""
        run = _Run(self.policy, request)
        async for attempt in AsyncRetrying(sleep=self.policy.asleep, **run.tenacity_kwargs()):
            with attempt:
                completion = await self.wrapped.acomplete(run.next_request())
        return completion

    def close(self) -> None:
        """Close the wrapped backend."""
        self.wrapped.close()

    async def aclose(self) -> None:
        """Close the wrapped backend's async connections."""
        await self.wrapped.aclose()


class _Run:
    """The retry state of one call: its deadline and whether truncation was retried."""

    def __init__(self, policy: RetryPolicy, request: ExtractionRequest) -> None:
        self.policy = policy
        self.request = request
        self.started = policy.clock()
        self.truncation_retried = False
        if policy.jitter:
            self.backoff: Any = wait_random_exponential(
                multiplier=policy.initial_wait, max=policy.max_wait
            )
        else:
            self.backoff = wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "stop": self.stop,
            "wait": self.wait,
            "retry": retry_if_exception(self.retryable),
            "before_sleep": self.before_sleep,
            "reraise": True,
        }

    def remaining(self) -> float | None:
        if self.policy.deadline is None:
            return None
        return self.policy.deadline - (self.policy.clock() - self.started)

    def next_request(self) -> ExtractionRequest:
        """The request for the next try: the time left as its timeout, a grown max_tokens."""
        remaining = self.remaining()
        if remaining is not None:
            return replace(self.request, timeout=max(remaining, 0.001))
        return self.request

    def retryable(self, error: BaseException) -> bool:
        if isinstance(error, TransientError):
            return True
        if (
            isinstance(error, TruncatedError)
            and self.policy.retry_truncated
            and not self.truncation_retried
            and self.request.max_tokens is not None
        ):
            self.truncation_retried = True
            self.request = replace(self.request, max_tokens=self.request.max_tokens * 2)
            return True
        return False

    def wait(self, state: RetryCallState) -> float:
        """Back-off with full jitter; a server's Retry-After instead, when it sent one."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TruncatedError):
            return 0.0
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait)
        return float(self.backoff(state))

    def stop(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and state.attempt_number >= self.policy.max_attempts:
            return True
        remaining = self.remaining()
        return remaining is not None and state.upcoming_sleep >= remaining

    def before_sleep(self, state: RetryCallState) -> None:
        wait = state.upcoming_sleep
        error = state.outcome.exception() if state.outcome else None
        record = self.request.journal.waited(wait)
        logger.info(
            "model call failed (%s); retry %d in %.2fs",
            error,
            state.attempt_number,
            wait,
            extra={"summarize_wait": wait, "summarize_attempt": record},
        )
        if self.policy.on_retry is not None and record is not None:
            try:
                self.policy.on_retry(record)
            except Exception:  # a broken metrics hook must not fail the call
                logger.warning("on_retry hook raised; ignoring it", exc_info=True)
