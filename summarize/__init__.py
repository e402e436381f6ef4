"""Typed, grounded summaries of news articles.

from summarize import Summarizer
summary = Summarizer().summarize(article_text)     # embedded local model, no API key
for w in summary.warnings:
print(w.by, "→", w.target, w.consequence, w.evidence[0].quote)
"""

from summarize.config import Settings
from summarize.errors import (
    BackendError,
    BackendUnavailableError,
    BinaryInputError,
    ConfigError,
    EmptyInputError,
    GroundingError,
    InputError,
    InputTooLargeError,
    OutputError,
    PromptError,
    RateLimitedError,
    RequestRejectedError,
    SummarizeError,
    TransientBackendError,
    TruncatedOutputError,
)
from summarize.pipeline import Summarizer, asummarize, summarize
from summarize.schema import (
    Actor,
    ArticleSummary,
    Evidence,
    Meta,
    Position,
    Rebuttal,
    Usage,
    Venue,
    Warning,
)

__all__ = [
    "Actor",
    "ArticleSummary",
    "BackendError",
    "BackendUnavailableError",
    "BinaryInputError",
    "ConfigError",
    "EmptyInputError",
    "Evidence",
    "GroundingError",
    "InputError",
    "InputTooLargeError",
    "Meta",
    "OutputError",
    "Position",
    "PromptError",
    "RateLimitedError",
    "Rebuttal",
    "RequestRejectedError",
    "Settings",
    "SummarizeError",
    "Summarizer",
    "TransientBackendError",
    "TruncatedOutputError",
    "Usage",
    "Venue",
    "Warning",
    "asummarize",
    "summarize",
]

__version__ = "0.1.0"
