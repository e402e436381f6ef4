"""The transient-failure layer: a `Sender` wrapper that retries one request with tenacity.

It wraps each HTTP request of a call, inside instructor's re-ask loop, so a 503 on a re-ask
retries that re-ask: the conversation goes on where it failed. It owns `TransientError`
(HTTP 408/409/429/5xx, lost connections, timeouts), ``Retry-After`` on any status that sends
it, one retry of a `TruncatedError` with a larger ``max_tokens`` when asked, and the call's
limits: no request or retry starts past the deadline, and no more than ``max_requests``
requests are made. Re-asks after invalid output are instructor's; the SDK's own retries are
off, so no two layers retry the same failure. Each retry is logged at INFO on the
``summarize.retry`` logger and recorded in the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential,
    wait_random_exponential,
)

from summarize.backends.base import ChatBody, Sender, SenderLayer
from summarize.budget import CallBudget
from summarize.config import RetryPolicy
from summarize.errors import (
    DeadlineExceededError,
    InvalidOutputError,
    TransientError,
    TruncatedError,
)

__all__ = ["RetryingSender"]

logger = logging.getLogger(__name__)


class RetryingSender(SenderLayer):
    """Wraps a sender; sends a request again after transient failures, as `policy` allows."""

    def __init__(self, wrapped: Sender, policy: RetryPolicy) -> None:
        super().__init__(wrapped)
        self.policy = policy
        if policy.jitter:
            self._backoff: Any = wait_random_exponential(
                multiplier=policy.initial_wait, max=policy.max_wait
            )
        else:
            self._backoff = wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def send(self, body: ChatBody, budget: CallBudget) -> Any:
        """Send `body`, retrying transient failures."""
        run = _Request(self, budget)
        for attempt in Retrying(sleep=self.policy.sleep, **run.tenacity_kwargs()):
            with attempt, run.timed():
                answer = self.wrapped.send(body, budget)
        return answer

    async def asend(self, body: ChatBody, budget: CallBudget) -> Any:
        """Async twin of `send`: the same policy, awaiting its sleeps."""
        run = _Request(self, budget)
        async for attempt in AsyncRetrying(sleep=self.policy.asleep, **run.tenacity_kwargs()):
            with attempt, run.timed():
                answer = await self.wrapped.asend(body, budget)
        return answer


class _Request:
    """The retry state of one request: the policy's rules applied to the call's budget."""

    def __init__(self, layer: RetryingSender, budget: CallBudget) -> None:
        self.policy = layer.policy
        self.backoff = layer._backoff
        self.model = layer.model
        self.budget = budget
        self.ensure_allowed()

    def ensure_allowed(self) -> None:
        """Raise when the call may not make another request (only re-asks get here late)."""
        budget = self.budget
        if budget.requests_left() <= 0:
            raise InvalidOutputError(
                f"the model's answer was invalid and the call's {budget.max_requests} "
                "requests (max_requests) are spent",
                model=self.model,
                status=200,
            )
        if not budget.room_for_another():
            raise InvalidOutputError(
                f"the model's answer was invalid and a re-ask would not fit the context window "
                f"of {budget.context_window} tokens",
                model=self.model,
                status=200,
            )
        if not budget.time_for_another():
            left = max(budget.time_left() or 0.0, 0.0)
            raise DeadlineExceededError(
                f"the call's deadline of {budget.deadline:g}s leaves {left:.2f}s, too little "
                f"for re-ask {budget.answers()} (the last answer was invalid)",
                model=self.model,
            )

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Note how long one try took on the policy's clock (re-asks are judged by it)."""
        started = self.budget.clock()
        try:
            yield
        finally:
            self.budget.last_duration = self.budget.clock() - started

    def tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "stop": self.stop,
            "wait": self.wait,
            "retry": retry_if_exception(self.retryable),
            "before_sleep": self.before_sleep,
            "reraise": True,
        }

    def retryable(self, error: BaseException) -> bool:
        if isinstance(error, TransientError):
            return True
        budget = self.budget
        if (
            isinstance(error, TruncatedError)
            and self.policy.retry_truncated
            and not budget.truncation_retried
            and budget.max_tokens is not None
        ):
            # Decided here because this is where tenacity says a retry follows.
            budget.truncation_retried = True
            budget.max_tokens *= 2
            return True
        return False

    def wait(self, state: RetryCallState) -> float:
        """Back-off with full jitter; the server's Retry-After instead, when it sent one."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TruncatedError):
            return 0.0
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait)
        return float(self.backoff(state))

    def stop(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and state.attempt_number >= self.policy.max_attempts:
            return True
        if self.budget.requests_left() <= 0:
            return True
        left = self.budget.time_left()
        return left is not None and state.upcoming_sleep >= left

    def before_sleep(self, state: RetryCallState) -> None:
        wait = state.upcoming_sleep
        error = state.outcome.exception() if state.outcome else None
        record = self.budget.journal.waited(wait)
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
