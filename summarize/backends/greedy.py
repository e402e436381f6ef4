"""Greedy decoding under a grammar at the cost of one grammar check per token.

llama.cpp's grammar sampler tests every token of the vocabulary against the grammar before
one is picked: for Qwen2.5's 151,936 tokens that is ~20 ms a token on two cores, a third of
what an answer token costs. Greedy decoding needs only the best token the grammar allows, so
`GreedyGrammarSampler` does what llama.cpp's own ``common_sampler`` does: it checks the best
token alone, and only when the grammar refuses it looks further (the next `RUNNERS_UP`
likeliest one by one, then the whole vocabulary). It picks exactly the tokens of
llama-cpp-python's chain for the same request (repeat penalty, then grammar, then greedy);
`GreedyGrammarLlama` uses it for every request at temperature 0 with a grammar and no other
penalty, and the stock chain otherwise.
"""

from __future__ import annotations

import ctypes
import weakref
from collections import deque
from typing import Any, Final

import numpy as np
from llama_cpp import Llama
from llama_cpp import llama_cpp as cpp
from llama_cpp.llama_grammar import LlamaGrammar

__all__ = ["GreedyGrammarLlama", "GreedyGrammarSampler"]

_TOKEN_DATA: Final = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
#: How many of the likeliest tokens are checked one by one when the best is refused. Where
#: the model wants a code fence or a space the grammar forbids, the allowed token it likes
#: best is within its ~100 likeliest (measured on the seed: ranks 1 to 102).
RUNNERS_UP: Final = 256


class GreedyGrammarSampler:
    """The best token the grammar allows, after llama.cpp's repeat penalty.

    Args:
        llama: The model whose logits are read.
        grammar: The grammar the answer must follow; it is compiled for this one answer.
        repeat_penalty: llama.cpp's: a logit of a token among the last `last_n` is divided
            by it (multiplied when not positive).
        last_n: How many recent answer tokens the penalty looks back on.
    """

    def __init__(
        self, llama: Llama, grammar: LlamaGrammar, repeat_penalty: float, last_n: int
    ) -> None:
        self._n_vocab: int = llama.n_vocab()
        self._grammar = cpp.llama_sampler_init_grammar(
            llama._model.vocab,
            grammar._grammar.encode("utf-8"),
            grammar._root.encode("utf-8"),
        )
        self._free = weakref.finalize(self, cpp.llama_sampler_free, self._grammar)
        self._penalty = repeat_penalty
        self._recent: deque[int] = deque(maxlen=max(last_n, 0))
        self._table: np.ndarray[Any, np.dtype[np.void]] | None = None
        self.refused = 0
        """How many times the best token was refused."""
        self.filtered = 0
        """How many times the whole vocabulary was filtered (no runner-up allowed)."""

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The next token for the logits at `idx` of `ctx`; the grammar accepts it."""
        pointer = cpp.llama_get_logits_ith(ctx.ctx, idx)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()
        if self._recent and self._penalty != 1.0:
            seen = np.fromiter(set(self._recent), dtype=np.int64)
            before = logits[seen]
            logits[seen] = np.where(before > 0, before / self._penalty, before * self._penalty)
        token = int(np.argmax(logits))
        if not self._allows(token, float(logits[token])):
            self.refused += 1
            token = self._best_allowed(logits)
        cpp.llama_sampler_accept(self._grammar, token)
        self._recent.append(token)
        return token

    def close(self) -> None:
        """Free the compiled grammar (also done when the sampler is collected)."""
        self._free()

    def _allows(self, token: int, logit: float) -> bool:
        one = cpp.llama_token_data(token, logit, 0.0)
        cpp.llama_sampler_apply(
            self._grammar, ctypes.byref(cpp.llama_token_data_array(ctypes.pointer(one), 1, -1))
        )
        return bool(np.isfinite(one.logit))

    def _best_allowed(self, logits: np.ndarray[Any, np.dtype[np.float32]]) -> int:
        """The likeliest token the grammar allows: among the runners-up, else from all.

        Checked in order of likelihood (ties by id, as greedy picks them), the first allowed
        runner-up is the best allowed token, unless a token left unchecked is as likely.
        """
        count = min(RUNNERS_UP, self._n_vocab - 1)
        likeliest = np.argpartition(-logits, count)[:count]
        likeliest = likeliest[np.lexsort((likeliest, -logits[likeliest]))]
        floor = logits[likeliest[-1]]
        for token in likeliest[1:].tolist():
            logit = float(logits[token])
            if self._allows(token, logit):
                if logit > floor:
                    return int(token)
                break
        self.filtered += 1
        return self._filtered(logits)

    def _filtered(self, logits: np.ndarray[Any, np.dtype[np.float32]]) -> int:
        if self._table is None:
            self._table = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
            self._table["id"] = np.arange(self._n_vocab, dtype=np.int32)  # the grammar keeps them
        table = self._table
        table["logit"] = logits
        candidates = cpp.llama_token_data_array(
            table.ctypes.data_as(cpp.llama_token_data_p), self._n_vocab, -1, False
        )
        cpp.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        kept = table[: candidates.size]
        return int(kept["id"][np.argmax(kept["logit"])])


class GreedyGrammarLlama(Llama):
    """A `Llama` that decodes greedily under a grammar with `GreedyGrammarSampler`."""

    def _init_sampler(self, *args: Any, **kwargs: Any) -> Any:
        if args or not _greedy_under_grammar(kwargs):
            return super()._init_sampler(*args, **kwargs)
        return GreedyGrammarSampler(
            self, kwargs["grammar"], kwargs.get("repeat_penalty", 1.0), self.last_n_tokens_size
        )


def _greedy_under_grammar(options: dict[str, Any]) -> bool:
    """Whether the stock chain would be: repeat penalty, grammar, greedy."""
    return (
        options.get("grammar") is not None
        and options.get("temp") == 0.0
        and options.get("logits_processor") is None
        and not options.get("frequency_penalty")
        and not options.get("presence_penalty")
    )
