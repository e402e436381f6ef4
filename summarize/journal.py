"""The record of one summarize call: every HTTP attempt, what it cost, how long we waited.

The backend writes one `Attempt` per request; the retry layer adds the wait it slept; the
pipeline copies the result into `Meta` on success, or onto the `BackendError` it raises.
"""

from __future__ import annotations

from summarize.errors import BackendError
from summarize.schema import Attempt, AttemptOutcome, Usage

__all__ = ["CallJournal"]


class CallJournal:
    """Attempts of one call, in order. One per call; not shared between threads."""

    def __init__(self) -> None:
        self._attempts: list[Attempt] = []

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        """Every attempt so far."""
        return tuple(self._attempts)

    @property
    def count(self) -> int:
        """Requests made so far."""
        return len(self._attempts)

    @property
    def answers(self) -> int:
        """Requests that brought back an answer to validate (valid or not)."""
        return self.answers_since(0)

    def answers_since(self, first: int) -> int:
        """Answers among the attempts from index `first` on."""
        return sum(a.outcome in ("ok", "invalid_output") for a in self._attempts[first:])

    @property
    def usage(self) -> Usage:
        """Tokens summed over every attempt."""
        prompt = sum(a.usage.prompt_tokens for a in self._attempts)
        completion = sum(a.usage.completion_tokens for a in self._attempts)
        total = sum(a.usage.total_tokens for a in self._attempts)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)

    def answered(
        self, *, status: int, request_id: str | None, usage: Usage, duration: float
    ) -> Attempt:
        """Record a request that brought back a usable answer (it may still fail validation)."""
        return self._add("ok", status, request_id, None, usage, duration)

    def failed(
        self, error: BackendError, *, usage: Usage | None = None, duration: float
    ) -> Attempt:
        """Record a request that failed with `error`."""
        return self._add(
            error.outcome, error.status, error.request_id, error.message, usage, duration
        )

    def rejected_output(self, reason: str) -> None:
        """Mark the last answer as invalid (instructor re-asks, or gives up)."""
        if self._attempts:
            last = self._attempts[-1]
            self._attempts[-1] = last.model_copy(
                update={"outcome": "invalid_output", "error": _one_line(reason)}
            )

    def waited(self, seconds: float) -> Attempt | None:
        """Note the back-off slept after the last attempt; returns that attempt."""
        if not self._attempts:
            return None
        last = self._attempts[-1].model_copy(update={"wait_s": round(seconds, 3)})
        self._attempts[-1] = last
        return last

    def annotate(self, error: BackendError) -> BackendError:
        """Copy the call's totals onto the error that ends it."""
        error.attempts = self.count
        error.usage = self.usage
        error.attempt_log = self.attempts
        if error.request_id is None:
            error.request_id = next(
                (a.request_id for a in reversed(self._attempts) if a.request_id), None
            )
        return error

    def _add(
        self,
        outcome: AttemptOutcome,
        status: int | None,
        request_id: str | None,
        error: str | None,
        usage: Usage | None,
        duration: float,
    ) -> Attempt:
        attempt = Attempt(
            number=len(self._attempts) + 1,
            outcome=outcome,
            status=status,
            request_id=request_id,
            error=_one_line(error) if error else None,
            usage=usage or Usage(),
            duration_s=round(duration, 3),
        )
        self._attempts.append(attempt)
        return attempt


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
