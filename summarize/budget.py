"""What one summarize call may still spend: HTTP requests, model answers and time.

The pipeline opens one `CallBudget` per call. The retry layer asks it how long the next
request may take and whether one more may start; the grounding check asks it whether a
re-ask is still possible, so a flawed answer that cannot be re-asked goes to the
``ungrounded`` policy instead of failing the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from summarize.journal import CallJournal

__all__ = ["CallBudget"]

_MIN_TIMEOUT = 0.001  # seconds: an HTTP timeout of 0 means "none" to some clients


@dataclass(slots=True)
class CallBudget:
    """The limits of one call, measured against its journal. One per call.

    Attributes:
        journal: Every request of the call so far.
        max_requests: HTTP requests the call may make, retries and re-asks included.
        max_answers: Model answers the call may ask for: the first plus its re-asks.
        timeout: Seconds one HTTP request may take.
        deadline: Seconds the whole call may take, waits and re-asks included (None: no limit).
        clock: Monotonic seconds that `deadline` is measured with.
        max_tokens: Cap on each answer (None: left out); `retry_truncated` may double it once.
        truncation_retried: Whether that doubling happened.
    """

    journal: CallJournal
    max_requests: int
    max_answers: int
    timeout: float
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic
    max_tokens: int | None = None
    truncation_retried: bool = False
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def time_left(self) -> float | None:
        """Seconds until the deadline (negative once past it); None without a deadline."""
        if self.deadline is None:
            return None
        return self.deadline - (self.clock() - self.started)

    def request_timeout(self) -> float:
        """Seconds the next HTTP request may take: `timeout`, or less near the deadline."""
        left = self.time_left()
        return self.timeout if left is None else max(min(self.timeout, left), _MIN_TIMEOUT)

    def requests_left(self) -> int:
        """HTTP requests the call may still make."""
        return self.max_requests - self.journal.count

    def time_for_another(self) -> bool:
        """Whether another request would end before the deadline.

        A re-ask takes about as long as the answer before it, so one that would end past
        the deadline is not started: its tokens would be paid for nothing.
        """
        left = self.time_left()
        if left is None:
            return True
        attempts = self.journal.attempts
        expected = attempts[-1].duration_s if attempts else 0.0
        return left > 0 and left >= expected

    def may_reask(self) -> bool:
        """Whether the answer just received may be answered with a re-ask."""
        return (
            self.journal.answers < self.max_answers
            and self.requests_left() > 0
            and self.time_for_another()
        )
