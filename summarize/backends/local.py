"""The embedded model, in-process: llama-cpp-python behind an OpenAI-shaped HTTP transport.

The transport answers ``POST /chat/completions`` by calling ``Llama.create_chat_completion``,
so the local model goes through exactly the same openai + instructor path as a remote
endpoint: in TOOLS mode the forced tool choice becomes a llama.cpp grammar, and the output is
valid JSON for the schema. With `summarize.backends.greedy` (how a grammar is sampled) and
`summarize.backends.prefix` (the instructions' state on disk), the only importer of
``llama_cpp``; which model files exist and how they are fetched is `summarize.models`.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib.util
import json
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import httpx2

from summarize.errors import ConfigError
from summarize.models import models_dir, resolve

__all__ = ["LlamaTransport", "token_counter"]

_T = TypeVar("_T")
_INSTALL_HINT: Final = "install the local extra: pip install 'summarize[local]'"

# Request fields llama-cpp-python's create_chat_completion understands.
_ACCEPTED: Final = frozenset(
    {
        "messages",
        "tools",
        "tool_choice",
        "functions",
        "function_call",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "stop",
        "seed",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "response_format",
        "logit_bias",
    }
)


@dataclass(frozen=True, slots=True)
class _ModelKey:
    path: str
    n_ctx: int
    n_threads: int | None


class _LoadedModel:
    """One llama.cpp model and the one thread that runs it.

    llama.cpp is not thread-safe, so calls are serialized; and they all come from one thread
    because llama.cpp's OpenMP keeps a team of threads per calling thread, spinning a while
    after each step: calls from a pool's changing threads left idle teams spinning against
    the working one (the seed took 65 s through `asummarize`, 53 s through `summarize`).
    """

    def __init__(self, key: _ModelKey) -> None:
        from summarize.backends.greedy import GreedyGrammarLlama  # needs llama_cpp: checked

        self.llama = GreedyGrammarLlama(
            model_path=key.path, n_ctx=key.n_ctx, n_threads=key.n_threads, verbose=False
        )
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summarize-llama")
        self.requests = 0
        """Requests answered so far (the first one may restore and save a prefix state)."""

    def run(self, work: Callable[[], _T]) -> _T:
        """`work()` on the model's thread, after whatever was submitted before it."""
        return self.thread.submit(work).result()

    def close(self) -> None:
        """Free the model once its thread is done."""
        self.thread.shutdown(wait=True)
        self.llama.close()


class _Vocabulary:
    """A model's tokenizer alone: its GGUF loaded with ``vocab_only`` (no weights)."""

    def __init__(self, path: str) -> None:
        from llama_cpp import Llama
        from llama_cpp._utils import suppress_stdout_stderr

        # Its context has no trained length, and llama.cpp says so on stderr whatever `verbose`.
        with suppress_stdout_stderr(disable=False):
            self.llama = Llama(model_path=path, vocab_only=True, verbose=False)
        self.lock = threading.Lock()

    def count(self, text: str) -> int:
        """Tokens of `text`, without the BOS token a prompt starts with."""
        with self.lock:
            return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


