"""What one ask of a summarize call may still spend: HTTP requests, model answers and time.

A call (one article) makes one ask or several (a strategy may ask per sentence). Each ask gets
a `CallBudget`: its own allowance of requests and answers, while the journal and the deadline
are the call's. The retry layer asks the budget how long the next request may take and
whether one more may start; the grounding check asks it whether a re-ask is still possible,
so a flawed answer that cannot be re-asked goes to the ``ungrounded`` policy instead of
failing the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from summarize.journal import CallJournal

__all__ = ["REASK_TOKENS", "CallBudget"]

#: Tokens a re-ask adds besides the answer it quotes back: the validation errors.
REASK_TOKENS: Final = 400

_MIN_TIMEOUT = 0.001  # seconds: an HTTP timeout of 0 means "none" to some clients


@dataclass(slots=True)
class CallBudget:
    """The limits of one ask, measured against the call's journal.

    Attributes:
        journal: Every request of the call so far.
        max_requests: HTTP requests this ask may make, retries and re-asks included.
        max_answers: Model answers this ask may get: the first plus its re-asks.
        timeout: Seconds one HTTP request may take.
        deadline: Seconds the whole call may take, waits and re-asks included (None: no limit).
        clock: Monotonic seconds that `deadline` is measured with.
        max_tokens: Cap on each answer (None: left out); `retry_truncated` may double it once.
        truncation_retried: Whether that doubling happened.
        started: When the call started, on `clock` (set at creation unless given).
        last_duration: How long the latest request took, on `clock` (the retry layer notes it).
        context_window: Tokens one request may hold, prompt and answer, when known exactly
            (an in-process model's ``n_ctx``, or ``Settings.context_window``); None: unknown.
    """

    journal: CallJournal
    max_requests: int
    max_answers: int
    timeout: float
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic
    max_tokens: int | None = None
    truncation_retried: bool = False
    started: float | None = None
    last_duration: float = 0.0
    context_window: int | None = None
    _first: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()
        self._first = self.journal.count

    def next_ask(self, *, max_tokens: int | None) -> CallBudget:
        """A fresh allowance for the call's next ask: same journal, clock and deadline."""
        return replace(self, max_tokens=max_tokens, truncation_retried=False)

    def time_left(self) -> float | None:
        """Seconds until the deadline (negative once past it); None without a deadline."""
        if self.deadline is None or self.started is None:
            return None
        return self.deadline - (self.clock() - self.started)

    def request_timeout(self) -> float:
        """Seconds the next HTTP request may take: `timeout`, or less near the deadline."""
        left = self.time_left()
        return self.timeout if left is None else max(min(self.timeout, left), _MIN_TIMEOUT)

    def requests_left(self) -> int:
        """HTTP requests this ask may still make."""
        return self.max_requests - (self.journal.count - self._first)

    def answers(self) -> int:
        """Answers this ask has received so far (valid or not)."""
        return self.journal.answers_since(self._first)

    def time_for_another(self) -> bool:
        """Whether another request would end before the deadline.

        A re-ask takes about as long as the answer before it, so one that would end past
        the deadline is not started: its tokens would be paid for nothing.
        """
        left = self.time_left()
        return left is None or (left > 0 and left >= self.last_duration)

    def room_for_another(self) -> bool:
        """Whether a re-ask of this ask's last answer fits the context window.

        A re-ask carries the whole conversation so far, the answer being re-asked and the
        validation errors (`REASK_TOKENS`), and leaves room for a new answer. One that
        cannot fit is not sent: the server would refuse it.
        """
        attempts = self.journal.attempts[self._first :]
        if self.context_window is None or not attempts:
            return True
        last = attempts[-1].usage
        needed = last.prompt_tokens + last.completion_tokens + REASK_TOKENS
        return needed + (self.max_tokens or 0) <= self.context_window

    def may_reask(self) -> bool:
        """Whether the answer just received may be answered with a re-ask."""
        return (
            self.answers() < self.max_answers
            and self.requests_left() > 0
            and self.time_for_another()
            and self.room_for_another()
        )
