"""The provider's Batch API, end to end over real loopback HTTP against FakeBatchServer.

Requests must be the ones the online path sends, answers must be read as the online path
reads them and land in the cache in the same envelope, re-asks go to a follow-up batch or
online, batches are sharded under the provider's limits, and a crashed submission resumes
from the ids on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from summarize import AuthenticationError, ConfigError, InvalidOutputError, Summarizer
from summarize.batchjobs import BatchJob, BatchLimits
from summarize.cli import BATCH_PENDING, main
from summarize.testing import FakeBatchServer, FakeLLM, HTTPFailure, Reply, Stall

from .conftest import SEED_ARTICLE
from .test_pipeline import INVENTED, assert_grounded, good_draft, with_invented_rebuttal

ROOT = Path(__file__).resolve().parent.parent
SEED = SEED_ARTICLE.read_text(encoding="utf-8")
GOOD = good_draft()
SCHEMA_INVALID = {"summary": "x", "venues": [{"place": 7}]}


def texts(n: int) -> list[str]:
    return [f"{SEED}\n\n({n})" for n in range(n)]


def lines_of(content: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in content.decode().splitlines()]


def reasked_gets_good(body: dict[str, Any]) -> Reply:
    """An invented quote first; the draft that grounds once re-asked."""
    return (
        GOOD if "not in the article" in json.dumps(body["messages"]) else with_invented_rebuttal()
    )


@pytest.fixture
def server() -> Iterator[FakeBatchServer]:
    """Online requests answered by `server.fake`, batch lines by `server.lines`: both GOOD."""
    with FakeBatchServer(FakeLLM(GOOD), lines=FakeLLM(GOOD)) as fake_provider:
        yield fake_provider


def summarizer(server: FakeBatchServer, tmp_path: Path, **options: Any) -> Summarizer:
    options.setdefault("cache", f"sqlite:///{tmp_path / 'cache.db'}")
    return Summarizer("fake-model", base_url=server.base_url, api_key="k", **options)


def finish(job: BatchJob) -> None:
    report = job.wait(poll_s=0, timeout_s=30)
    assert report.finished, f"the job did not finish: {report.text()}"


def test_each_request_is_the_one_the_online_path_sends_keyed_by_its_cache_key(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    options = {"extra_body": {"seed": 7}, "max_tokens": 900, "temperature": 0.2}
    batch = summarizer(server, tmp_path, **options)
    articles = texts(2)
    job = BatchJob.submit(batch, articles, tmp_path / "job")
    online = FakeLLM(GOOD)
    for article in articles:
        online.summarizer(model="fake-model", **options).summarize(article)
    (upload,) = server.uploads()
    lines = lines_of(upload)
    assert batch.cache is not None
    assert [line["custom_id"] for line in lines] == [batch.cache.key(a) for a in articles]
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    assert [line["body"] for line in lines] == online.requests, "not the online request"
    (created,) = server.batches.values()
    assert (created["endpoint"], created["completion_window"]) == ("/v1/chat/completions", "24h")
    job.close()
    batch.close()


def test_answers_are_read_as_online_and_cached_so_summarize_many_makes_no_request(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    articles = texts(3)
    batch = summarizer(server, tmp_path)
    job = BatchJob.submit(batch, articles, tmp_path / "job")
    assert [s for _, s in job.report().batches] == ["validating"]
    assert [s for _, s in job.status().batches] == ["in_progress"]
    assert job.collect().finished and [s for _, s in job.report().batches] == ["completed"]
    results = job.results()
    assert not results.errors and server.lines.calls == 3
    online = FakeLLM(GOOD).summarizer(model="fake-model")
    for article, summary in zip(articles, results.summaries, strict=True):
        assert_grounded(summary, article)
        expected = online.summarize(article)
        assert summary.model_dump(exclude={"meta"}) == expected.model_dump(exclude={"meta"})
    again = batch.summarize_many(articles)
    assert server.fake.calls == 0, "summarize_many after the batch sent requests"
    assert all(s.meta.cache_hit for s in again.summaries) and not again.errors
    resubmitted = BatchJob.submit(batch, articles, tmp_path / "again")
    assert resubmitted.report().cached == 3 and len(server.uploads()) == 1, "cached ones were sent"
    job.close()
    batch.close()


def test_requests_are_sharded_under_the_per_batch_limits(tmp_path: Path) -> None:
    articles = texts(5)
    one_line = len(json.dumps({"custom_id": "x" * 64, "body": {}})) + 12_000  # about one request
    limits = BatchLimits(max_requests=2, max_bytes=one_line * 3)
    with FakeBatchServer(
        FakeLLM(GOOD), lines=FakeLLM(GOOD), max_requests=2, max_bytes=limits.max_bytes
    ) as server:
        batch = summarizer(server, tmp_path)
        job = BatchJob.submit(batch, articles, tmp_path / "job", limits=limits)
        finish(job)
        uploads = server.uploads()
        assert len(uploads) == 3 and all(len(lines_of(u)) <= 2 for u in uploads)
        assert all(len(u) <= limits.max_bytes for u in uploads)
        assert not job.results().errors, "a batch over the provider's limits failed"
        tight = BatchLimits(max_bytes=len(uploads[0]) // 2 + 10)  # about one request per file
        small = BatchJob.submit(
            summarizer(server, tmp_path, cache="memory"),
            articles[:3],
            tmp_path / "small",
            limits=tight,
        )
        assert len(server.uploads()) == 3 + 3, "the byte limit did not split the file"
        with pytest.raises(ConfigError, match="more than a batch file may hold"):
            BatchJob.submit(
                summarizer(server, tmp_path, cache="memory"),
                articles[:1],
                tmp_path / "tiny",
                limits=BatchLimits(max_bytes=100),
            )
        for each in (job, small):
            each.close()
        batch.close()


def test_ungrounded_answers_are_reasked_in_a_follow_up_batch_as_instructor_reasks_online(
    tmp_path: Path,
) -> None:
    articles = texts(2)
    with FakeBatchServer(FakeLLM(GOOD), lines=FakeLLM(reasked_gets_good)) as server:
        batch = summarizer(server, tmp_path, max_reasks=1)
        job = BatchJob.submit(batch, articles, tmp_path / "job")
        finish(job)
        report = job.report()
        assert (report.reasked, report.online, report.done) == (2, 0, 2)
        assert [name.split("-")[0] for name, _ in report.batches] == ["w0", "w1"]
        online = FakeLLM(reasked_gets_good)
        online.summarizer(model="fake-model", max_reasks=1).summarize(articles[0])
        follow_up = lines_of(server.uploads()[1])
        assert follow_up[0]["body"] == online.requests[1], "not instructor's online re-ask"
        assert INVENTED in json.dumps(follow_up[0]["body"]["messages"])
        for article, summary in zip(articles, job.results().summaries, strict=True):
            assert len(summary.rebuttals) == 1
            assert_grounded(summary, article)
        assert batch.cache is not None
        stored = json.loads(batch.cache.store.get(batch.cache.key(articles[0])) or "{}")
        assert [a["outcome"] for a in stored["meta"]["attempt_log"]] == ["invalid_output", "ok"]
        assert server.fake.calls == 0
        job.close()
        batch.close()


def test_with_invalid_online_answers_to_reask_are_summarized_online(tmp_path: Path) -> None:
    articles = texts(2)
    with FakeBatchServer(FakeLLM(GOOD), lines=FakeLLM(SCHEMA_INVALID)) as server:
        batch = summarizer(server, tmp_path, max_reasks=1)
        job = BatchJob.submit(batch, articles, tmp_path / "job", invalid="online")
        finish(job)
        report = job.report()
        assert (report.online, report.reasked, len(report.batches)) == (2, 0, 1)
        assert "online: 2" in report.text()
        assert server.fake.calls == 2, "the invalid answers were not summarized online"
        assert not job.results().errors
        job.close()
        batch.close()


def test_the_last_allowed_answer_goes_to_the_ungrounded_policy_as_online(
    tmp_path: Path,
) -> None:
    with FakeBatchServer(FakeLLM(GOOD), lines=FakeLLM(with_invented_rebuttal())) as server:
        batch = summarizer(server, tmp_path, max_reasks=0)
        job = BatchJob.submit(batch, [SEED], tmp_path / "job")
        finish(job)
        (summary,) = job.results().summaries
        assert [r.id for r in summary.rebuttals] == ["r1"], "the invented rebuttal was kept"
        assert len(job.report().batches) == 1 and server.fake.calls == 0
        job.close()
        batch.close()


def test_an_answer_still_invalid_after_the_last_reask_fails_its_article(tmp_path: Path) -> None:
    with FakeBatchServer(FakeLLM(GOOD), lines=FakeLLM(SCHEMA_INVALID)) as server:
        batch = summarizer(server, tmp_path, max_reasks=1)
        job = BatchJob.submit(batch, [SEED], tmp_path / "job")
        finish(job)
        (error,) = job.results().errors.values()
        assert isinstance(error, InvalidOutputError)
        report = job.report()
        assert (report.reasked, report.failed, report.errors) == (1, 1, {"InvalidOutputError": 1})
        job.close()
        batch.close()


def test_requests_a_batch_failed_are_sent_again_and_rejected_ones_fail(tmp_path: Path) -> None:
    lines = FakeLLM(HTTPFailure(500), HTTPFailure(400, "bad request"), GOOD)
    with FakeBatchServer(FakeLLM(GOOD), lines=lines) as server:
        batch = summarizer(server, tmp_path)
        job = BatchJob.submit(batch, texts(2), tmp_path / "job")
        finish(job)
        report = job.report()
        assert (report.retried, report.done, report.failed) == (1, 1, 1)
        assert report.errors == {"RequestRejectedError": 1}
        first, second = job.results().results
        assert not isinstance(first, Exception) and "bad request" in str(second)
        job.close()
        batch.close()


def test_a_long_article_is_batched_chunk_by_chunk_and_merged_as_online(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    long = "\n\n".join([SEED] * 3)
    options = {"context_window": 5000, "max_tokens": 1000, "max_reasks": 0}
    batch = summarizer(server, tmp_path, **options)
    job = BatchJob.submit(batch, [long], tmp_path / "job")
    finish(job)
    (summary,) = job.results().summaries
    online = FakeLLM(GOOD).summarizer(model="fake-model", **options).summarize(long)
    assert online.meta.chunks > 1 and server.lines.calls == online.meta.chunks
    assert summary.model_dump(exclude={"meta"}) == online.model_dump(exclude={"meta"})
    job.close()
    batch.close()


def test_a_job_opens_again_only_with_the_same_settings(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    first = summarizer(server, tmp_path)
    BatchJob.submit(first, texts(2), tmp_path / "job").close()
    again = BatchJob.open(tmp_path / "job", summarizer(server, tmp_path))
    finish(again)
    assert len(server.uploads()) == 1 and len(server.batches) == 1, "opening it sent again"
    assert "GET /v1/batches" not in server.routes, "batches were listed without a crash"
    assert len(again.results().summaries) == 2
    with pytest.raises(ConfigError, match="submitted with other settings"):
        BatchJob.open(tmp_path / "job", summarizer(server, tmp_path, max_tokens=100))
    again.close()


def test_a_refused_upload_raises_our_error_and_opening_the_job_again_resumes(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    server.interrupt("POST /v1/files", HTTPFailure(401, "invalid key"))
    batch = summarizer(server, tmp_path)
    with pytest.raises(AuthenticationError, match="invalid key"):
        BatchJob.submit(batch, texts(2), tmp_path / "job")
    job = BatchJob.open(tmp_path / "job", batch)
    finish(job)
    assert len(server.uploads()) == 1 and len(job.results().summaries) == 2
    job.close()
    batch.close()


# The command line, and a real crash of it.


@pytest.fixture
def provider(
    server: FakeBatchServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> FakeBatchServer:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("SUMMARIZE_MODEL", "fake-model")
    monkeypatch.setenv("SUMMARIZE_CACHE", f"sqlite:///{tmp_path / 'cli-cache.db'}")
    return server


def corpus(path: Path, articles: list[str]) -> Path:
    records = [{"id": f"a{n}", "text": text, "source": "DW"} for n, text in enumerate(articles)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_submit_status_collect(
    provider: FakeBatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = corpus(tmp_path / "in.jsonl", texts(3))
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    assert main(["batch", "submit", str(source), "--job", str(job), "--max-requests", "2"]) == 0
    assert main(["batch", "status", "--job", str(job)]) == 0
    assert "in_progress: 2" in capsys.readouterr().out
    assert main(["batch", "collect", "--job", str(job), "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["source"]) for line in lines] == [(f"a{n}", "DW") for n in range(3)]
    assert all(line["summary"]["venues"][0]["place"] == "Moscow" for line in lines)
    assert main(["--jsonl", str(source), "-o", str(tmp_path / "again.jsonl")]) == 0
    assert provider.fake.calls == 0, "the corpus summarized online after the batch was not all hits"


def test_cli_collect_says_when_batches_are_still_running(
    provider: FakeBatchServer, tmp_path: Path
) -> None:
    source = corpus(tmp_path / "in.jsonl", texts(1))
    job = tmp_path / "job"
    assert main(["batch", "submit", str(source), "--job", str(job)]) == 0
    assert main(["batch", "collect", "--job", str(job)]) == BATCH_PENDING  # validating → running


def test_a_crash_while_creating_a_batch_resumes_from_the_ids_on_disk(
    provider: FakeBatchServer, tmp_path: Path
) -> None:
    source = corpus(tmp_path / "in.jsonl", texts(3))
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    provider.interrupt("POST /v1/batches", Stall(1.0))  # the first batch is created, but late
    command = ["batch", "submit", str(source), "--job", str(job), "--max-requests", "2"]
    crashed = subprocess.Popen([sys.executable, "-m", "summarize", *command], cwd=ROOT)
    deadline = time.monotonic() + 60
    while "POST /v1/batches" not in provider.routes and time.monotonic() < deadline:
        time.sleep(0.01)
    crashed.kill()  # SIGKILL while its first batch is being created
    crashed.wait(timeout=10)
    while not provider.batches and time.monotonic() < deadline:
        time.sleep(0.01)  # the provider carries the request out all the same
    state = json.loads((job / "job.json").read_text(encoding="utf-8"))
    assert [b["batch_id"] for b in state["batches"]] == [None, None], "the crash came too late"
    assert (
        main(["batch", "collect", "--job", str(job), "--wait", "--poll", "0", "-o", str(out)]) == 0
    )
    assert len(provider.batches) == 2, "the batch created before the crash was created again"
    assert len(provider.uploads()) == 2, "a file uploaded before the crash was uploaded again"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert provider.lines.calls == 3
