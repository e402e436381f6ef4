"""How a summary is asked for: one call, or many small ones. Pure: strategies do no I/O.

A strategy is a plan written as a generator: it yields each `Ask` (messages and the model the
answer must validate as), receives the validated answer, and returns the `DraftSummary` the
answers add up to. The pipeline drives the plan, sync or async, so both paths share every
step but the awaited call; every strategy ends in the same assembly and grounding.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from summarize.config import Mode, Settings
from summarize.draft import DraftSummary
from summarize.prompts import Message, Prompt

__all__ = ["Ask", "Plan", "SingleCall", "Strategy"]


@dataclass(frozen=True, slots=True)
class Ask:
    """One request of a plan.

    Attributes:
        messages: The prompt.
        response_model: What the answer must validate as.
        max_tokens: Cap on the answer (None: the settings' cap).
        mode: How to ask for structure (None: the settings' mode).
        optional: When the model cannot give a valid answer (invalid after re-asks,
            truncated, refused), the plan receives None instead of the call failing.
        progress: How far the plan is: (steps done, steps in all), for progress bars.
    """

    messages: tuple[Message, ...]
    response_model: type[BaseModel]
    max_tokens: int | None = None
    mode: Mode | None = None
    optional: bool = False
    progress: tuple[int, int] | None = None


#: Yields asks, receives each validated answer (or None for a failed optional ask), returns
#: the draft.
Plan = Generator[Ask, BaseModel | None, DraftSummary]


class Strategy(Protocol):
    """A way of turning an article into a `DraftSummary` through model calls."""

    @property
    def name(self) -> str:
        """Recorded in `Meta.strategy` and in cache keys."""
        ...

    @property
    def prompt(self) -> Prompt:
        """The versioned prompt it renders (its text is part of cache keys)."""
        ...

    @property
    def chunk_tokens(self) -> int | None:
        """The most article tokens it reads well at once (None: as many as fit)."""
        ...

    @property
    def revision(self) -> int:
        """Bumped when what it makes of the model's answers changes (part of cache keys)."""
        ...

    @property
    def rebuttals_must_link(self) -> bool:
        """A rebuttal that answers no item of the summary is dropped (see `assemble`)."""
        ...

    def plan(self, article: str) -> Plan:
        """The asks for `article`, one at a time."""
        ...


class SingleCall:
    """The whole summary in one structured call: for strong hosted models.

    Args:
        prompt: The versioned prompt asking for a `DraftSummary`.
        settings: Where the answer cap comes from.
    """

    name = "single"
    revision = 1
    chunk_tokens = None
    rebuttals_must_link = False  # its prompt lets a rebuttal answer a claim it does not list

    def __init__(self, prompt: Prompt, settings: Settings) -> None:
        self.prompt = prompt
        self._max_tokens = settings.max_tokens

    def plan(self, article: str) -> Plan:
        """One ask: the article, answered with a `DraftSummary`."""
        answer = yield Ask(tuple(self.prompt.render(article)), DraftSummary, self._max_tokens)
        assert isinstance(answer, DraftSummary)  # not optional: a failure ends the call
        return answer
