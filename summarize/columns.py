"""A batch's results as table columns: what `summarize.ray` and `summarize.dask` add to a table.

Every row gets the same columns, whether it succeeded or not, so blocks and partitions share
one schema. Either the summary as JSON::

    summary   ArticleSummary.model_dump_json(), or None when the row failed
    error     None, or "ErrorType: message" (messages never carry an API key)

or, with ``flatten=True``, one column per field of `ArticleSummary` (the summary's text; lists
and ``meta`` as JSON text, so an empty list never changes a column's type)::

    summary  actors  warnings  positions  venues  rebuttals  meta  error
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from summarize.batch import Result
from summarize.errors import ConfigError
from summarize.schema import ArticleSummary

__all__ = ["FLAT_COLUMNS", "JSON_COLUMNS", "Columns"]

JSON_COLUMNS = ("summary", "error")
_AS_JSON = ("actors", "warnings", "positions", "venues", "rebuttals", "meta")
FLAT_COLUMNS = ("summary", *_AS_JSON, "error")


@dataclass(frozen=True, slots=True)
class Columns:
    """Where a table holds its articles (and ids), and which columns the results become.

    Attributes:
        text: The column holding each article.
        id: The column identifying each row, required when set.
        flatten: One column per field of `ArticleSummary` rather than one JSON column.
    """

    text: str = "text"
    id: str | None = None
    flatten: bool = False

    @property
    def added(self) -> tuple[str, ...]:
        """The columns the results become."""
        return FLAT_COLUMNS if self.flatten else JSON_COLUMNS

    def check(self, present: Collection[str]) -> None:
        """Refuse a table without the text (or id) column, or one with an output column.

        Raises:
            ConfigError: What is wrong, with the columns the table has.
        """
        have = ", ".join(present)
        for role, name in (("text", self.text), ("id", self.id)):
            if name is not None and name not in present:
                raise ConfigError(f"no {role} column {name!r} (columns: {have})")
        taken = [name for name in self.added if name in present]
        if taken:
            raise ConfigError(f"the input already has the output column(s) {', '.join(taken)}")

    def of(self, results: Sequence[Result | BaseException]) -> dict[str, list[str | None]]:
        """`results` as columns, one value per result, in order."""
        columns: dict[str, list[str | None]] = {name: [] for name in self.added}
        for result in results:
            for name, value in self.row(result).items():
                columns[name].append(value)
        return columns

    def row(self, result: Result | BaseException) -> dict[str, str | None]:
        """One result as the output columns' values."""
        if not isinstance(result, ArticleSummary):
            row: dict[str, str | None] = dict.fromkeys(self.added)
            row["error"] = f"{type(result).__name__}: {result}"
            return row
        if not self.flatten:
            return {"summary": result.model_dump_json(), "error": None}
        data = result.model_dump(mode="json")
        fields = {name: json.dumps(data[name], ensure_ascii=False) for name in _AS_JSON}
        return {"summary": data["summary"], **fields, "error": None}
