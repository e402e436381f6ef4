"""The typed summary users receive: `ArticleSummary`, the data of `summarize.items` with views.

The data classes (`Evidence`, `WarningItem`, `Meta`, ...) are defined in `summarize.items`
and importable from here as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from summarize.display import SummaryView, summary_html, summary_markdown
from summarize.items import (
    SCHEMA_VERSION,
    Actor,
    ActorKind,
    Attempt,
    AttemptOutcome,
    Attribution,
    Evidence,
    Item,
    Meta,
    Position,
    Rebuttal,
    SummaryData,
    Usage,
    Venue,
    WarningItem,
)
from summarize.tables import records, to_dataframe

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SCHEMA_VERSION",
    "Actor",
    "ActorKind",
    "ArticleSummary",
    "Attempt",
    "AttemptOutcome",
    "Attribution",
    "Evidence",
    "Item",
    "Meta",
    "Position",
    "Rebuttal",
    "Usage",
    "Venue",
    "WarningItem",
]


class ArticleSummary(SummaryData):
    """A typed, grounded summary of one news article."""

    def display(self, article: str | None = None) -> SummaryView:
        """This summary beside its article, spans highlighted (`summarize.display`)."""
        return SummaryView(self, article)

    def to_records(self, *, per: Literal["item", "evidence"] = "item") -> list[dict[str, object]]:
        """One flat dict per item, or per quote (`summarize.tables.records`)."""
        return list(records(self, per=per))

    def to_dataframe(self, *, per: Literal["item", "evidence"] = "item") -> pd.DataFrame:
        """`to_records` as a pandas DataFrame (needs the ``tables`` extra)."""
        return to_dataframe(self, per=per)

    def _repr_html_(self) -> str:
        return summary_html(self)

    def _repr_markdown_(self) -> str:
        return summary_markdown(self)


def __getattr__(name: str) -> object:
    if name == "Warning":  # renamed: it shadowed the builtin under `from summarize import *`
        import warnings

        warnings.warn(
            "summarize.schema.Warning is now WarningItem", DeprecationWarning, stacklevel=2
        )
        return WarningItem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
