"""What a summary holds: its items, their evidence, how it was made (`SummaryData`).

Fields the model fills are documented for readers; offsets, `grounded` and `match` on
`Evidence` are computed by `summarize` and never taken from the model. Views and tables are
built on these (`summarize.display`, `summarize.tables`); `summarize.schema.ArticleSummary`
is this data with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal, Protocol

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from summarize.event_codes import Category, clean_cameo, clean_plover
from summarize.grounding import MatchKind

__all__ = [
    "SCHEMA_VERSION",
    "Actor",
    "ActorKind",
    "Attempt",
    "AttemptOutcome",
    "Attribution",
    "EntryData",
    "Evidence",
    "Item",
    "Meta",
    "Position",
    "Rebuttal",
    "SummaryData",
    "Usage",
    "Venue",
    "WarningItem",
]

SCHEMA_VERSION = "1"

ActorKind = Literal["person", "government", "military", "organization", "country", "group", "media"]
Attribution = Literal["direct_quote", "indirect", "narration"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(_Frozen):
    """A verbatim quote backing an item, and where it sits in the article.

    When `grounded` is True, `quote` is exactly `article[start:end]`, whichever stage matched;
    the model's own wording, when it differed, is kept in `model_quote`.
    """

    quote: str = Field(
        description="The article's own words at start:end when grounded; else the model's text."
    )
    model_quote: str | None = Field(
        None,
        description="What the model wrote, when it differs from the article's words "
        "(quotation marks added, case, a dropped word); None when identical or ungrounded.",
    )
    start: int | None = Field(None, ge=0, description="Offset of the span's first character.")
    end: int | None = Field(None, ge=0, description="Offset just past the span's last character.")
    grounded: bool = Field(False, description="True when the quote was found in the article.")
    match: MatchKind = Field("none", description="How it was found: exact/normalized/fuzzy/none.")
    speaker: str | None = Field(None, description="Who is quoted or paraphrased, if anyone.")
    attribution: Attribution = Field(
        "narration",
        description="direct_quote (in quotation marks: checked against the text), indirect "
        "(reported speech) or narration (the journalist's own words).",
    )
    via: tuple[str, ...] = Field(
        (), description="Outlets the article credits, e.g. 'DW' (only ones it names)."
    )

    @model_validator(mode="after")
    def _offsets_agree(self) -> Evidence:
        start, end = self.start, self.end
        has_span = start is not None and end is not None
        if self.grounded != (self.match != "none") or self.grounded != has_span:
            raise ValueError("grounded, match and start/end must agree")
        if start is not None and end is not None and start > end:
            raise ValueError("start must not be after end")
        return self


class Actor(_Frozen):
    """Someone who acts or is acted on in the article."""

    name: str = Field(description="As written in the article.")
    canonical: str = Field(description="Canonical name, e.g. 'Vladimir Putin'.")
    kind: ActorKind
    country: str | None = Field(None, description="ISO 3166-1 alpha-3 code, e.g. 'RUS'.")
    role: str | None = Field(None, description="Title or role, e.g. 'Foreign Minister'.")

    @field_validator("country", mode="before")
    @classmethod
    def _known_country(cls, value: object) -> str | None:
        """Unknown codes become None: a wrong country is worse than none."""
        if not isinstance(value, str) or len(value.strip()) != 3:
            return None
        code = value.strip().upper()
        return code if pycountry.countries.get(alpha_3=code) is not None else None


class Item(_Frozen):
    """Fields every warning, position, venue and rebuttal has."""

    category: ClassVar[Category]

    id: str = Field(description="Stable within one summary: w1, p1, v1, r1, ...")
    evidence: tuple[Evidence, ...] = Field(description="Quotes backing the item.")
    cameo: str | None = Field(None, description="CAMEO event code, if one fits.")
    plover: str | None = Field(None, description="PLOVER event type, if one fits.")

    @model_validator(mode="before")
    @classmethod
    def _known_codes(cls, data: object) -> object:
        """Drop event codes that are unknown or do not fit this kind of item."""
        if isinstance(data, dict):
            data = dict(data)
            data["cameo"] = clean_cameo(data.get("cameo"), cls.category)
            data["plover"] = clean_plover(data.get("plover"), cls.category)
        return data

    @property
    def grounded(self) -> bool:
        """True when the item has evidence and all of it was found in the article."""
        return bool(self.evidence) and all(e.grounded for e in self.evidence)

    @property
    def actor(self) -> str:
        """Who made the item: who warns, holds the position, proposes the venue or rebuts."""
        return ""

    def headline(self) -> str:
        """The item in one line, e.g. "Moscow for talks, proposed by Vladimir Putin"."""
        return self.id


class WarningItem(Item):
    """A threat, ultimatum or prediction: who warns whom of what, on what condition."""

    category: ClassVar[Category] = "warning"
    by: str = Field(description="Who warns.")
    target: str = Field(description="Who is warned or threatened.")
    consequence: str = Field(description="What will happen to the target.")
    condition: str | None = Field(None, description="When it applies, e.g. 'if troops appear'.")
    kind: Literal["threat", "ultimatum", "prediction"]

    @property
    def actor(self) -> str:
        """Who warns."""
        return self.by

    def headline(self) -> str:
        """Who warns whom of what, and when."""
        condition = ""
        if self.condition:
            first = self.condition.split(maxsplit=1)[0].casefold()
            conditional = first in {"if", "when", "unless", "once", "should"}
            condition = f" — {self.condition if conditional else 'if ' + self.condition}"
        return f"{self.by} → {self.target}: {self.consequence}{condition} ({self.kind})"


class Position(Item):
    """A stance someone holds on an issue."""

    category: ClassVar[Category] = "position"
    holder: str = Field(description="Who holds the position.")
    issue: str = Field(description="What it is about.")
    stance: str = Field(description="The position, in a short sentence.")
    polarity: Literal["favor", "against", "neutral", "conditional"]

    @property
    def actor(self) -> str:
        """Who holds it."""
        return self.holder

    def headline(self) -> str:
        """Who holds which stance on what."""
        return f"{self.holder} on {self.issue}: {self.stance} ({self.polarity})"


class Venue(Item):
    """A place proposed, offered or used for talks (not where a statement was made)."""

    category: ClassVar[Category] = "venue"
    place: str = Field(description="City, country or 'outside Russia'-style option.")
    proposed_by: str = Field(description="Who proposed or offered it.")
    status: Literal["proposed", "offered_to_host", "accepted", "rejected", "held"]
    meeting: str = Field(description="The meeting it is for.")

    @property
    def actor(self) -> str:
        """Who proposed or offered it."""
        return self.proposed_by

    def headline(self) -> str:
        """Which place, for what, proposed or offered by whom."""
        return f"{self.place} for {self.meeting}, {self.status} by {self.proposed_by}"


class Rebuttal(Item):
    """A rejection of, denial of, or answer to something in the article."""

    category: ClassVar[Category] = "rebuttal"
    by: str = Field(description="Who rebuts.")
    answers: str = Field(description="What it answers, as the model described it.")
    answers_id: str | None = Field(
        None, description="Id of the item it answers (e.g. 'v1'), when it could be linked."
    )
    kind: Literal["reject_proposal", "deny_claim", "counter_claim", "dismiss"]
    content: str = Field(description="What the rebuttal says.")

    @property
    def actor(self) -> str:
        """Who rebuts."""
        return self.by

    def headline(self) -> str:
        """Who answers what, saying what."""
        return f"{self.by} answers {self.answers_id or self.answers}: {self.content} ({self.kind})"


class Usage(_Frozen):
    """Tokens paid for, summed over every attempt."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


