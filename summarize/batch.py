"""The results of summarizing many articles: summaries and errors, in the order given.

Build one from what ``asyncio.gather(..., return_exceptions=True)`` returns::

    results = await asyncio.gather(*(s.asummarize(a) for a in articles), return_exceptions=True)
    batch = SummaryBatch(results, ids=names, articles=articles)
    batch                      # in a notebook: one row per article
    batch.to_dataframe()       # one row per item, with an article_id column
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from summarize.schema import ArticleSummary

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchEntry", "SummaryBatch"]


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One article of a batch: its summary, or the error that stopped it.

    Attributes:
        id: The article's id (a file name, a URL, or its position).
        summary: The summary, or None when it failed.
        error: Why it failed, or None.
        article: The text, when known (the detailed view highlights its spans).
    """

    id: str
    summary: ArticleSummary | None = None
    error: BaseException | None = None
    article: str | None = None


class SummaryBatch(Sequence[BatchEntry]):
    """Summaries and errors of several articles, shown as a table in notebooks.

    Args:
        results: One `ArticleSummary` or exception per article, in order.
        ids: The articles' ids; default their positions ("0", "1", ...).
        articles: The texts, in the same order, when they should be shown.

    Raises:
        ValueError: `ids` or `articles` do not have one entry per result.
        TypeError: A result is neither a summary nor an exception.
    """

    def __init__(
        self,
        results: Iterable[ArticleSummary | BaseException],
        *,
        ids: Iterable[object] | None = None,
        articles: Iterable[str] | None = None,
    ) -> None:
        results = list(results)
        names = [str(i) for i in ids] if ids is not None else [str(n) for n in range(len(results))]
        texts: list[str | None] = list(articles) if articles is not None else [None] * len(results)
        if not len(names) == len(texts) == len(results):
            raise ValueError("ids and articles need one entry per result")
        self.entries = tuple(_entry(*triple) for triple in zip(names, results, texts, strict=True))

    @property
    def summaries(self) -> list[ArticleSummary]:
        """The summaries that succeeded, in order."""
        return [e.summary for e in self.entries if e.summary is not None]

    @property
    def errors(self) -> dict[str, BaseException]:
        """The errors, by article id."""
        return {e.id: e.error for e in self.entries if e.error is not None}

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per item, with an ``article_id`` column (see `summarize.tables`)."""
        from summarize.tables import batch_records

        return batch_records(self)

    def to_dataframe(self) -> pd.DataFrame:
        """`to_records` as a pandas DataFrame (needs the ``tables`` extra)."""
        from summarize.tables import batch_dataframe

        return batch_dataframe(self)

    def html(self, *, details: bool = False) -> str:
        """The table as HTML; `details` adds each summary's full view below it."""
        from summarize.display import batch_html

        return batch_html(self, details=details)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        from summarize.display import batch_markdown

        return batch_markdown(self)

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> BatchEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchEntry]: ...
    def __getitem__(self, index: int | slice) -> BatchEntry | Sequence[BatchEntry]:
        return self.entries[index]

    def __iter__(self) -> Iterator[BatchEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"SummaryBatch({len(self.summaries)} summarized, {len(self.errors)} failed)"


def _entry(name: str, result: object, article: str | None) -> BatchEntry:
    if isinstance(result, ArticleSummary):
        return BatchEntry(name, summary=result, article=article)
    if isinstance(result, BaseException):
        return BatchEntry(name, error=result, article=article)
    raise TypeError(f"a batch result is an ArticleSummary or an exception, not {result!r:.80}")