_models: dict[_ModelKey, _LoadedModel] = {}
_vocabularies: dict[str, _Vocabulary] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free models before interpreter teardown (llama.cpp's finalizers fail during it)."""
    with _models_lock:
        for loaded in _models.values():
            loaded.close()
        for vocabulary in _vocabularies.values():
            vocabulary.llama.close()
        _models.clear()
        _vocabularies.clear()


def _model(key: _ModelKey) -> _LoadedModel:
    """Load each model file once per process; every Summarizer shares it."""
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _models[key] = _LoadedModel(key)
        return loaded


def token_counter(model_path: str | Path | None = None) -> Callable[[str], int]:
    """Counts tokens with a local model's own tokenizer; its vocabulary is loaded once.

    Args:
        model_path: As `LlamaTransport` takes it.

    Raises:
        ConfigError: llama-cpp-python is not installed, or the model is unknown.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(f"llama-cpp-python is not installed; {_INSTALL_HINT}")
    path = str(resolve(None if model_path is None else str(model_path)))
    with _models_lock:
        vocabulary = _vocabularies.get(path)
        if vocabulary is None:
            vocabulary = _vocabularies[path] = _Vocabulary(path)
    return vocabulary.count


class LlamaTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport that serves OpenAI chat completions from a local GGUF model.

    Args:
        model_path: A GGUF path, a registry model name, an ``"hf:OWNER/REPO/FILE.gguf"`` spec,
            or None for the default model; fetched on first use (see `summarize.models`).
        n_ctx: Context window in tokens.
        n_threads: CPU threads (None: every core; llama.cpp's own default is half of them).
        keep_prefix: Whether a process's first request saves, and loads, the model's state
            for its system message on disk (`summarize.backends.prefix`): the next process
            skips reading it again (~5 s on two cores for the default instructions).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        keep_prefix: bool = True,
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"llama-cpp-python is not installed; {_INSTALL_HINT}")
        path = resolve(None if model_path is None else str(model_path))
        self._key = _ModelKey(str(path), n_ctx, n_threads or os.cpu_count() or 1)
        self._prefix = None
        if keep_prefix:
            from summarize.backends.prefix import PrefixState  # needs llama_cpp: checked

            context = f"n_ctx={n_ctx},n_threads={self._key.n_threads}"
            self._prefix = PrefixState(models_dir() / "states", str(path), context)

    @property
    def model_path(self) -> Path:
        """The GGUF file this transport serves."""
        return Path(self._key.path)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request, blocking."""
        return self._respond(request.method, request.url.path, request.read())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request in a worker thread (generation is CPU-bound)."""
        body = await request.aread()
        return await asyncio.to_thread(self._respond, request.method, request.url.path, body)

    def _respond(self, method: str, path: str, body: bytes) -> httpx2.Response:
        if method != "POST" or not path.endswith("/chat/completions"):
            return _error(404, f"the local model serves only POST /chat/completions, not {path}")
        try:
            request = json.loads(body)
        except json.JSONDecodeError as exc:
            return _error(400, f"request body is not JSON: {exc}")
        try:
            return httpx2.Response(200, json=self._complete(request))
        except ValueError as exc:  # e.g. prompt longer than the context window
            return _error(400, str(exc))

    def _complete(self, request: dict[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in request.items() if k in _ACCEPTED and v is not None}
        if "max_tokens" not in kwargs and request.get("max_completion_tokens"):
            kwargs["max_tokens"] = request["max_completion_tokens"]
        schema = _json_schema(request.get("response_format"))
        if schema is not None:
            kwargs.pop("response_format", None)
            kwargs["grammar"] = _grammar(json.dumps(schema))  # key order is answer order
        loaded = _model(self._key)

        def complete() -> dict[str, Any]:
            prefix = self._prefix if loaded.requests == 0 else None  # the process's first
            if prefix is not None:
                prefix.restore(loaded.llama)
            result = cast(dict[str, Any], loaded.llama.create_chat_completion(**kwargs))
            loaded.requests += 1
            if prefix is not None:
                prompt_tokens = int(result.get("usage", {}).get("prompt_tokens", 0))
                prefix.keep(loaded.llama, kwargs.get("messages"), prompt_tokens)
            return result

        result = loaded.run(complete)
        _mark_truncation(result, kwargs.get("max_tokens"))
        result["model"] = request.get("model") or result.get("model")
        return result


def _json_schema(response_format: object) -> dict[str, Any] | None:
    """The schema of an OpenAI ``json_schema`` response format.

    llama-cpp-python 0.3.x ignores that format; here it becomes a grammar (`_grammar`).
    Unlike a tool call, the schema is not rendered into the prompt: a shared prompt prefix
    stays shared.
    """
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


def _grammar(schema: str) -> Any:
    """A llama.cpp grammar for JSON valid against `schema`, compact and on one line.

    llama-cpp-python's own schema grammar lets a space follow every token, and models take
    it: ``{"kind": "position", ...}`` is 23 tokens where ``{"kind":"position",...}`` is 18,
    and answer tokens are what a local call spends its time on. Its strings may also hold
    raw newlines and tabs, which JSON forbids and small models emit.
    """
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(_compact_gbnf(schema), verbose=False)


@functools.cache
def _compact_gbnf(schema: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(schema)
    gbnf = re.sub(r"^space ::= .*$", 'space ::= ""', gbnf, flags=re.MULTILINE)
    return gbnf.replace('char ::= [^"\\\\]', 'char ::= [^"\\\\\\x00-\\x1F\\x7F]', 1)


def _mark_truncation(result: dict[str, Any], max_tokens: int | None) -> None:
    """llama-cpp-python reports tool calls as finished even when cut off at max_tokens."""
    used = result.get("usage", {}).get("completion_tokens", 0)
    if max_tokens and used >= max_tokens:
        for choice in result.get("choices", []):
            choice["finish_reason"] = "length"


def _error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"error": {"message": message, "type": "invalid_request_error"}}
    )