AttemptOutcome = Literal[
    "ok",
    "invalid_output",
    "rate_limited",
    "unavailable",
    "timeout",
    "rejected",
    "truncated",
    "refused",
    "malformed",
]


class Attempt(_Frozen):
    """One HTTP request to the model and what came of it."""

    number: int = Field(description="1 for the first request of the call.")
    outcome: AttemptOutcome = Field(
        description="ok, or what went wrong (invalid_output is followed by a re-ask)."
    )
    status: int | None = Field(None, description="HTTP status, when a response arrived.")
    request_id: str | None = Field(None, description="The provider's request id, when sent.")
    error: str | None = Field(None, description="What went wrong, one line.")
    usage: Usage = Usage()
    duration_s: float = Field(0.0, description="Time from sending to the answer or failure.")
    wait_s: float = Field(0.0, description="Back-off slept after this attempt, before the next.")


class Meta(_Frozen):
    """How the summary was made."""

    model: str
    backend: Literal["local", "openai"]
    prompt: str = Field(description="Prompt id@version, e.g. 'article_summary@v1'.")
    strategy: str = Field(
        "single", description="How the model was asked: 'single' call or 'sentences' coding."
    )
    chunks: int = Field(
        1, description="Pieces a long article was summarized in, then merged (1: whole)."
    )
    schema_version: str = SCHEMA_VERSION
    usage: Usage = Usage()
    attempts: int = Field(1, description="Model calls made, re-asks and retries included.")
    attempt_log: tuple[Attempt, ...] = Field(
        (), description="Every model call of this summary, in order (empty on a cache hit)."
    )
    cache_hit: bool = False
    latency_s: float = Field(0.0, description="Wall time of the model call(s), in seconds.")
    dropped_items: int = Field(0, description="Items dropped because no evidence was grounded.")
    dropped_evidence: int = Field(0, description="Ungrounded quotes removed from kept items.")
    instruction_spans: tuple[tuple[int, int], ...] = Field(
        (),
        description="Passages of the article (start, end) addressed to an AI model rather "
        "than a reader ('ignore previous instructions ...'): possible prompt injection.",
    )
    dropped_injected: int = Field(
        0, description="Items dropped because their only evidence lies in such a passage."
    )
    dropped_by_guards: int = Field(
        0,
        description="Items a precision guard removed (a venue that is only where someone "
        "spoke; with sentence coding, a rebuttal that answers no item).",
    )
    unattributed: tuple[str, ...] = Field(
        (),
        description="Ids of items whose actor the article does not name near their evidence "
        "(flagged, with unattributed='flag').",
    )
    dropped_unattributed: int = Field(
        0, description="Items dropped for that reason (with unattributed='drop')."
    )
    summary_from: Literal["model", "items"] = Field(
        "model",
        description="'items' when the model's summary named someone or somewhere the article "
        "does not, and was replaced by one built from the items.",
    )
    cache_error: str | None = Field(
        None, description="Why this summary could not be stored in the cache, when it could not."
    )


NonEmpty = Annotated[str, Field(min_length=1)]


class SummaryData(_Frozen):
    """The fields of one article's summary and its items; `ArticleSummary` adds the views."""

    summary: NonEmpty = Field(description="Two or three neutral sentences.")
    actors: tuple[Actor, ...] = ()
    warnings: tuple[WarningItem, ...] = ()
    positions: tuple[Position, ...] = ()
    venues: tuple[Venue, ...] = ()
    rebuttals: tuple[Rebuttal, ...] = ()
    meta: Meta

    def items(self) -> Iterator[Item]:
        """Every warning, position, venue and rebuttal, in that order."""
        yield from self.warnings
        yield from self.positions
        yield from self.venues
        yield from self.rebuttals

    def get(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        return next((item for item in self.items() if item.id == item_id), None)


class EntryData(Protocol):
    """One article of a batch, as views and tables read it (`summarize.batch.BatchEntry`)."""

    @property
    def id(self) -> str:
        """The article's id."""
        ...

    @property
    def summary(self) -> SummaryData | None:
        """Its summary, or None when it failed."""
        ...

    @property
    def error(self) -> BaseException | None:
        """Why it failed, or None."""
        ...

    @property
    def article(self) -> str | None:
        """The text, when known."""
        ...
