"""Summaries of a Ray Dataset, on a pool of actors that each keep a `Summarizer` warm.

    import ray
    from summarize import Summarizer
    from summarize.ray import summarize_dataset

    ds = ray.data.read_json("articles.jsonl")                   # columns id, text, ...
    out = summarize_dataset(ds, Summarizer("gpt-4o-mini", rpm=3000), actors=4, concurrency=16)
    out.write_parquet("summaries/")                             # id, text, ..., summary, error

Each actor rebuilds the summarizer once from its `SummarizerConfig` and summarizes every
batch it is given on one event loop, at most `concurrency` requests in flight per actor
(shared by the batches Ray runs at once on it). Rate limits are divided among the actors.
A row that fails gets its error in the ``error`` column and never fails its batch. Rows come
back in no guaranteed order: match them to the input by the id column. Needs the ``ray``
extra: ``pip install 'summarize[ray]'``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pyarrow as pa
import ray.data

from summarize.batch import Result, as_completed
from summarize.columns import Columns
from summarize.config import SummarizerConfig
from summarize.pipeline import Summarizer
from summarize.schema import ArticleSummary

__all__ = ["summarize_dataset"]


def summarize_dataset(
    ds: ray.data.Dataset,
    summarizer: Summarizer | SummarizerConfig,
    *,
    text_column: str = "text",
    id_column: str | None = "id",
    actors: int = 2,
    concurrency: int = 8,
    batch_size: int | None = None,
    flatten: bool = False,
    num_cpus: float = 1.0,
) -> ray.data.Dataset:
    """`ds` with each row's summary and error added (lazily, like any Ray transform).

    Args:
        ds: Rows with a text column (str or UTF-8 bytes).
        summarizer: What to summarize with; it travels to each actor as its `config`.
        text_column: The column holding each article.
        id_column: A column that identifies each row, checked to be there (rows come back
            in any order); None when the rows are matched some other way.
        actors: Actors in the pool, each with its own summarizer; each gets 1/actors of the
            summarizer's ``rpm`` and ``tpm``.
        concurrency: Requests in flight at most per actor.
        batch_size: Rows handed to an actor at a time; default twice `concurrency`, so its
            slots stay full but for each batch's last round.
        flatten: One column per field of `ArticleSummary` instead of one JSON column (see
            `summarize.columns`).
        num_cpus: CPUs Ray reserves for each actor (an endpoint needs little; the
            in-process model wants its threads).

    Returns:
        Every input column, plus ``summary`` and ``error`` (or the flattened columns).

    Raises:
        ConfigError: The summarizer cannot travel (built with ``transport=``), or a column
            is missing or taken (at once when Ray knows the schema, else when it runs).
    """
    if actors < 1 or concurrency < 1:
        raise ValueError("actors and concurrency must be at least 1")
    config = summarizer.config if isinstance(summarizer, Summarizer) else summarizer
    columns = Columns(text_column, id_column, flatten)
    schema = ds.schema(fetch_if_missing=False)
    if schema is not None:
        columns.check(schema.names)
    return ds.map_batches(
        _Summarize,
        fn_constructor_kwargs={
            "config": config.share(actors),
            "columns": columns,
            "concurrency": concurrency,
        },
        batch_size=batch_size or 2 * concurrency,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
    )


class _Summarize:
    """The callable each actor runs: one warm summarizer, one bound on requests in flight."""

    def __init__(self, config: SummarizerConfig, *, columns: Columns, concurrency: int) -> None:
        self.summarizer = Summarizer.from_config(config)
        self.columns = columns
        self.slots = asyncio.Semaphore(concurrency)  # bound to the actor's loop on first use

    async def __call__(self, batch: pa.Table) -> AsyncIterator[pa.Table]:
        """`batch` with the output columns appended."""
        self.columns.check(batch.column_names)
        results = await self._summarize(batch.column(self.columns.text).to_pylist())
        for name, values in self.columns.of(results).items():
            batch = batch.append_column(name, pa.array(values, type=pa.string()))
        yield batch

    async def _summarize(self, texts: Sequence[str | bytes]) -> list[Result]:
        """Every text's summary or error, in order."""

        async def one(text: str | bytes) -> ArticleSummary:
            async with self.slots:
                return await self.summarizer.asummarize(text)

        results: dict[int, Result] = {}
        async for index, result in as_completed(one, texts, concurrency=max(len(texts), 1)):
            results[index] = result
        return [results[i] for i in range(len(texts))]
