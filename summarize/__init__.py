"""Typed, grounded summaries of news articles.

from summarize import Summarizer
summary = Summarizer().summarize(article_text)     # embedded local model, no API key
for w in summary.warnings:
print(w.by, "→", w.target, w.consequence, w.evidence[0].quote)
"""

from summarize.config import RetryPolicy, Settings
from summarize.errors import (
    AuthenticationError,
    BackendError,
    BinaryInputError,
    CacheError,
    CacheWarning,
    ConfigError,
    DeadlineExceededError,
    EmptyInputError,
    GroundingError,
    InputError,
    InputTooLargeError,
    InvalidOutputError,
    MalformedResponseError,
    PromptError,
    RateLimitError,
    RefusalError,
    RequestRejectedError,
    RequestTimeoutError,
    ResponseError,
    ServiceUnavailableError,
    SummarizeError,
    TransientError,
    TruncatedError,
)
from summarize.pipeline import Summarizer, asummarize, summarize
from summarize.schema import (
    Actor,
    ArticleSummary,
    Attempt,
    Evidence,
    Meta,
    Position,
    Rebuttal,
    Usage,
    Venue,
    WarningItem,
)

__all__ = [
    "Actor",
    "ArticleSummary",
    "Attempt",
    "AuthenticationError",
    "BackendError",
    "BinaryInputError",
    "CacheError",
    "CacheWarning",
    "ConfigError",
    "DeadlineExceededError",
    "EmptyInputError",
    "Evidence",
    "GroundingError",
    "InputError",
    "InputTooLargeError",
    "InvalidOutputError",
    "MalformedResponseError",
    "Meta",
    "Position",
    "PromptError",
    "RateLimitError",
    "Rebuttal",
    "RefusalError",
    "RequestRejectedError",
    "RequestTimeoutError",
    "ResponseError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Settings",
    "SummarizeError",
    "Summarizer",
    "TransientError",
    "TruncatedError",
    "Usage",
    "Venue",
    "WarningItem",
    "asummarize",
    "summarize",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "Warning":  # renamed: `from summarize import *` shadowed the builtin Warning
        import warnings

        warnings.warn("summarize.Warning is now summarize.WarningItem", DeprecationWarning, 2)
        return WarningItem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
