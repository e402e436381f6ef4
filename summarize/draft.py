"""The lean schema the model fills, and the checks that make instructor re-ask.

Its JSON schema is sent on every call, so descriptions are short and lists are capped
(small models otherwise repeat items until they run out of tokens). Offsets, ids and
grounding are not here: `summarize` computes them (see `assemble`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from summarize.grounding import Aligner
from summarize.schema import ActorKind, Attribution

__all__ = [
    "GROUNDING_CONTEXT_KEY",
    "DraftActor",
    "DraftEvidence",
    "DraftItem",
    "DraftSummary",
    "GroundingCheck",
]

GROUNDING_CONTEXT_KEY = "summarize.grounding"
_MAX_SHOWN_FAILURES = 5


@dataclass(slots=True)
class GroundingCheck:
    """Per-call state passed to instructor as validation context.

    Attributes:
        article: The text quotes must come from.
        reasks_left: How many more times ungrounded quotes may trigger a re-ask.
        attempts: Answers parsed so far (counts every attempt instructor makes).
    """

    article: str
    reasks_left: int
    attempts: int = 0
    # One aligner for every attempt: it normalizes the article once.
    aligner: Aligner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.aligner = Aligner(self.article)


class _Draft(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DraftEvidence(_Draft):
    """A quote the model says backs an item."""

    quote: str = Field(max_length=400, description="Words copied exactly from the article")
    speaker: str | None = Field(None, max_length=120, description="Who said it")
    attribution: Attribution = Field(
        description="direct_quote if in quotation marks, indirect if reported speech, "
        "else narration"
    )
    via: list[str] = Field(
        default_factory=list, max_length=3, description="Outlets credited: 'as per DW'"
    )


class DraftActor(_Draft):
    """An actor as the model names it."""

    name: str = Field(max_length=120, description="As written")
    canonical: str = Field(max_length=120, description="Full canonical name")
    kind: ActorKind
    country: str | None = Field(None, max_length=3, description="ISO alpha-3, e.g. RUS")
    role: str | None = Field(None, max_length=120)


class DraftItem(_Draft):
    """Fields every drafted item has."""

    evidence: list[DraftEvidence] = Field(min_length=1, max_length=2)
    cameo: str | None = Field(None, max_length=4, description="CAMEO code, e.g. 138")
    plover: str | None = Field(None, max_length=10, description="PLOVER type, e.g. THREATEN")


class DraftWarning(DraftItem):
    by: str = Field(max_length=120)
    target: str = Field(max_length=120)
    consequence: str = Field(max_length=200)
    condition: str | None = Field(None, max_length=200, description="'if ...', when stated")
    kind: Literal["threat", "ultimatum", "prediction"]


class DraftPosition(DraftItem):
    holder: str = Field(max_length=120)
    issue: str = Field(max_length=120)
    stance: str = Field(max_length=200)
    polarity: Literal["favor", "against", "neutral", "conditional"]


class DraftVenue(DraftItem):
    place: str = Field(max_length=120)
    proposed_by: str = Field(max_length=120)
    status: Literal["proposed", "offered_to_host", "accepted", "rejected", "held"]
    meeting: str = Field(max_length=160, description="The talks it is for")


class DraftRebuttal(DraftItem):
    by: str = Field(max_length=120)
    answers: str = Field(max_length=160, description="Id of the item answered (e.g. v1)")
    kind: Literal["reject_proposal", "deny_claim", "counter_claim", "dismiss"]
    content: str = Field(max_length=200)


class DraftSummary(_Draft):
    """What the model returns for one article."""

    summary: str = Field(min_length=1, max_length=800, description="2-3 neutral sentences")
    actors: list[DraftActor] = Field(default_factory=list, max_length=16)
    warnings: list[DraftWarning] = Field(default_factory=list, max_length=6)
    positions: list[DraftPosition] = Field(default_factory=list, max_length=8)
    venues: list[DraftVenue] = Field(default_factory=list, max_length=8)
    rebuttals: list[DraftRebuttal] = Field(default_factory=list, max_length=6)

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: Literal["allow", "ignore", "forbid"] | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> DraftSummary:
        """Parse leniently: grammar-constrained local models can emit raw newlines in strings.

        Every instructor attempt passes through here, so it also counts attempts.
        """
        check = _grounding_check(context)
        if check is not None:
            check.attempts += 1
        try:
            data = json.loads(json_data, strict=False)
        except json.JSONDecodeError:
            return super().model_validate_json(json_data, strict=False, context=context)
        return cls.model_validate(data, strict=False, context=context)

    def quotes(self) -> list[str]:
        """Every evidence quote, in item order."""
        items: list[DraftItem] = [*self.warnings, *self.positions, *self.venues, *self.rebuttals]
        return [e.quote for item in items for e in item.evidence]

    @model_validator(mode="after")
    def _quotes_are_in_the_article(self, info: ValidationInfo) -> DraftSummary:
        """Ask again (within budget) when quotes are not in the article."""
        check = _grounding_check(info.context)
        if check is None or check.reasks_left <= 0:
            return self
        missing = [q for q in self.quotes() if not check.aligner.align(q).grounded]
        if not missing:
            return self
        check.reasks_left -= 1
        shown = "\n".join(f"- {q!r}" for q in missing[:_MAX_SHOWN_FAILURES])
        raise ValueError(
            "These evidence quotes are not in the article. Copy each quote word for word "
            f"from the article, or remove the item it supports:\n{shown}"
        )


def _grounding_check(context: Any) -> GroundingCheck | None:
    if isinstance(context, dict):
        check = context.get(GROUNDING_CONTEXT_KEY)
        if isinstance(check, GroundingCheck):
            return check
    return None
