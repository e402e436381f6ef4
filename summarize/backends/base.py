"""What every backend layer accepts and returns. No SDK imports here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from summarize.draft import DraftSummary
from summarize.prompts import Message
from summarize.schema import Usage

__all__ = ["Backend", "BackendKind", "Completion", "ExtractionRequest"]

BackendKind = Literal["local", "openai"]


@dataclass(frozen=True, slots=True)
class ExtractionRequest:
    """One article, rendered into messages, to be turned into a `DraftSummary`.

    Attributes:
        messages: The rendered prompt.
        article: The article text quotes must come from (for the re-ask check).
        max_reasks: Re-asks allowed after invalid output or ungrounded quotes.
    """

    messages: tuple[Message, ...]
    article: str
    max_reasks: int


@dataclass(frozen=True, slots=True)
class Completion:
    """A validated draft and what it cost.

    Attributes:
        draft: The model's answer, validated.
        model: The model that answered.
        usage: Tokens summed over every attempt.
        attempts: Model calls made (re-asks and retries included).
        cache_hit: True when a cache answered instead of a model.
    """

    draft: DraftSummary
    model: str
    usage: Usage
    attempts: int
    cache_hit: bool = False


class Backend(Protocol):
    """Turns a request into a completion. Layers (retry, cache) wrap one and are one."""

    @property
    def kind(self) -> BackendKind:
        """Either local (the in-process model) or openai (an HTTP endpoint)."""
        ...

    @property
    def model(self) -> str:
        """The model asked."""
        ...

    def complete(self, request: ExtractionRequest) -> Completion:
        """Answer `request`, blocking."""
        ...

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Answer `request` without blocking the event loop."""
        ...

    def close(self) -> None:
        """Release the connections `complete` opened."""
        ...

    async def aclose(self) -> None:
        """Release the connections `acomplete` opened in the running event loop."""
        ...
