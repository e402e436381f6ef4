"""The lean schema the model fills, and the checks that make instructor re-ask.

Its JSON schema is sent on every call, so descriptions are short and lists are capped
(small models otherwise repeat items until they run out of tokens). Offsets, ids and
grounding are not here: `summarize` computes them (see `assemble`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from summarize.grounding import Aligner
from summarize.schema import ActorKind, Attribution

__all__ = [
    "UNCAPPED",
    "DraftActor",
    "DraftEvidence",
    "DraftItem",
    "DraftSummary",
    "GroundingCheck",
    "grounding_scope",
]

_MAX_SHOWN_FAILURES = 5
#: Validation context key that keeps over-long lists whole (gold annotations).
UNCAPPED = "uncapped"


@dataclass(slots=True)
class GroundingCheck:
    """Per-call state for the re-ask check: what quotes must come from, whether to re-ask.

    Attributes:
        article: The text quotes must come from.
        may_reask: Whether the answer being validated can still be re-asked (re-asks,
            requests and time left); when it cannot, ungrounded quotes go to the
            ``ungrounded`` policy instead of failing the call.
    """

    article: str
    may_reask: Callable[[], bool]
    # One aligner for every attempt: it normalizes the article once.
    aligner: Aligner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.aligner = Aligner(self.article)


# Not instructor's `context=`: given a context, instructor renders the messages as Jinja
# templates, and the article is inside them.
_ACTIVE_CHECK: ContextVar[GroundingCheck | None] = ContextVar("summarize_grounding", default=None)


@contextmanager
def grounding_scope(check: GroundingCheck) -> Iterator[GroundingCheck]:
    """Make `check` the one `DraftSummary` validation uses in this thread or task."""
    token = _ACTIVE_CHECK.set(check)
    try:
        yield check
    finally:
        _ACTIVE_CHECK.reset(token)


def _text(limit: int, description: str | None = None, *, optional: bool = False) -> Any:
    """A string field whose length limit is shown to the model (and its grammar), not enforced."""

    def show_limit(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):  # optional: limit the string branch
            if branch.get("type") == "string":
                branch["maxLength"] = limit

    if optional:
        return Field(None, description=description, json_schema_extra=show_limit)
    return Field(description=description, json_schema_extra=show_limit)


def _lean(schema: dict[str, Any]) -> None:
    """Drop titles and docstrings from the schema: its tokens are paid on every call."""
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


def _list(limit: int, description: str | None = None, *, at_least: int = 0) -> Any:
    """A list capped at `limit` in the schema; longer answers are cut, not rejected.

    Small models that loop repeat items until they run out of tokens: the first `limit` are
    kept. With `at_least`, the field is required and the minimum shown to the model; the
    assembler drops an item that came back without evidence.
    """
    extra: dict[str, Any] = {"maxItems": limit}
    if at_least:
        return Field(description=description, json_schema_extra={**extra, "minItems": at_least})
    return Field(default_factory=list, description=description, json_schema_extra=extra)


class _Draft(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra=_lean)

    @model_validator(mode="after")
    def _cut_long_lists(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get(UNCAPPED):
            return self  # a hand-written annotation: every item counts
        for name, field_info in type(self).model_fields.items():
            extra = field_info.json_schema_extra
            limit = extra.get("maxItems") if isinstance(extra, dict) else None
            value = getattr(self, name)
            if isinstance(limit, int) and isinstance(value, list) and len(value) > limit:
                setattr(self, name, value[:limit])
        return self


class DraftEvidence(_Draft):
    """A quote the model says backs an item."""

    quote: str = _text(400, "Words copied exactly from the article")
    speaker: str | None = _text(120, "Who said it", optional=True)
    attribution: Attribution = Field(
        description="direct_quote if in quotation marks, indirect if reported speech, "
        "else narration"
    )
    via: list[str] = _list(3, "Outlets credited: 'as per DW'")


class DraftActor(_Draft):
    """An actor as the model names it."""

    name: str = _text(120, "As written")
    canonical: str = _text(120, "Full canonical name")
    kind: ActorKind
    country: str | None = _text(3, "ISO alpha-3, e.g. RUS", optional=True)
    role: str | None = _text(120, optional=True)


class DraftItem(_Draft):
    """Fields every drafted item has."""

    evidence: list[DraftEvidence] = _list(2, at_least=1)
    cameo: str | None = _text(4, "CAMEO code, e.g. 138", optional=True)
    plover: str | None = _text(10, "PLOVER type, e.g. THREATEN", optional=True)


class DraftWarning(DraftItem):
    """A warning as the model drafts it."""

    by: str = _text(120)
    target: str = _text(120)
    consequence: str = _text(200)
    condition: str | None = _text(200, "'if ...', when stated", optional=True)
    kind: Literal["threat", "ultimatum", "prediction"]


class DraftPosition(DraftItem):
    """A position as the model drafts it."""

    holder: str = _text(120)
    issue: str = _text(120)
    stance: str = _text(200)
    polarity: Literal["favor", "against", "neutral", "conditional"]


class DraftVenue(DraftItem):
    """A venue as the model drafts it."""

    place: str = _text(120)
    proposed_by: str = _text(120)
    status: Literal["proposed", "offered_to_host", "accepted", "rejected", "held"]
    meeting: str = _text(160, "The talks it is for")


class DraftRebuttal(DraftItem):
    """A rebuttal as the model drafts it."""

    by: str = _text(120)
    answers: str = _text(160, "Id of the item answered (e.g. v1)")
    kind: Literal["reject_proposal", "deny_claim", "counter_claim", "dismiss"]
    content: str = _text(200)


class DraftSummary(_Draft):
    """What the model returns for one article."""

    summary: str = _text(800, "2-3 neutral sentences")
    actors: list[DraftActor] = _list(16)
    warnings: list[DraftWarning] = _list(6)
    positions: list[DraftPosition] = _list(8)
    venues: list[DraftVenue] = _list(8)
    rebuttals: list[DraftRebuttal] = _list(6)

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
        """Parse leniently: grammar-constrained local models can emit raw newlines in strings."""
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
    def _quotes_are_in_the_article(self) -> DraftSummary:
        """Ask again (within budget) when quotes are not in the article."""
        check = _ACTIVE_CHECK.get()
        if check is None or not check.may_reask():
            return self
        found = [(q, check.aligner.align(q)) for q in self.quotes()]
        missing = [(q, a.rejected) for q, a in found if not a.grounded]
        if not missing:
            return self
        shown = "\n".join(
            f"- {q!r}" + (f": {why}" if why else "") for q, why in missing[:_MAX_SHOWN_FAILURES]
        )
        raise ValueError(
            "These evidence quotes are not in the article. Copy each quote word for word "
            f"from the article, or remove the item it supports:\n{shown}"
        )
