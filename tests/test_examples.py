"""The examples run, start to finish, against the shipped test double over loopback HTTP."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from summarize import ArticleSummary
from summarize.testing import FakeLLM, FakeLLMServer

from .conftest import SEED_ARTICLE
from .test_pipeline import MOSCOW, good_draft

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(
    name: str, *args: str, base_url: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run an example as a user would, its model endpoint being `base_url` (no real key)."""
    env = {
        **os.environ,
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "test-key",
        "SUMMARIZE_MODEL": "fake-model",
        "SUMMARIZE_CACHE": "off",
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_every_example_is_run_by_a_test() -> None:
    covered = {"quickstart.py", "batch_async.py", "test_with_fake.py"}
    covered |= {"service/app.py", "notebook.ipynb"}  # tests/test_service.py, test_notebook.py
    examples = [*EXAMPLES.rglob("*.py"), *EXAMPLES.rglob("*.ipynb")]
    found = {p.relative_to(EXAMPLES).as_posix() for p in examples if "checkpoints" not in str(p)}
    assert found == covered, "a new example has no test"


def test_quickstart_prints_verified_quotes(tmp_path: Path) -> None:
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        result = run_example("quickstart.py", base_url=server.base_url, cwd=tmp_path)
    assert server.fake.calls == 1
    assert "v1 Venue" in result.stdout and "'place': 'Moscow'" in result.stdout
    assert repr(MOSCOW) in result.stdout, "the verified slice of the article is not printed"
    assert "model='fake-model'" in result.stdout


def test_batch_example_writes_one_summary_per_article_and_reports_failures(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    seed = SEED_ARTICLE.read_text(encoding="utf-8")
    for n in range(3):
        (folder / f"a{n}.txt").write_text(f"{seed}\n\nUpdate {n}.", encoding="utf-8")
    (folder / "empty.txt").write_text("   ", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with FakeLLMServer(FakeLLM(good_draft())) as server:
        result = run_example(
            "batch_async.py",
            str(folder),
            str(out),
            "--base-url",
            server.base_url,
            base_url=server.base_url,
            cwd=tmp_path,
        )
    assert server.fake.calls == 3, "the empty article reached the model"
    assert "3/4 summarized" in result.stdout and "empty.txt: article is empty" in result.stdout
    assert "requests: 3 (0 retries, 0 re-asks)" in result.stdout, "no run report"
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(line.pop("file") for line in lines) == ["a0.txt", "a1.txt", "a2.txt"]
    summaries = [ArticleSummary.model_validate(line) for line in lines]
    assert [s.venues[0].place for s in summaries] == ["Moscow"] * 3


def test_fake_llm_example_passes() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "test_with_fake.py"))
    namespace["test_my_pipeline_handles_a_flaky_provider"]()


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.py")), ids=lambda p: p.name)
def test_examples_name_only_public_api(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert "summarize._" not in source and "from summarize.backends" not in source
