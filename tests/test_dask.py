"""Dask: bags and dataframes summarized on a LocalCluster of 2 worker processes on loopback.

The workers talk to `FakeLLMServer` in this process; one cluster serves every test here.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from typing import Any

import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from summarize import ArticleSummary, ConfigError, Summarizer
from summarize.columns import FLAT_COLUMNS
from summarize.config import SummarizerConfig
from summarize.dask import _travelling, summarize_bag, summarize_dataframe
from summarize.testing import FakeLLM, FakeLLMServer, HTTPFailure, Reply

from .test_batch import GOOD, article_number, articles


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
            env={"SUMMARIZE_CACHE": "off", "OPENAI_API_KEY": ""},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def server_summarizer(server: FakeLLMServer) -> Summarizer:
    return Summarizer("m", base_url=server.base_url, api_key="k", cache=False)


def reply(body: dict[str, Any]) -> Reply:
    return HTTPFailure(400, "bad request") if article_number(body) == 5 else GOOD


def test_a_dataframe_gets_a_summary_and_an_error_per_row_by_index(
    client: Client, seed_article: str
) -> None:
    texts = articles(seed_article, 8)
    texts[2] = ""
    frame = pd.DataFrame({"text": texts}, index=[f"a{i}" for i in range(8)])
    with FakeLLMServer(FakeLLM(reply)) as server:
        out = summarize_dataframe(dd.from_pandas(frame, npartitions=2), server_summarizer(server))
        result = out.compute()
    assert list(result.index) == list(frame.index) and (result["text"] == frame["text"]).all()
    assert result.loc["a2", "error"].startswith("EmptyInputError: ")
    assert result.loc["a5", "error"].startswith("RequestRejectedError: ")
    good = result.drop(index=["a2", "a5"])
    assert good["error"].isna().all(), "one row's failure failed its partition"
    for text in good["summary"]:
        assert ArticleSummary.model_validate_json(text).warnings


def test_each_worker_builds_its_summarizer_once(client: Client, seed_article: str) -> None:
    def builds_and_reuses() -> tuple[int, int]:
        from summarize.dask import _warm

        info = _warm.cache_info()
        return info.misses, info.hits

    before = client.run(builds_and_reuses)
    frame = pd.DataFrame({"text": articles(seed_article, 6)})
    with FakeLLMServer(FakeLLM(GOOD)) as server:
        out = summarize_dataframe(dd.from_pandas(frame, npartitions=6), server_summarizer(server))
        assert out["error"].isna().all().compute()
    after = client.run(builds_and_reuses)
    built = [after[w][0] - before[w][0] for w in after]
    reused = [after[w][1] - before[w][1] for w in after]
    assert sum(built) + sum(reused) == 6 and os.getpid() not in client.run(os.getpid).values()
    assert max(built) == 1, f"a worker built its summarizer {max(built)} times for 6 partitions"


def test_a_bag_keeps_its_order_and_records(client: Client, seed_article: str) -> None:
    records = [{"id": i, "text": text} for i, text in enumerate(articles(seed_article, 6))]
    with FakeLLMServer(FakeLLM(reply)) as server:
        bag = db.from_sequence(records, npartitions=3)
        out = summarize_bag(bag, server_summarizer(server), flatten=True).compute()
        texts = summarize_bag(db.from_sequence(["", "  "]), server_summarizer(server)).compute()
    assert [r["id"] for r in out] == list(range(6)), "the bag's order changed"
    assert set(out[0]) == {"id", "text", *FLAT_COLUMNS}
    assert [w["by"] for w in json.loads(out[0]["warnings"])] == ["Vladimir Putin"]
    assert out[5]["error"].startswith("RequestRejectedError") and out[5]["summary"] is None
    assert [set(r) for r in texts] == [{"summary", "error"}] * 2
    assert all(r["error"].startswith("EmptyInputError") for r in texts)


def test_a_missing_text_column_is_refused_at_once(client: Client) -> None:
    frame = dd.from_pandas(pd.DataFrame({"body": ["an article"]}), npartitions=1)
    with pytest.raises(ConfigError, match="no text column 'text'"):
        summarize_dataframe(frame, Summarizer("m", api_key="k", cache=False))


def test_rate_limits_are_divided_among_the_clients_workers(client: Client) -> None:
    summarizer = Summarizer("m", api_key="k", cache=False, rpm=100, tpm=1000)
    config = pickle.loads(_travelling(summarizer, workers=None))
    assert isinstance(config, SummarizerConfig)
    assert (config.settings.rpm, config.settings.tpm) == (50, 500), "2 workers, each its half"
