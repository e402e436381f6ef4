"""Real local models, in-process. Nothing is faked.

The default model (Qwen2.5-Coder-1.5B) runs once, on a short article of our own, and must
find its warning with the right actor and exact offsets: what the embedded default is for.
The small SmolLM2-135M runs the pipeline's mechanics fast (strategies, async, truncation,
the CLI and its cache, model files); it finds little, so those tests do not claim to check
what it found.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from summarize import ArticleSummary, Summarizer, TruncatedError
from summarize.models import DEFAULT_MODEL, model_path
from summarize.names import same_name

from .model_checks import assert_offsets_cover_quotes, assert_valid_local_summary

pytestmark = pytest.mark.model
SMOLLM2 = "local:smollm2"  # the small model, not the default: fast enough for tests


SHORT_ARTICLE = (
    "BRUSSELS, May 4 - The European Union's foreign policy chief, Anna Kovacs, warned on "
    "Monday that the bloc would impose new sanctions on Belarus if it kept its troops on the "
    "Lithuanian border.\n\n"
    '"If the troops stay, the sanctions will follow," Kovacs told reporters.\n'
)


@pytest.fixture(scope="module")
def default_summary() -> ArticleSummary:
    return Summarizer("local", cache=False).summarize(SHORT_ARTICLE)


@pytest.fixture(scope="module")
def local() -> Summarizer:
    return Summarizer(SMOLLM2, cache=False)  # every call here must reach the model


def test_default_model_is_the_registry_default(default_summary: ArticleSummary) -> None:
    assert DEFAULT_MODEL == "qwen2.5-coder-1.5b"
    assert default_summary.meta.model == "local" and default_summary.meta.strategy == "sentences"
    assert_valid_local_summary(default_summary, "sentence_coding@v1")


def test_default_model_finds_the_warning_and_who_made_it(default_summary: ArticleSummary) -> None:
    assert_offsets_cover_quotes(default_summary, SHORT_ARTICLE, at_least=1)
    warnings = [w for w in default_summary.warnings if same_name(w.by, "Anna Kovacs")]
    assert warnings, f"no warning by Anna Kovacs: {[i.headline() for i in default_summary.items()]}"
    assert "Belarus" in warnings[0].target or "Belarus" in warnings[0].consequence


def test_small_model_runs_both_strategies(seed_article: str) -> None:
    for strategy, prompt in (("sentences", "sentence_coding@v1"), ("single", "article_summary@v1")):
        summary = Summarizer(SMOLLM2, strategy=strategy, cache=False).summarize(seed_article)
        assert_valid_local_summary(summary, prompt)
        assert summary.meta.backend == "local" and summary.meta.model == SMOLLM2
        for item in summary.items():
            assert item.evidence and all(e.grounded for e in item.evidence), (
                f"{item.id} reached the user with ungrounded evidence"
            )
            for e in item.evidence:
                assert seed_article[e.start : e.end] == e.quote  # type: ignore[index]


def test_keep_policy_flags_but_keeps_ungrounded_quotes(seed_article: str) -> None:
    summary = Summarizer(SMOLLM2, strategy="single", ungrounded="keep", cache=False).summarize(
        seed_article
    )
    assert_valid_local_summary(summary, "article_summary@v1")
    for item in summary.items():
        for e in item.evidence:
            assert e.grounded == (e.start is not None) == (e.match != "none")


def test_model_path_spec_loads_the_same_file(seed_article: str) -> None:
    summary = Summarizer(f"local:{model_path('smollm2')}", cache=False).summarize(seed_article)
    assert summary.meta.model.startswith("local:")
    assert_valid_local_summary(summary, "sentence_coding@v1")


async def test_async_in_process(local: Summarizer, seed_article: str) -> None:
    summary = await local.asummarize(seed_article)
    assert_valid_local_summary(summary, "sentence_coding@v1")


def test_tiny_token_budget_is_reported_as_truncation(seed_article: str) -> None:
    with pytest.raises(TruncatedError, match="max_tokens"):
        Summarizer(SMOLLM2, strategy="single", max_tokens=8, max_reasks=0, cache=False).summarize(
            seed_article
        )


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


def test_a_schema_answer_is_compact_json_without_raw_newlines() -> None:
    """Answer tokens are what a local call costs: no optional spaces, and JSON's own rules.

    Asked to copy an address line by line, the small model writes raw newlines into the
    string unless the grammar forbids them (measured: it did under llama-cpp-python's own).
    """
    import httpx2

    from summarize.backends.local import LlamaTransport

    schema = {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": 120}, "lines": {"type": "integer"}},
        "required": ["text", "lines"],
    }
    body = {
        "model": SMOLLM2,
        "temperature": 0,
        "max_tokens": 80,
        "messages": [
            {
                "role": "user",
                "content": "Copy this address exactly, keeping its line breaks:\n"
                "10 Downing Street\nLondon\nSW1A 2AA",
            }
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    }
    with httpx2.Client(transport=LlamaTransport("smollm2"), base_url="http://local") as client:
        answer = client.post("/v1/chat/completions", json=body).json()
    assert answer["choices"][0]["finish_reason"] == "stop"
    content = answer["choices"][0]["message"]["content"]
    parsed = json.loads(content)  # strict: a raw control character in a string fails here
    assert list(parsed) == ["text", "lines"]  # the schema's order is the answer's order
    assert content == json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
