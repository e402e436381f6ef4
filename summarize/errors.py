"""The error tree. Catch `SummarizeError` to catch everything this library raises.

    SummarizeError
    ├── InputError                 bad article, raised before any LLM call (also a ValueError)
    │   ├── EmptyInputError        empty or whitespace-only text
    │   ├── BinaryInputError       not UTF-8, or text with binary control characters
    │   └── InputTooLargeError     longer than `Settings.max_input_chars`
    ├── ConfigError                bad settings, or a missing optional extra
    ├── PromptError                a prompt file is missing, malformed or unknown
    ├── BackendError               the model call failed; carries `model` and `attempts`
    │   ├── TransientBackendError  worth retrying (the retry layer owns these)
    │   │   ├── BackendUnavailableError  connection refused/reset, timeouts, 5xx
    │   │   └── RateLimitedError         HTTP 429; carries `retry_after` (seconds)
    │   ├── RequestRejectedError   refused: auth, unknown model, bad request
    │   └── OutputError            the model answered but its output stayed invalid after re-asks
    │       └── TruncatedOutputError   the answer hit `max_tokens` before the JSON was complete
    └── GroundingError             policy "raise" and a quote is not in the article

Every error's message is one line that says what went wrong and, where it helps, what to do.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "BinaryInputError",
    "ConfigError",
    "EmptyInputError",
    "GroundingError",
    "InputError",
    "InputTooLargeError",
    "OutputError",
    "PromptError",
    "RateLimitedError",
    "RequestRejectedError",
    "SummarizeError",
    "TransientBackendError",
    "TruncatedOutputError",
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


class ConfigError(SummarizeError, ValueError):
    """Settings are invalid or an optional dependency is missing."""


class PromptError(SummarizeError):
    """A prompt file is missing, malformed, or names an unknown version."""


class BackendError(SummarizeError):
    """The model call failed.

    Attributes:
        model: The model that was asked.
        attempts: How many calls were made before giving up (0 when unknown).
    """

    def __init__(self, message: str, *, model: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.model = model
        self.attempts = attempts


class TransientBackendError(BackendError):
    """A failure that may pass if the same call is made again."""


class BackendUnavailableError(TransientBackendError):
    """The endpoint could not be reached, timed out, or answered with a 5xx."""


class RateLimitedError(TransientBackendError):
    """The endpoint answered 429.

    Attributes:
        retry_after: Seconds the server asked us to wait, when it said.
    """

    def __init__(
        self, message: str, *, model: str = "", attempts: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(message, model=model, attempts=attempts)
        self.retry_after = retry_after


class RequestRejectedError(BackendError):
    """The provider refused the request (authentication, unknown model, bad request)."""


class OutputError(BackendError):
    """The model's answer could not be turned into a valid summary, even after re-asks."""


class TruncatedOutputError(OutputError):
    """The model hit its `max_tokens` limit before finishing the answer."""


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
