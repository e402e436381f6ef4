"""Ray Data: summarize_dataset on a local Ray session, its actors talking to FakeLLMServer.

One Ray session (2 CPUs, no dashboard) serves every test here; each dataset run starts its
own actors, which import summarize: a few seconds each on 2 cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import ray

from summarize import ArticleSummary, ConfigError, Summarizer
from summarize.columns import FLAT_COLUMNS
from summarize.ray import summarize_dataset
from summarize.testing import FakeLLM, FakeLLMServer, HTTPFailure, Reply

from .test_batch import GOOD, Peak, article_number, articles

# Ray's DataContext() sets fields it has deprecated itself (`use_polars`, ...; ray 2.60).
pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:ray\.data\.context")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"SUMMARIZE_CACHE": "off", "OPENAI_API_KEY": ""}},
    )
    try:
        yield
    finally:
        ray.shutdown()


def dataset(texts: list[str]) -> ray.data.Dataset:
    return ray.data.from_items([{"id": f"a{i}", "text": t} for i, t in enumerate(texts)])


def server_summarizer(server: FakeLLMServer) -> Summarizer:
    return Summarizer("m", base_url=server.base_url, api_key="k", cache=False)


def test_each_row_gets_its_summary_or_its_error(ray_session: None, seed_article: str) -> None:
    def reply(body: dict[str, Any]) -> Reply:
        return HTTPFailure(400, "bad request") if article_number(body) == 5 else GOOD

    texts = articles(seed_article, 8)
    texts[3] = "   "
    with FakeLLMServer(FakeLLM(reply)) as server:
        ds = summarize_dataset(dataset(texts), server_summarizer(server), concurrency=2)
        rows = {row["id"]: row for row in ds.take_all()}
    assert sorted(rows) == [f"a{i}" for i in range(8)], "a row was lost or duplicated"
    assert rows["a3"]["error"].startswith("EmptyInputError: ")
    assert rows["a5"]["error"].startswith("RequestRejectedError: ")
    assert rows["a3"]["summary"] is None and rows["a5"]["summary"] is None
    for name in ("a0", "a1", "a2", "a4", "a6", "a7"):
        assert rows[name]["error"] is None, f"{name} failed with its batch: {rows[name]['error']}"
        summary = ArticleSummary.model_validate_json(rows[name]["summary"])
        assert summary.warnings and rows[name]["text"] == texts[int(name[1:])]


def test_flatten_gives_a_column_per_field(ray_session: None, seed_article: str) -> None:
    texts = [*articles(seed_article, 2), ""]
    with FakeLLMServer(FakeLLM(GOOD)) as server:
        ds = summarize_dataset(dataset(texts), server_summarizer(server), actors=1, flatten=True)
        rows = sorted(ds.take_all(), key=lambda row: row["id"])
    assert list(rows[0]) == ["id", "text", *FLAT_COLUMNS]
    assert rows[0]["summary"] == GOOD["summary"]
    assert [w["by"] for w in json.loads(rows[0]["warnings"])] == ["Vladimir Putin"]
    assert json.loads(rows[0]["meta"])["model"] == "m"
    failed = rows[2]
    assert failed["error"].startswith("EmptyInputError") and failed["warnings"] is None


def test_an_actor_runs_requests_at_once_up_to_its_concurrency(
    ray_session: None, seed_article: str
) -> None:
    peak = Peak(0.2)
    with FakeLLMServer(FakeLLM(peak)) as server:
        ds = summarize_dataset(
            dataset(articles(seed_article, 12)), server_summarizer(server), actors=1,
            concurrency=3, batch_size=12,
        )  # fmt: skip
        assert ds.count() == 12
    assert peak.peak == 3, f"{peak.peak} requests in flight in one actor, asked for 3"


def test_a_missing_id_column_is_refused_before_anything_runs(ray_session: None) -> None:
    ds = ray.data.from_items([{"text": "an article"}])
    with pytest.raises(ConfigError, match="no id column 'id'"):
        summarize_dataset(ds, Summarizer("m", api_key="k", cache=False))


def test_a_summarizer_that_cannot_travel_is_refused_at_once(ray_session: None) -> None:
    with pytest.raises(ConfigError, match="transport="):
        summarize_dataset(dataset(["an article"]), FakeLLM(GOOD).summarizer())
