"""The error tree. Catch `SummarizeError` to catch everything this library raises.

    SummarizeError
    ├── InputError                   bad article, raised before any model call (also a ValueError)
    │   ├── EmptyInputError          empty or whitespace-only text
    │   ├── BinaryInputError         not UTF-8, or text with binary control characters
    │   └── InputTooLargeError       longer than `Settings.max_input_chars`
    ├── ConfigError                  bad settings, or a missing optional extra (also a ValueError)
    ├── PromptError                  a prompt file is missing, malformed or unknown
    ├── CacheError                   a cache read failed (only with cache_errors="raise";
    │                                a failed write keeps the summary: CacheWarning)
    ├── BackendError                 the model call failed; see the attributes below
    │   ├── TransientError           may pass on a retry; raised once attempts or deadline ran out
    │   │   ├── RateLimitError       HTTP 429; carries `retry_after`
    │   │   ├── ServiceUnavailableError  HTTP 408/409/5xx, connection refused/reset, body cut off
    │   │   └── RequestTimeoutError  no answer within `timeout` (or the retry deadline)
    │   │       └── DeadlineExceededError  the call's deadline passed before a re-ask could start
    │   ├── RequestRejectedError     other 4xx (bad request, unknown model): never retried
    │   │   └── AuthenticationError  HTTP 401/403: check the API key
    │   └── ResponseError            the endpoint answered, but not with a usable summary
    │       ├── TruncatedError       finish_reason "length": raise `max_tokens`
    │       ├── RefusalError         the model refused, or a content filter stopped it
    │       ├── MalformedResponseError  not a chat completion (no choices, not JSON)
    │       └── InvalidOutputError   output still invalid after `max_reasks` re-asks
    └── GroundingError               policy "raise" and a quote is not in the article

Every `BackendError` carries ``attempts`` (HTTP requests made), ``usage`` (tokens summed over
every attempt), ``request_id`` (the provider's, when known), ``status`` (the HTTP status, when
there was one), ``message`` (the last error's message) and ``attempt_log`` (one `Attempt` per
request). Messages are one line, never contain the API key, and say what to do where it helps.
"""

from __future__ import annotations

from typing import ClassVar

from summarize.items import Attempt, AttemptOutcome, Usage

__all__ = [
    "AuthenticationError",
    "BackendError",
    "BinaryInputError",
    "CacheError",
    "CacheWarning",
    "ConfigError",
    "DeadlineExceededError",
    "EmptyInputError",
    "GroundingError",
    "InputError",
    "InputTooLargeError",
    "InvalidOutputError",
    "MalformedResponseError",
    "PromptError",
    "RateLimitError",
    "RefusalError",
    "RequestRejectedError",
    "RequestTimeoutError",
    "ResponseError",
    "ServiceUnavailableError",
    "SummarizeError",
    "TransientError",
    "TruncatedError",
]


class SummarizeError(Exception):
    """Base class of every error raised by `summarize`."""


class InputError(SummarizeError, ValueError):
    """The article cannot be summarized as given; nothing was sent to a model."""


class EmptyInputError(InputError):
    """The article is empty or only whitespace."""


class BinaryInputError(InputError):
    """The article is not text (undecodable bytes or binary control characters)."""


class InputTooLargeError(InputError):
    """The article is longer than the configured limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"article is {size:,} characters, over the limit of {limit:,} "
            "(raise it with max_input_chars=...)"
        )
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[type[InputTooLargeError], tuple[int, int]]:
        return (type(self), (self.size, self.limit))  # picklable, e.g. out of a process pool


class ConfigError(SummarizeError, ValueError):
    """Settings are invalid or an optional dependency is missing."""


class PromptError(SummarizeError):
    """A prompt file is missing, malformed, or names an unknown version."""


class CacheError(SummarizeError):
    """A cache store could not be read or written.

    Raised only with ``cache_errors="raise"``; by default the call goes on uncached.
    """


class CacheWarning(UserWarning):
    """A summary was computed (and paid for) but could not be stored in the cache.

    Issued with ``cache_errors="raise"``, where a failed write must not throw the summary away;
    ``meta.cache_error`` says the same on the summary itself.
    """


class BackendError(SummarizeError):
    """The model call failed.

    Attributes:
        message: The last error's message (``str(error)`` adds the attempt count).
        model: The model that was asked.
        status: The HTTP status of the last failed request, when there was one.
        request_id: The provider's id of the last request, when it sent one.
        attempts: HTTP requests made in this call (retries and re-asks included).
        usage: Tokens summed over every attempt, failed ones included.
        attempt_log: One record per request: outcome, status, wait slept afterwards.
        outcome: How `Attempt.outcome` names a request that failed this way.
    """

    outcome: ClassVar[AttemptOutcome] = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.model = model
        self.status = status
        self.request_id = request_id
        self.attempts = 0
        self.usage = Usage()
        self.attempt_log: tuple[Attempt, ...] = ()

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} (gave up after {self.attempts} attempts)"
        return self.message


class TransientError(BackendError):
    """A failure that may pass if the same request is made again; the retry layer retries these.

    Attributes:
        retry_after: Seconds the server asked us to wait (``Retry-After``), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, model=model, status=status, request_id=request_id)
        self.retry_after = retry_after


class RateLimitError(TransientError):
    """The endpoint answered HTTP 429."""

    outcome = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status: int | None = 429,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, model=model, status=status, request_id=request_id, retry_after=retry_after
        )


class ServiceUnavailableError(TransientError):
    """The endpoint could not be reached, dropped the connection, or answered 408/409/5xx."""

    outcome = "unavailable"


class RequestTimeoutError(TransientError):
    """No answer arrived within the timeout (or what was left of the retry deadline)."""

    outcome = "timeout"


class DeadlineExceededError(RequestTimeoutError):
    """The call's `RetryPolicy.deadline` passed before the next request (a re-ask) could start."""


class RequestRejectedError(BackendError):
    """The endpoint refused the request (bad request, unknown model, ...); never retried."""

    outcome = "rejected"


class AuthenticationError(RequestRejectedError):
    """HTTP 401 or 403: the API key is missing, wrong, or lacks access to the model."""


class ResponseError(BackendError):
    """The endpoint answered, but the answer cannot become a summary."""


class TruncatedError(ResponseError):
    """The model hit ``max_tokens`` before finishing its answer (never re-asked)."""

    outcome = "truncated"


class RefusalError(ResponseError):
    """The model refused to answer, or the provider's content filter stopped it."""

    outcome = "refused"


class MalformedResponseError(ResponseError):
    """The response is not a usable chat completion (not JSON, or no choices)."""

    outcome = "malformed"


class InvalidOutputError(ResponseError):
    """The model's output stayed invalid (bad JSON, wrong schema) after every re-ask."""

    outcome = "invalid_output"


class GroundingError(SummarizeError):
    """Some evidence quotes are not in the article and the policy is "raise".

    Attributes:
        quotes: The quotes that could not be found.
    """

    def __init__(self, quotes: list[str]) -> None:
        shown = "; ".join(repr(q[:80]) for q in quotes[:3])
        more = f" (+{len(quotes) - 3} more)" if len(quotes) > 3 else ""
        super().__init__(f"{len(quotes)} quote(s) not found in the article: {shown}{more}")
        self.quotes = quotes
