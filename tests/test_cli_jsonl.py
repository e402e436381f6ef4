"""The command line on corpora: --jsonl, the batch engine for FILEs, limits, the run report, Ctrl-C.

Against a FakeLLM served over real loopback HTTP; the Ctrl-C test runs ``python -m summarize``
as a real process and sends it SIGINT.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import summarize.ratelimit
from summarize.cli import main
from summarize.config import Settings
from summarize.testing import FakeLLM, FakeLLMServer

from .conftest import SEED_ARTICLE
from .test_batch import Peak
from .test_pipeline import good_draft

SEED = SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("SUMMARIZE_MODEL", "fake-model")
        yield server


def corpus(path: Path, *records: dict[str, Any] | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_writes_one_line_per_article_with_its_other_fields(
    endpoint: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = corpus(
        tmp_path / "in.jsonl",
        {"id": "a", "text": SEED, "source": "DW", "tags": ["x"]},
        {"id": 2, "text": "   "},
        "",
        "not json",
        {"id": "c", "body": "no text field"},
    )
    out = tmp_path / "out.jsonl"
    assert main(["--jsonl", str(source), "-o", str(out)]) == 2, "a malformed line is exit 2"
    lines = {str(line.get("id", line.get("line"))): line for line in read_lines(out)}
    assert set(lines) == {"a", "2", "4", "5"}, "not one line per article or input line"
    assert lines["a"]["source"] == "DW" and lines["a"]["tags"] == ["x"]
    assert "text" not in lines["a"], "the article text was copied to the output"
    assert lines["a"]["summary"]["venues"][0]["place"] == "Moscow"
    assert lines["2"]["error"]["type"] == "EmptyInputError"
    assert lines["4"]["error"]["message"].startswith("not JSON")
    assert "no text string" in lines["5"]["error"]["message"]
    err = capsys.readouterr().err
    assert "3 articles: 1 summarized (0 from the cache), 2 failed" not in err  # lines 4, 5 are not
    assert "2 articles: 1 summarized (0 from the cache), 1 failed (EmptyInputError: 1)" in err
    assert endpoint.fake.calls == 1


def test_jsonl_from_stdin_to_stdout_report_on_stderr(
    endpoint: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(json.dumps({"id": n, "text": f"{SEED} ({n})"}) for n in range(3))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["--jsonl", "-"]) == 0
    captured = capsys.readouterr()
    assert sorted(json.loads(line)["id"] for line in captured.out.splitlines()) == [0, 1, 2]
    assert "3 articles: 3 summarized" in captured.err and "requests: 3" in captured.err


def test_each_line_is_written_as_its_article_finishes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    seen_before_second: list[bool] = []

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if "(second)" in str(body["messages"]):  # answer only once the first line is out
            deadline = time.monotonic() + 10
            while not (out.exists() and out.read_text(encoding="utf-8").endswith("\n")):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            seen_before_second.append(out.exists() and out.read_text(encoding="utf-8") != "")
        return good_draft()

    source = corpus(
        tmp_path / "in.jsonl",
        {"id": 1, "text": f"{SEED} (first)"},
        {"id": 2, "text": f"{SEED} (second)"},
    )
    with FakeLLMServer(FakeLLM(reply)) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert main(["--jsonl", str(source), "-o", str(out), "--concurrency", "1"]) == 0
    assert seen_before_second == [True], "the first line was held back until the run ended"
    assert [line["id"] for line in read_lines(out)] == [1, 2]


def test_files_run_on_the_batch_engine_and_keep_their_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = []
    for n in range(3):
        path = tmp_path / f"a{n}.txt"
        path.write_text(f"{SEED}\n\n({n})", encoding="utf-8")
        names.append(str(path))
    peak = Peak(0.3, good_draft())
    out = tmp_path / "out.md"
    with FakeLLMServer(FakeLLM(peak)) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code = main([*names, "--concurrency", "3", "--format", "markdown", "-o", str(out)])
    assert code == 0 and peak.peak == 3, f"{peak.peak} requests at once, asked for 3"
    text = out.read_text(encoding="utf-8")
    positions = [text.index(f"# {name}") for name in names]
    assert positions == sorted(positions), "files were written out of order"


def test_limit_flags_reach_the_summarizer(
    endpoint: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Settings] = []
    real = summarize.ratelimit.Throttle.from_settings

    def spy(settings: Settings) -> summarize.ratelimit.Throttle:
        seen.append(settings)
        return real(settings)

    monkeypatch.setattr(summarize.ratelimit.Throttle, "from_settings", spy)
    source = corpus(tmp_path / "in.jsonl", {"id": 1, "text": SEED})
    assert main(["--jsonl", str(source), "--rpm", "7", "--tpm", "9000", "-o", "/dev/null"]) == 0
    assert [(s.rpm, s.tpm) for s in seen] == [(7, 9000)]


@pytest.mark.parametrize("flag", ["--rpm", "--tpm", "--concurrency"])
def test_limit_flags_must_be_positive(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--jsonl", "x.jsonl", flag, "0"])
    assert info.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_files_or_jsonl_but_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["a.txt", "--jsonl", "b.jsonl"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "give article FILEs or --jsonl FILE" in capsys.readouterr().err


def test_price_table_and_json_report(
    endpoint: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"fake-model": [1_000_000, 0]}), encoding="utf-8")
    source = corpus(tmp_path / "in.jsonl", {"id": 1, "text": SEED})
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    argv = ["--jsonl", str(source), "-o", str(out), "--prices", str(prices)]
    assert main([*argv, "--report", str(report)]) == 0
    tokens_in = read_lines(out)[0]["summary"]["meta"]["usage"]["prompt_tokens"]
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["cost_usd"] == tokens_in and written["tokens_in"] == tokens_in
    assert f"est. cost ${tokens_in:.4f}" in capsys.readouterr().err


def test_a_bad_price_table_is_a_usage_error(
    endpoint: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"m": 3}', encoding="utf-8")
    assert main([str(SEED_ARTICLE), "--prices", str(prices)]) == 2
    assert "price table" in capsys.readouterr().err and endpoint.fake.calls == 0


def test_ctrl_c_keeps_what_finished_and_a_rerun_resumes_from_the_cache(tmp_path: Path) -> None:
    n = 10
    source = corpus(tmp_path / "in.jsonl", *({"id": i, "text": f"{SEED} ({i})"} for i in range(n)))
    out = tmp_path / "out.jsonl"
    argv = [sys.executable, "-m", "summarize", "--jsonl", str(source), "-o", str(out)]
    argv += ["--concurrency", "2"]
    with FakeLLMServer(FakeLLM(good_draft(), latency=1.0)) as server:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "k",
            "SUMMARIZE_MODEL": "fake-model",
            "SUMMARIZE_CACHE": str(tmp_path / "cache.sqlite3"),
        }
        with subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) as process:
            try:
                deadline = time.monotonic() + 90
                while not (out.exists() and out.read_text(encoding="utf-8").count("\n") >= 2):
                    assert process.poll() is None, "the run ended before it was interrupted"
                    assert time.monotonic() < deadline, "no line was written during the run"
                    time.sleep(0.02)
                process.send_signal(signal.SIGINT)
                _, err = process.communicate(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()  # a hung run must not outlive the test
        assert process.returncode == 130, err
        first = read_lines(out)
        assert 2 <= len(first) < n and all("summary" in line for line in first)
        assert "interrupted" in err and "Traceback" not in err, err
        calls_before = server.fake.calls

        rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        second = {line["id"]: line["summary"]["meta"] for line in read_lines(out)}
        assert sorted(second) == list(range(n))
        assert all(second[line["id"]]["cache_hit"] for line in first), "finished work was redone"
        assert server.fake.calls - calls_before == n - len(first)
        assert f"({len(first)} from the cache)" in rerun.stderr
