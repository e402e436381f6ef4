"""Greedy decoding under a grammar, one check per token: the stock chain's tokens, faster.

The real small model answers each request twice, through llama-cpp-python's own sampler
chain and through `GreedyGrammarSampler`; the answers must be the same tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from summarize.backends import greedy
from summarize.backends.greedy import GreedyGrammarLlama, GreedyGrammarSampler
from summarize.backends.local import _grammar
from summarize.coding import _coding_model, _VenueFields
from summarize.models import model_path

ARTICLE = (
    "TASHKENT, March 3 - Uzbekistan's Foreign Minister Bakhtiyor Saidov said on Monday that "
    "Tashkent was ready to host talks between Kyrgyzstan and Tajikistan. Kyrgyz President "
    "Sadyr Japarov warned that his troops would respond with every means if Tajik forces "
    'crossed the border again. Tajikistan rejected the offer as "premature".'
)


def _ask(content: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You code news articles as JSON."},
        {"role": "user", "content": f"{ARTICLE}\n\n{content}"},
    ]


# (messages, schema, repeat penalty): the pipeline's own schemas and an answer long
# enough for the repeat penalty to change what is picked.
CASES: list[tuple[list[dict[str, str]], dict[str, Any], float]] = [
    (
        _ask("Code the second sentence: its kind, actor and issue."),
        _coding_model(("warning", "position")).model_json_schema(),
        1.1,
    ),
    (
        _ask("Which places are offered for talks, by whom, with what status?"),
        _VenueFields.model_json_schema(),
        1.1,
    ),
    (
        _ask("Copy the article's first sentence."),
        {
            "type": "object",
            "properties": {"names": {"type": "array", "items": {"type": "string"}, "minItems": 6}},
            "required": ["names"],
        },
        1.3,
    ),
]


@pytest.fixture(scope="module")
def models() -> Iterator[tuple[Any, GreedyGrammarLlama]]:
    from llama_cpp import Llama

    path = str(model_path("smollm2"))
    stock = Llama(model_path=path, n_ctx=2048, n_threads=2, verbose=False)
    fast = GreedyGrammarLlama(model_path=path, n_ctx=2048, n_threads=2, verbose=False)
    yield stock, fast
    stock.close()
    fast.close()


def _answer(
    llama: Any, messages: list[dict[str, str]], schema: dict[str, Any], penalty: float
) -> Any:
    return llama.create_chat_completion(
        messages=messages,
        grammar=_grammar(json.dumps(schema)),
        temperature=0,
        repeat_penalty=penalty,
        max_tokens=120,
    )


@pytest.mark.model
@pytest.mark.parametrize("runners_up", [greedy.RUNNERS_UP, 1])
def test_the_fast_sampler_picks_the_stock_chains_tokens(
    models: tuple[Any, GreedyGrammarLlama], runners_up: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default runners-up, and with none (every refusal filters the vocabulary)."""
    monkeypatch.setattr(greedy, "RUNNERS_UP", runners_up)
    stock, fast = models
    refused = filtered = 0
    for messages, schema, penalty in CASES:
        expected = _answer(stock, messages, schema, penalty)
        got = _answer(fast, messages, schema, penalty)
        assert isinstance(fast._sampler, GreedyGrammarSampler)
        assert not isinstance(stock._sampler, GreedyGrammarSampler)
        refused += fast._sampler.refused
        filtered += fast._sampler.filtered
        assert (
            got["choices"][0]["message"]["content"] == expected["choices"][0]["message"]["content"]
        )
        assert got["usage"] == expected["usage"]
        json.loads(got["choices"][0]["message"]["content"])
    # The small model's favourite first token is not JSON: the slower paths ran too.
    assert refused > 0
    assert filtered == refused if runners_up == 1 else filtered < refused


@pytest.mark.model
def test_the_repeat_penalty_case_depends_on_the_penalty(
    models: tuple[Any, GreedyGrammarLlama],
) -> None:
    """Otherwise the case above could not tell a sampler that ignores the penalty."""
    stock, _ = models
    messages, schema, penalty = CASES[-1]
    penalised = _answer(stock, messages, schema, penalty)["choices"][0]["message"]["content"]
    plain = _answer(stock, messages, schema, 1.0)["choices"][0]["message"]["content"]
    assert penalised != plain


@pytest.mark.model
def test_sampling_at_a_temperature_keeps_the_stock_chain(
    models: tuple[Any, GreedyGrammarLlama],
) -> None:
    _, fast = models
    messages, schema, _ = CASES[0]
    fast.create_chat_completion(
        messages=messages, grammar=_grammar(json.dumps(schema)), temperature=0.7, max_tokens=8
    )
    assert not isinstance(fast._sampler, GreedyGrammarSampler)
    fast.create_chat_completion(messages=messages, temperature=0, max_tokens=8)
    assert not isinstance(fast._sampler, GreedyGrammarSampler)
