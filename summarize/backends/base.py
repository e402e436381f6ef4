"""What every backend layer accepts and returns. No SDK imports here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from summarize.draft import DraftSummary
from summarize.journal import CallJournal
from summarize.prompts import Message

__all__ = ["Backend", "BackendKind", "Completion", "ExtractionRequest"]

BackendKind = Literal["local", "openai"]


@dataclass(frozen=True, slots=True)
class ExtractionRequest:
    """One article, rendered into messages, to be turned into a `DraftSummary`.

    Attributes:
        messages: The rendered prompt.
        article: The article text quotes must come from (for the re-ask check).
        max_reasks: Re-asks allowed after invalid output or ungrounded quotes.
        max_tokens: Cap on the answer; None leaves it out of the request.
        timeout: Seconds this request may take, when less than the configured timeout
            (the retry layer sets it from what is left of its deadline).
        journal: Where every layer records the attempts of this call.
    """

    messages: tuple[Message, ...]
    article: str
    max_reasks: int
    max_tokens: int | None = None
    timeout: float | None = None
    journal: CallJournal = field(default_factory=CallJournal, compare=False)


@dataclass(frozen=True, slots=True)
class Completion:
    """A validated draft (what it cost is in the request's journal).

    Attributes:
        draft: The model's answer, validated.
        model: The model that answered.
    """

    draft: DraftSummary
    model: str


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
