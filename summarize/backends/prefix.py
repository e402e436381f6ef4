"""The instructions a local model already read, kept on disk for the next process.

Every request of a strategy starts with the same system message (the sentence-coding
instructions are ~450 tokens), and a new process reads it before anything else: ~5 s on two
cores, a tenth of a seed-sized article. After a process's first request, llama.cpp's state
is saved with the system message's tokens as its token list (a file per model, ~25 MB): the
next process loads it before its first request and keeps only those tokens' part, as far as
its prompt shares them. Those values are the ones a fresh process computes for the same
tokens (prompt tokens are read in batches either way), so answers do not change. The file
also holds, as numbers past the listed tokens, the model's reading of that first request's
article and answer (dropped on load); like the result cache, it lives in the user cache. A
file whose tokens the prompt does not start with (another strategy, another prompt version)
is replaced.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama
from llama_cpp import llama_cpp as cpp

__all__ = ["PrefixState"]

logger = logging.getLogger(__name__)


class PrefixState:
    """The saved state of one model's system-message tokens (see the module docstring).

    Args:
        directory: Where the files live.
        model_path: The GGUF file; its path, size and modification time name the file.
        context: What else the state depends on (context size, threads); it names the file
            too, with llama-cpp-python's version.
    """

    def __init__(self, directory: Path, model_path: str, context: str) -> None:
        stat = Path(model_path).stat()
        identity = (
            "|".join(
                (str(Path(model_path).resolve()), str(stat.st_size), str(stat.st_mtime_ns)),
            )
            + f"|{context}|{llama_cpp.__version__}"
        )
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.path = directory / f"{Path(model_path).stem}-{digest}.state"
        self.restored: tuple[int, ...] = ()
        """The tokens `restore` loaded (none before it, or when there was no usable file)."""

    def restore(self, llama: Llama) -> int:
        """Load the saved tokens' state into a model that has read nothing; how many."""
        if llama.n_tokens or not self.path.is_file():
            return 0
        capacity = llama.n_ctx()
        tokens = (cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        read = cpp.llama_state_seq_load_file(
            llama.ctx, str(self.path).encode(), 0, tokens, capacity, ctypes.byref(count)
        )
        if not read or not count.value:
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)  # whatever a failed load left
            logger.debug("prefix state %s not loaded", self.path)
            return 0
        n = count.value
        llama._ctx.kv_cache_seq_rm(-1, n, -1)  # past the listed tokens: not for reuse
        llama.input_ids[:n] = tokens[:n]
        llama.n_tokens = n
        self.restored = tuple(tokens[:n])
        return n

    def keep(self, llama: Llama, messages: Any, prompt_tokens: int) -> None:
        """After a first request: save its system message's state unless the file has it."""
        system = _system_text(messages)
        if not system:
            return
        prompt = [int(t) for t in llama.input_ids[:prompt_tokens]]
        end = _end_of(system, prompt, llama)
        if not end or tuple(prompt[:end]) == self.restored:
            return
        tokens = (cpp.llama_token * end)(*prompt[:end])
        partial = self.path.with_suffix(f".{os.getpid()}.partial")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The state holds every token read so far; the file's token list says which
            # of them count (the rest, the article and the answer, are dropped on load).
            written = cpp.llama_state_seq_save_file(
                llama.ctx, str(partial).encode(), 0, tokens, end
            )
            if written:
                os.replace(partial, self.path)
        except OSError as exc:
            logger.debug("prefix state %s not saved: %s", self.path, exc)
        finally:
            partial.unlink(missing_ok=True)


def _system_text(messages: Any) -> str:
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        first = messages[0]
        if first.get("role") == "system" and isinstance(first.get("content"), str):
            return str(first["content"])
    return ""


def _end_of(text: str, prompt: list[int], llama: Llama) -> int:
    """How many of the prompt's tokens it takes to read `text` whole (0: it is not there)."""
    wanted = text.strip().encode("utf-8")
    read = b""
    for index, token in enumerate(prompt):
        read += llama.detokenize([token], special=True)
        if wanted in read:
            return index + 1
    return 0
