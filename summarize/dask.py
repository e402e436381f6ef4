"""Summaries of a Dask bag or dataframe: each partition's articles summarized concurrently.

    import dask.dataframe as dd
    from summarize import Summarizer
    from summarize.dask import summarize_dataframe

    df = dd.read_parquet("articles/")                        # columns id, text, ...
    out = summarize_dataframe(df, Summarizer("gpt-4o-mini", rpm=3000), concurrency=16)
    out.to_parquet("summaries/")                             # id, text, ..., summary, error

Each partition runs `Summarizer.summarize_many` on its worker, `concurrency` requests in
flight at most, with a summarizer rebuilt from its `SummarizerConfig` once per worker process
and kept warm for the partitions that follow. Rate limits are divided among the workers of the
current distributed client. A row that fails gets its error in the ``error`` column and never
fails its partition; rows keep their partition, order and index. Needs the ``dask`` extra:
``pip install 'summarize[dask]'``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, cast

import cloudpickle
import dask.bag as db
import dask.dataframe as dd
import pandas as pd

from summarize.batch import Result
from summarize.columns import Columns
from summarize.config import SummarizerConfig
from summarize.pipeline import Summarizer

__all__ = ["summarize_bag", "summarize_dataframe"]

_STRINGS = "str"  # pandas' string dtype: a failed row's summary is missing (NaN)


def summarize_dataframe(
    df: dd.DataFrame,
    summarizer: Summarizer | SummarizerConfig,
    *,
    text_column: str = "text",
    concurrency: int = 8,
    flatten: bool = False,
    workers: int | None = None,
) -> dd.DataFrame:
    """`df` with each row's summary and error added (lazily: ``.compute()`` or write it).

    Args:
        df: Rows with a text column (str or UTF-8 bytes).
        summarizer: What to summarize with; it travels to each worker as its `config`.
        text_column: The column holding each article.
        concurrency: Requests in flight at most per partition (a worker runs one
            partition per thread).
        flatten: One column per field of `ArticleSummary` instead of one JSON column (see
            `summarize.columns`).
        workers: Processes sharing the summarizer's ``rpm`` and ``tpm`` (each gets its
            share); default: the workers of the current distributed client, else 1.

    Returns:
        Every input column, plus ``summary`` and ``error`` (or the flattened columns),
        strings or missing.

    Raises:
        ConfigError: The summarizer cannot travel (built with ``transport=``), or the text
            column is missing, or an output column is taken.
    """
    columns = Columns(text_column, None, flatten)
    columns.check(list(df.columns))
    meta = {**dict(df.dtypes), **dict.fromkeys(columns.added, _STRINGS)}
    travelling = _travelling(summarizer, workers)
    mapped = df.map_partitions(  # type: ignore[no-untyped-call]
        _summarize_frame, travelling, columns, concurrency, meta=meta
    )
    return cast(dd.DataFrame, mapped)


def summarize_bag(
    bag: db.Bag,
    summarizer: Summarizer | SummarizerConfig,
    *,
    text_key: str = "text",
    concurrency: int = 8,
    flatten: bool = False,
    workers: int | None = None,
) -> db.Bag:
    """Each element of `bag` with its summary and error, in the same order.

    A dict element (``{"id": ..., "text": ...}``) gets the output keys added; an element
    that is a text (str or bytes) becomes a dict of the output keys alone. Arguments as
    for `summarize_dataframe`.

    Raises:
        ConfigError: The summarizer cannot travel; when computed, a dict without `text_key`
            or with an output key already.
    """
    columns = Columns(text_key, None, flatten)
    travelling = _travelling(summarizer, workers)
    mapped = bag.map_partitions(  # type: ignore[no-untyped-call]
        _summarize_items, travelling, columns, concurrency
    )
    return cast(db.Bag, mapped)


def _travelling(summarizer: Summarizer | SummarizerConfig, workers: int | None) -> bytes:
    """The pickled config each worker rebuilds its summarizer from, its limits shared.

    Pickled once here (cloudpickle, as Dask would) so that every partition finds the
    same bytes and its worker's warm summarizer.
    """
    config = summarizer.config if isinstance(summarizer, Summarizer) else summarizer
    return bytes(cloudpickle.dumps(config.share(workers or _worker_count())))


def _worker_count() -> int:
    try:
        from distributed import default_client

        return max(1, len(default_client().nthreads()))  # type: ignore[no-untyped-call]
    except (ImportError, ValueError):  # no distributed client: one process
        return 1


@functools.lru_cache(maxsize=8)
def _warm(travelling: bytes) -> Summarizer:
    """This process's summarizer for a pickled config, built on first use."""
    config = cloudpickle.loads(travelling)
    assert isinstance(config, SummarizerConfig)
    return Summarizer.from_config(config)


def _results(travelling: bytes, texts: list[Any], concurrency: int) -> list[Result | BaseException]:
    return _warm(travelling).summarize_many(texts, concurrency=concurrency).results


def _summarize_frame(
    part: pd.DataFrame, travelling: bytes, columns: Columns, concurrency: int
) -> pd.DataFrame:
    columns.check(list(part.columns))
    texts = part[columns.text].tolist()
    results = _results(travelling, texts, concurrency) if texts else []
    added = {
        name: pd.Series(values, index=part.index, dtype=_STRINGS)
        for name, values in columns.of(results).items()
    }
    return part.assign(**added)


def _summarize_items(
    items: Iterable[object], travelling: bytes, columns: Columns, concurrency: int
) -> list[dict[str, Any]]:
    items = list(items)
    for item in items:
        if isinstance(item, Mapping):
            columns.check(list(item))
    texts = [item[columns.text] if isinstance(item, Mapping) else item for item in items]
    results = _results(travelling, texts, concurrency) if texts else []
    return [
        {**(item if isinstance(item, Mapping) else {}), **columns.row(result)}
        for item, result in zip(items, results, strict=True)
    ]
