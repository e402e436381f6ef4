"""Summaries as flat records and pandas DataFrames, one row per item.

Every record has the same keys (`COLUMNS`), None where a field does not apply to that kind of
item: ``kind`` (warning/position/venue/rebuttal), ``id``, the actor (who warns, holds,
proposes or rebuts) with the kind and country the summary gives for them, every field of the
item (its own ``kind`` becomes ``type``), the event codes, and its first quote with offsets,
speaker, attribution and outlets (``via``, joined by "; "). ``per="evidence"`` gives one
row per quote instead. `to_dataframe` needs pandas (``pip install 'summarize[tables]'``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Literal

from summarize.errors import ConfigError
from summarize.items import Actor, EntryData, Evidence, Item, Position, Rebuttal, SummaryData, Venue
from summarize.items import WarningItem as _Warning

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BATCH_COLUMNS",
    "COLUMNS",
    "Per",
    "batch_dataframe",
    "batch_records",
    "records",
    "to_dataframe",
]

Per = Literal["item", "evidence"]

_LEAD: Final = ("kind", "id", "actor", "actor_kind", "actor_country")
_OWN: Final = tuple(
    dict.fromkeys(
        "type" if name == "kind" else name
        for model in (_Warning, Position, Venue, Rebuttal)
        for name in model.model_fields
        if name not in {"id", "evidence", "cameo", "plover"}
    )
)
_EVIDENCE: Final = (
    "cameo",
    "plover",
    "grounded",
    "evidence_count",
    "quote",
    "start",
    "end",
    "speaker",
    "attribution",
    "via",
    "match",
)
#: The keys of every record, in order.
COLUMNS: Final = _LEAD + _OWN + _EVIDENCE
#: A batch's records: the article's id first, and the error for an article that failed.
BATCH_COLUMNS: Final = ("article_id", *COLUMNS, "error")
_INTEGERS: Final = ("start", "end", "evidence_count")


def records(summary: SummaryData, *, per: Per = "item") -> list[dict[str, Any]]:
    """One flat dict per item (or per quote, with ``per="evidence"``), keys `COLUMNS`."""
    actors = _actor_index(summary.actors)
    rows = []
    for item in summary.items():
        evidence: tuple[Evidence | None, ...] = item.evidence[:1] or (None,)
        if per == "evidence":
            evidence = item.evidence or (None,)
        rows += [_row(item, e, actors) for e in evidence]
    return rows


def to_dataframe(summary: SummaryData, *, per: Per = "item") -> pd.DataFrame:
    """`records` as a pandas DataFrame; offsets are nullable integers."""
    return _frame(records(summary, per=per), COLUMNS)


def batch_records(batch: Iterable[EntryData], *, per: Per = "item") -> list[dict[str, Any]]:
    """Every item of every article, keys `BATCH_COLUMNS`; a failed article is one error row."""
    rows: list[dict[str, Any]] = []
    for entry in batch:
        if entry.summary is None:
            error = f"{type(entry.error).__name__}: {entry.error}" if entry.error else None
            rows.append({**dict.fromkeys(BATCH_COLUMNS), "article_id": entry.id, "error": error})
            continue
        for row in records(entry.summary, per=per):
            rows.append({"article_id": entry.id, **row, "error": None})
    return rows


def batch_dataframe(batch: Iterable[EntryData], *, per: Per = "item") -> pd.DataFrame:
    """`batch_records` as a pandas DataFrame."""
    return _frame(batch_records(batch, per=per), BATCH_COLUMNS)


def _actor_index(actors: tuple[Actor, ...]) -> dict[str, Actor]:
    index: dict[str, Actor] = {}
    for actor in actors:
        index.setdefault(actor.name.casefold(), actor)
        index.setdefault(actor.canonical.casefold(), actor)
    return index


def _row(item: Item, e: Evidence | None, actors: dict[str, Actor]) -> dict[str, Any]:
    fields = item.model_dump(exclude={"id", "evidence", "cameo", "plover"})
    if "kind" in fields:
        fields["type"] = fields.pop("kind")
    name = item.actor or None
    actor = actors.get(name.casefold()) if name else None
    row = dict.fromkeys(COLUMNS)
    row.update(fields)
    row.update(
        kind=item.category,
        id=item.id,
        actor=name,
        actor_kind=actor.kind if actor else None,
        actor_country=actor.country if actor else None,
        cameo=item.cameo,
        plover=item.plover,
        grounded=e is not None and e.grounded,
        evidence_count=len(item.evidence),
    )
    if e is not None:
        row.update(
            quote=e.quote,
            start=e.start,
            end=e.end,
            speaker=e.speaker,
            attribution=e.attribution,
            via="; ".join(e.via),
            match=e.match,
        )
    return row


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("to_dataframe needs pandas: pip install 'summarize[tables]'") from None
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    return frame.astype({name: "Int64" for name in _INTEGERS})
