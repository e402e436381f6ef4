"""Typed, grounded summaries of news articles.

from summarize import Summarizer
summary = Summarizer().summarize(article_text)     # embedded local model, no API key
for w in summary.warnings:
print(w.by, "→", w.target, w.consequence, w.evidence[0].quote)

Names are imported on first use (PEP 562), so ``import summarize`` and ``summarize --help``
start fast: the backends load openai and instructor, pydantic models take a while to build.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarize.batch import SummaryBatch
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
    from summarize.report import BatchReport
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
    "BatchReport",
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
    "SummaryBatch",
    "TransientError",
    "TruncatedError",
    "Usage",
    "Venue",
    "WarningItem",
    "asummarize",
    "summarize",
]

__version__ = "0.1.0"

_HOMES = {
    "summarize.batch": ("SummaryBatch",),
    "summarize.config": ("RetryPolicy", "Settings"),
    "summarize.pipeline": ("Summarizer", "asummarize", "summarize"),
    "summarize.report": ("BatchReport",),
    "summarize.schema": (
        *("Actor", "ArticleSummary", "Attempt", "Evidence", "Meta", "Position", "Rebuttal"),
        *("Usage", "Venue", "WarningItem"),
    ),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    if name == "Warning":  # renamed: `from summarize import *` shadowed the builtin Warning
        import warnings

        warnings.warn("summarize.Warning is now summarize.WarningItem", DeprecationWarning, 2)
        name = "WarningItem"
    elif name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOME.get(name, "summarize.errors")), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
