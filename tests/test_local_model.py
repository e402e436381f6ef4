"""The real embedded SmolLM2-135M model, in-process, on the seed article. Nothing is faked.

The model is tiny: these tests assert the pipeline's guarantees (a valid typed summary, every
returned quote found at its offsets), not the quality of its content.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from summarize import ArticleSummary, Summarizer, TruncatedError
from summarize.models import model_path

from .model_checks import assert_offsets_cover_quotes, assert_valid_local_summary

pytestmark = pytest.mark.model
SMOLLM2 = "local:smollm2"  # the small model, not the default: fast enough for tests


@pytest.fixture(scope="module")
def local() -> Summarizer:
    return Summarizer(SMOLLM2, cache=False)  # every call here must reach the model


@pytest.fixture(scope="module")
def kept(seed_article: str) -> ArticleSummary:
    return Summarizer(SMOLLM2, ungrounded="keep", cache=False).summarize(seed_article)


def test_embedded_model_ships_in_the_wheel() -> None:
    path = model_path("smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_default_policy_returns_only_grounded_evidence(
    local: Summarizer, seed_article: str
) -> None:
    summary = local.summarize(seed_article)
    assert_valid_local_summary(summary)
    assert summary.meta.backend == "local" and summary.meta.model == SMOLLM2
    for item in summary.items():
        assert item.evidence and all(e.grounded for e in item.evidence), (
            f"{item.id} reached the user with ungrounded evidence"
        )
    assert_offsets_cover_quotes(summary, seed_article)


def test_keep_policy_offsets_match_the_article(kept: ArticleSummary, seed_article: str) -> None:
    assert_valid_local_summary(kept)
    assert_offsets_cover_quotes(kept, seed_article)


def test_model_path_spec_loads_the_same_file(seed_article: str) -> None:
    summary = Summarizer(f"local:{model_path('smollm2')}", cache=False).summarize(seed_article)
    assert summary.meta.model.startswith("local:")
    assert_valid_local_summary(summary)


async def test_async_in_process(local: Summarizer, seed_article: str) -> None:
    summary = await local.asummarize(seed_article)
    assert_valid_local_summary(summary)
    assert_offsets_cover_quotes(summary, seed_article)


def test_tiny_token_budget_is_reported_as_truncation(seed_article: str) -> None:
    with pytest.raises(TruncatedError, match="max_tokens"):
        Summarizer(SMOLLM2, max_tokens=8, max_reasks=0, cache=False).summarize(seed_article)


def test_cli_on_the_embedded_model_warns_about_its_quality_and_caches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What `make demo` does, twice: the second run is served from the default cache."""
    from summarize.cli import TINY_MODEL_NOTE, main

    from .conftest import SEED_ARTICLE

    assert main(["--model", SMOLLM2, str(SEED_ARTICLE)]) == 0
    captured = capsys.readouterr()
    assert TINY_MODEL_NOTE in captured.err
    assert "Summary" in captured.out and f"model {SMOLLM2} (local)" in captured.out
    assert "served from the cache" not in captured.err

    started = time.perf_counter()
    assert main(["--model", SMOLLM2, str(SEED_ARTICLE)]) == 0
    elapsed = time.perf_counter() - started
    again = capsys.readouterr()
    assert "served from the cache" in again.err and "from cache" in again.out
    assert elapsed < 5, f"a cached re-run took {elapsed:.1f}s"  # the model takes ~12 s


def test_missing_model_file_fails_at_construction(tmp_path: Path) -> None:
    from summarize import ConfigError

    with pytest.raises(ConfigError, match="model file not found"):
        Summarizer(f"local:{tmp_path / 'nope.gguf'}")


def test_corrupt_model_file_is_a_rejected_request(tmp_path: Path, seed_article: str) -> None:
    from summarize import RequestRejectedError

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(RequestRejectedError):
        Summarizer(f"local:{bad}").summarize(seed_article)
