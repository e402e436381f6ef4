"""The rate-limit layer: a `Sender` wrapper every HTTP request of a `Summarizer` goes through.

One `Throttle` per `Summarizer` holds what all its calls share, sync and async alike:

- optional requests-per-minute and tokens-per-minute limits, each a token bucket (pyrate-limiter's
  `TokenBucket`: capacity one minute's allowance, refilled continuously, constant memory);
- a pause gate: when the endpoint answers with ``Retry-After`` (a 429, a 503, ...), no request
  of any call starts until that time has passed, not just the retry of the one that got it.

`ThrottledSender` sits under the retry layer, so every request takes from the limits: first
tries, retries and instructor's re-asks. A request's tokens are estimated before it is sent
(its JSON body's characters / 4, plus its ``max_tokens``, as providers count them) and the
difference to the usage the endpoint reports is carried into the next requests' charge. Cache
hits never reach a sender, so they never take from the limits. Time and sleeps are the retry
policy's (`RetryPolicy.clock`, ``sleep``, ``asleep``), so a `summarize.testing.FakeClock`
drives the limits too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pyrate_limiter import Duration, Rate, RateItem, StateBucket, TokenBucket

from summarize.backends.base import BackendKind, ChatBody, Sender
from summarize.budget import CallBudget
from summarize.config import Settings
from summarize.errors import DeadlineExceededError, TransientError

__all__ = ["Throttle", "ThrottledSender", "estimate_tokens"]

logger = logging.getLogger(__name__)

_CHARS_PER_TOKEN = 4  # the usual rough count for English text and JSON


def estimate_tokens(body: ChatBody, max_tokens: int | None) -> int:
    """Tokens a request may cost: its body's characters / 4, plus the answer's cap."""
    size = len(json.dumps(body, ensure_ascii=False, default=str))
    return math.ceil(size / _CHARS_PER_TOKEN) + (max_tokens or 0)


@dataclass(slots=True)
class _Ticket:
    """What one request has taken so far (nothing is taken twice while it waits)."""

    tokens: int
    request_taken: bool = False
    tokens_taken: bool = False


class Throttle:
    """Requests-per-minute and tokens-per-minute limits and a pause gate, thread-safe.

    Args:
        rpm: Requests per minute at most (None: no limit).
        tpm: Tokens per minute at most (None: no limit).
        max_pause: Longest pause one ``Retry-After`` may impose, in seconds.
        clock: Monotonic seconds.
        sleep: Blocking sleep.
        asleep: Async sleep.
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.max_pause = max_pause
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep
        self._requests = _per_minute(rpm)
        self._tokens = _per_minute(tpm)
        self._owed = 0  # tokens used beyond the estimates so far (negative: fewer)
        self._resume_at = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        """The limits `settings` ask for, on the retry policy's clock and sleeps."""
        retry = settings.retry
        return cls(
            rpm=settings.rpm,
            tpm=settings.tpm,
            max_pause=retry.max_wait,
            clock=retry.clock,
            sleep=retry.sleep,
            asleep=retry.asleep,
        )

    def pause(self, seconds: float) -> None:
        """Hold every request that has not started for `seconds` (capped by `max_pause`)."""
        seconds = min(seconds, self.max_pause)
        with self._lock:
            resume_at = self.clock() + seconds
            if resume_at > self._resume_at:
                self._resume_at = resume_at
                logger.info("endpoint asked to wait: holding new requests for %.2fs", seconds)

    def acquire(self, tokens: int, budget: CallBudget | None = None, *, model: str = "") -> None:
        """Block until a request of `tokens` may start; take it from the limits.

        Raises:
            DeadlineExceededError: The wait would end past the call's deadline.
        """
        ticket = _Ticket(tokens)
        while (wait := self._wait(ticket)) > 0:
            _check_deadline(wait, budget, model)
            self.sleep(wait)

    async def aacquire(
        self, tokens: int, budget: CallBudget | None = None, *, model: str = ""
    ) -> None:
        """Async `acquire`: waits without blocking the event loop."""
        ticket = _Ticket(tokens)
        while (wait := self._wait(ticket)) > 0:
            _check_deadline(wait, budget, model)
            await self.asleep(wait)

    def settle(self, estimated: int, used: int) -> None:
        """Carry the difference between a request's estimate and its usage into the next ones."""
        if self._tokens is not None:
            with self._lock:
                self._owed += used - estimated

    def _wait(self, ticket: _Ticket) -> float:
        """Seconds to wait before asking again; 0 once the request may start."""
        with self._lock:
            now = self.clock()
            if now < self._resume_at:
                return self._resume_at - now
            if not ticket.request_taken:
                wait = _take(self._requests, 1, now)
                if wait:
                    return wait
                ticket.request_taken = True
            if not ticket.tokens_taken and self._tokens is not None:
                assert self.tpm is not None
                charge = ticket.tokens + self._owed
                wait = _take(self._tokens, min(max(charge, 0), self.tpm), now)
                if wait:
                    return wait
                ticket.tokens_taken = True
                self._owed = min(charge, 0)  # a credit carries on; a charge over tpm is dropped
            return 0.0


