"""The "any OpenAI-compatible endpoint" path against a real server: ``llama_cpp.server``
started on a free loopback port with the default local model. Nothing is faked.

The server ignores ``json_schema`` response formats, so sentence coding asks through tool
calls there (their schema becomes the grammar). A short article keeps it quick.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from summarize import RequestRejectedError, Summarizer
from summarize.models import DEFAULT_MODEL, model_path
from summarize.names import same_name

from .model_checks import assert_offsets_cover_quotes, assert_valid_local_summary
from .test_local_model import SHORT_ARTICLE

pytestmark = pytest.mark.server
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path(DEFAULT_MODEL)),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(os.cpu_count() or 1),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    base_url = f"http://127.0.0.1:{port}/v1"
    # A file, not a pipe: the server logs a lot, and a full pipe would block it.
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_until_up(base_url, process, log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
        try:
            if httpx2.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_TIMEOUT_S}s")


def test_summarize_through_a_real_openai_compatible_server(server_url: str) -> None:
    with Summarizer(
        base_url=server_url, api_key="x", model="m", strategy="sentences", cache=False
    ) as summarizer:
        summary = summarizer.summarize(SHORT_ARTICLE)

    assert_valid_local_summary(summary, "sentence_coding@v1")
    assert summary.meta.backend == "openai" and summary.meta.model == "m"
    assert_offsets_cover_quotes(summary, SHORT_ARTICLE, at_least=1)
    actors = [w.by for w in summary.warnings]
    assert any(same_name(a, "Anna Kovacs") for a in actors), f"warnings by {actors}"


async def test_async_through_the_server(server_url: str) -> None:
    """The async client against the real server: one call for the whole summary."""
    async with Summarizer(
        base_url=server_url, api_key="x", model="m", strategy="single", cache=False
    ) as summarizer:
        summary = await summarizer.asummarize(SHORT_ARTICLE)
    assert_valid_local_summary(summary, "article_summary@v1")
    assert summary.meta.backend == "openai" and summary.meta.attempts >= 1


def test_server_rejection_is_a_request_rejected_error(server_url: str, seed_article: str) -> None:
    # Far more tokens than the server's context window: it answers 400, which is not retried.
    summarizer = Summarizer(base_url=server_url, api_key="x", model="m", cache=False)
    with summarizer, pytest.raises(RequestRejectedError) as info:
        summarizer.summarize(seed_article * 40)
    assert info.value.attempts == 1
