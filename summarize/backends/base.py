"""What the backend layers accept and return. No SDK imports here.

A call goes down two interfaces:

- `Backend` turns an `ExtractionRequest` into a validated `Completion`; instructor's re-ask
  loop lives behind it (`summarize.backends.structured`).
- `Sender` makes one HTTP request of that loop. `summarize.retry.RetryingSender` wraps the
  one that talks to the endpoint (`summarize.backends.http`) and is one, so a transient
  failure is retried where it happened, re-asks included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from summarize.budget import CallBudget
from summarize.config import Mode
from summarize.draft import DraftSummary
from summarize.journal import CallJournal
from summarize.prompts import Message

__all__ = [
    "Backend",
    "BackendKind",
    "ChatBody",
    "Completion",
    "ExtractionRequest",
    "Sender",
    "SenderLayer",
]

BackendKind = Literal["local", "openai"]

#: The keyword arguments of one ``chat.completions.create`` request, as instructor built them.
ChatBody = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExtractionRequest:
    """One ask: rendered messages, to be answered with a validated `response_model`.

    Attributes:
        messages: The rendered prompt.
        article: The article text quotes must come from (for the re-ask check).
        budget: What the ask may spend (requests, answers, time) and the call's journal.
        response_model: What the answer must validate as (a `DraftSummary` by default).
        mode: How to ask for structure; None: the backend's configured mode.
    """

    messages: tuple[Message, ...]
    article: str
    budget: CallBudget
    response_model: type[BaseModel] = DraftSummary
    mode: Mode | None = None

    @property
    def journal(self) -> CallJournal:
        """Where every layer records the requests of this call."""
        return self.budget.journal

    @property
    def max_reasks(self) -> int:
        """Re-asks allowed after invalid output or ungrounded quotes."""
        return self.budget.max_answers - 1


@dataclass(frozen=True, slots=True)
class Completion:
    """A validated answer (what it cost is in the request's journal).

    Attributes:
        output: The model's answer, validated as the request's `response_model`.
        model: The model that answered.
    """

    output: BaseModel
    model: str


class _Named(Protocol):
    @property
    def kind(self) -> BackendKind:
        """Either local (the in-process model) or openai (an HTTP endpoint)."""
        ...

    @property
    def model(self) -> str:
        """The model asked."""
        ...

    def close(self) -> None:
        """Release the connections the sync path opened."""
        ...

    async def aclose(self) -> None:
        """Release the connections the async path opened in the running event loop."""
        ...


class Backend(_Named, Protocol):
    """Turns a request into a validated completion, re-asking after invalid answers."""

    def complete(self, request: ExtractionRequest) -> Completion:
        """Answer `request`, blocking."""
        ...

    async def acomplete(self, request: ExtractionRequest) -> Completion:
        """Answer `request` without blocking the event loop."""
        ...


class Sender(_Named, Protocol):
    """Makes one chat-completion request. Layers (retry) wrap one and are one.

    Returns the SDK's chat completion, which layers pass through untouched; every failure is
    a `summarize.errors.BackendError`, already recorded in ``budget.journal``.
    """

    def send(self, body: ChatBody, budget: CallBudget) -> Any:
        """Send `body`, blocking."""
        ...

    async def asend(self, body: ChatBody, budget: CallBudget) -> Any:
        """Send `body` without blocking the event loop."""
        ...


class SenderLayer:
    """A layer around a `Sender` (retries, limits) that is itself one.

    It speaks for the wrapped sender's kind and model; closing it closes the wrapped one.
    """

    def __init__(self, wrapped: Sender) -> None:
        self.wrapped = wrapped

    @property
    def kind(self) -> BackendKind:
        """The wrapped sender's kind."""
        return self.wrapped.kind

    @property
    def model(self) -> str:
        """The wrapped sender's model."""
        return self.wrapped.model

    def close(self) -> None:
        """Close the wrapped sender."""
        self.wrapped.close()

    async def aclose(self) -> None:
        """Close the wrapped sender's async connections."""
        await self.wrapped.aclose()