class ThrottledSender:
    """Wraps a sender: each request waits for the `throttle`; ``Retry-After`` pauses them all."""

    def __init__(self, wrapped: Sender, throttle: Throttle) -> None:
        self.wrapped = wrapped
        self.throttle = throttle

    @property
    def kind(self) -> BackendKind:
        """The wrapped sender's kind."""
        return self.wrapped.kind

    @property
    def model(self) -> str:
        """The wrapped sender's model."""
        return self.wrapped.model

    def send(self, body: ChatBody, budget: CallBudget) -> Any:
        """Wait for the limits, then send `body`."""
        tokens = self._estimate(body, budget)
        self.throttle.acquire(tokens, budget, model=self.model)
        first = budget.journal.count
        try:
            return self.wrapped.send(body, budget)
        except TransientError as error:
            self._paused_by(error)
            raise
        finally:
            self._settle(tokens, budget, first)

    async def asend(self, body: ChatBody, budget: CallBudget) -> Any:
        """Async `send`."""
        tokens = self._estimate(body, budget)
        await self.throttle.aacquire(tokens, budget, model=self.model)
        first = budget.journal.count
        try:
            return await self.wrapped.asend(body, budget)
        except TransientError as error:
            self._paused_by(error)
            raise
        finally:
            self._settle(tokens, budget, first)

    def close(self) -> None:
        """Close the wrapped sender."""
        self.wrapped.close()

    async def aclose(self) -> None:
        """Close the wrapped sender's async connections."""
        await self.wrapped.aclose()

    def _estimate(self, body: ChatBody, budget: CallBudget) -> int:
        return estimate_tokens(body, budget.max_tokens) if self.throttle.tpm is not None else 0

    def _paused_by(self, error: TransientError) -> None:
        if error.retry_after is not None:
            self.throttle.pause(error.retry_after)

    def _settle(self, estimated: int, budget: CallBudget, first: int) -> None:
        """Correct the estimate from the usage the endpoint reported, when it reported one."""
        if estimated and budget.journal.count > first:
            used = budget.journal.attempts[-1].usage.total_tokens
            if used:
                self.throttle.settle(estimated, used)


def _per_minute(limit: int | None) -> StateBucket | None:
    if limit is None:
        return None
    return StateBucket([Rate(limit, Duration.MINUTE)], algorithm=TokenBucket())


def _take(bucket: StateBucket | None, weight: int, now: float) -> float:
    """Take `weight` from `bucket` at `now`; 0 when taken, else seconds until it fits."""
    if bucket is None or weight <= 0:
        return 0.0
    decision = bucket.put_decision(RateItem("summarize", int(now * 1000), weight))
    assert not isinstance(decision, Awaitable)  # an in-memory bucket answers at once
    if decision.allowed:
        return 0.0
    return max(decision.retry_after_ms or 1, 1) / 1000


def _check_deadline(wait: float, budget: CallBudget | None, model: str) -> None:
    left = budget.time_left() if budget is not None else None
    if left is not None and wait > left:
        raise DeadlineExceededError(
            f"the rate limits hold requests for {wait:.2f}s, past the call's deadline "
            f"({max(left, 0.0):.2f}s left)",
            model=model,
            retry_after=wait,
        )
