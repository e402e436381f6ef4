"""The command line, against a FakeLLM served over real loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from summarize import ArticleSummary
from summarize.cli import main
from summarize.testing import FakeLLM, FakeLLMServer, HTTPFailure

from .conftest import SEED_ARTICLE
from .test_pipeline import good_draft


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    with FakeLLMServer(FakeLLM(good_draft())) as running:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        yield running


def test_default_output_is_readable_text(
    server: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(SEED_ARTICLE), "--model", "m"]) == 0
    out = capsys.readouterr().out
    assert "Summary" in out and "[w1] Vladimir Putin" in out and "[v1] Moscow" in out
    assert "answers v1" in out, "rebuttal link not shown"
    assert server.fake.requests[0]["model"] == "m"


def test_json_output_validates_as_article_summary(
    server: FakeLLMServer, capsys: pytest.CaptureFixture[str], seed_article: str
) -> None:
    assert main([str(SEED_ARTICLE), "--format", "json"]) == 0
    summary = ArticleSummary.model_validate_json(capsys.readouterr().out)
    e = summary.venues[0].evidence[0]
    assert e.start is not None and seed_article[e.start : e.end] == e.quote


def test_markdown_to_file_and_several_inputs(
    server: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tmp_path / "second.txt"
    second.write_text(SEED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out.md"
    assert main([str(SEED_ARTICLE), str(second), "--format", "markdown", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("## Warnings") == 2 and f"# {second}" in text
    assert capsys.readouterr().out == ""


def test_several_inputs_as_json_lines(
    server: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(SEED_ARTICLE), str(SEED_ARTICLE), "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["venues"] for line in lines)


def test_stdin(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    stdin = io.TextIOWrapper(io.BytesIO(SEED_ARTICLE.read_bytes()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["-", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"][0]["id"] == "w1"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"   \n", "article is empty"), (b"\xff\xfe\x00binary", "not UTF-8")],
)
def test_bad_input_is_one_line_error(
    server: FakeLLMServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main([str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("summarize: error: ") and message in err and err.count("\n") == 1
    assert server.fake.calls == 0


def test_missing_file_exits_2(server: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/no/such/article.txt"]) == 2
    assert "cannot read /no/such/article.txt" in capsys.readouterr().err


def test_endpoint_failure_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeLLMServer(FakeLLM(HTTPFailure(401, "invalid api key"))) as running:
        monkeypatch.setenv("OPENAI_API_KEY", "wrong")
        assert main([str(SEED_ARTICLE), "--base-url", running.base_url]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401: invalid api key" in err and err.count("\n") == 1


def test_python_dash_m_runs_as_a_real_process(server: FakeLLMServer) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "summarize", str(SEED_ARTICLE), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["meta"]["backend"] == "openai"

    bad = subprocess.run(
        [sys.executable, "-m", "summarize", "--format", "yaml", str(SEED_ARTICLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import summarize

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and summarize.__version__ in capsys.readouterr().out


def test_one_bad_file_does_not_stop_the_others(
    server: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main([str(empty), str(SEED_ARTICLE), "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["venues"], "the good file was not summarized"
    assert captured.err == f"summarize: error: {empty}: article is empty or only whitespace\n"


def test_unwritable_output_exits_2(
    server: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(SEED_ARTICLE), "-o", "/no/such/dir/out.txt"]) == 2
    assert "cannot write /no/such/dir/out.txt" in capsys.readouterr().err


def test_eval_scores_a_model_against_gold_files_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarize.cli import main
    from summarize.testing import FakeLLM, FakeLLMServer

    from .conftest import SEEDS
    from .test_pipeline import good_draft

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    out = tmp_path / "report.json"
    gold = SEEDS / "vladivostok-2025-09-06.gold.json"
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        code = main(
            [
                "eval",
                str(gold),
                "--base-url",
                server.base_url,
                "--model",
                "m",
                "--strategy",
                "single",
                "--json",
                str(out),
            ]
        )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "vladivostok-2025-09-06: F1 0.35" in captured.err, "no per-article progress"
    assert "overall" in captured.out and "traps triggered 0" in captured.out
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["overall"]["matched"] == 3 and report["strategy"] == "single"
    assert report["results"][0]["requests"] == 1


def test_eval_without_gold_files_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarize.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["eval"]) == 2
    assert "no gold files" in capsys.readouterr().err
