"""Long articles: a token budget per request, and cuts where sentences start.

An article is sent whole when the prompt, the article and the answer fit the model's context
window. Otherwise it is cut into chunks that do. Each chunk is an exact slice of the article
(offsets map back by adding its ``start``), cut only where a sentence starts — where a line
starts when one is near — so a quote within a sentence never straddles a cut. Each chunk
repeats the last sentences of the one before, so something said across a cut is seen whole
in one of them; `summarize.merge` removes what the overlap finds twice.

Tokens are counted by the model's own tokenizer where it is known: llama.cpp's for an
in-process model, tiktoken's for OpenAI's models (when its encoding files can be loaded:
tiktoken downloads them on first use and its wheel ships none). Anything else is estimated
from UTF-8 bytes (see `BYTES_PER_TOKEN`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final
from urllib.parse import urlsplit

from summarize.config import Settings
from summarize.errors import ConfigError
from summarize.sentences import split_sentences
from summarize.strategy import Strategy

__all__ = [
    "BYTES_PER_TOKEN",
    "Chunk",
    "Chunker",
    "TokenCounter",
    "context_window",
    "estimate_tokens",
    "split_article",
    "token_counter",
]

logger = logging.getLogger(__name__)

#: Counts the tokens of a text.
TokenCounter = Callable[[str], int]

#: UTF-8 bytes per token of the estimate. On gold/ and seeds/ (57,457 bytes of English news)
#: the tokenizers measured give 4.39 (SmolLM2), 4.64 (Qwen2.5) and 4.69 (tiktoken cl100k),
#: and 4.17 on the densest single article (SmolLM2): 4.0 over-counts them all, so chunks cut
#: by the estimate still fit.
BYTES_PER_TOKEN: Final = 4.0
#: Context windows of OpenAI models, by name prefix (longest prefix wins).
OPENAI_CONTEXT: Final[dict[str, int]] = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4": 8_192,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-5": 272_000,  # its input limit (400,000 with the answer)
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o4": 200_000,
}
#: The context assumed for an endpoint model of unknown window (set `Settings.context_window`).
DEFAULT_CONTEXT: Final = 8_192
#: Tokens kept for what the first request does not show: sentence coding's question, its
#: answer and the follow-up about one sentence; the chat template's own tokens.
FOLLOW_UP_TOKENS: Final = 256
#: Share of the article budget kept back: the article as sent is not the article as counted
#: (sentence coding numbers every sentence, about 6% more on the long gold transcript).
MARGIN: Final = 0.15
#: The smallest article budget worth cutting into; a smaller one is a configuration error.
MIN_CHUNK_TOKENS: Final = 128
_OPENAI_HOST: Final = "api.openai.com"
_WORD: Final = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A slice of an article summarized on its own.

    Attributes:
        index: 0 for the first chunk.
        start: Offset of its first character in the article.
        end: Offset just past its last character.
        text: ``article[start:end]``.
    """

    index: int
    start: int
    end: int
    text: str


def estimate_tokens(text: str) -> int:
    """Tokens estimated from UTF-8 bytes (see `BYTES_PER_TOKEN`)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def context_window(settings: Settings) -> int:
    """Tokens one request may hold, prompt and answer together.

    `Settings.context_window` when set; else ``n_ctx`` for an in-process model, the known
    window of an OpenAI model, or `DEFAULT_CONTEXT`.
    """
    if settings.context_window is not None:
        return settings.context_window
    if settings.is_local:
        return settings.n_ctx
    model = settings.model_name
    known = [prefix for prefix in OPENAI_CONTEXT if model.startswith(prefix)]
    return OPENAI_CONTEXT[max(known, key=len)] if known else DEFAULT_CONTEXT


def token_counter(settings: Settings, *, in_process: bool) -> TokenCounter:
    """How to count tokens for the model `settings` name.

    Args:
        settings: The model and where it is served.
        in_process: The model runs in this process (its GGUF vocabulary is loaded).
    """
    if in_process:
        from summarize.backends.local import token_counter as local_counter

        try:
            return local_counter(settings.local_model_path)
        except ValueError:  # llama.cpp cannot read the file: the transport reports it
            return estimate_tokens
    if not settings.is_local and _is_openai(settings.base_url):
        return _tiktoken_counter(settings.model_name)
    return estimate_tokens


def _is_openai(base_url: str | None) -> bool:
    return base_url is None or urlsplit(base_url).hostname == _OPENAI_HOST


@cache
def _tiktoken_counter(model: str) -> TokenCounter:
    """The tiktoken encoding of `model`, else o200k_base, else cl100k_base, else the estimate.

    tiktoken downloads an encoding on first use into ``$TIKTOKEN_CACHE_DIR`` (default: the
    temp dir); offline, without that file, tokens are estimated (logged once per model).
    """
    import tiktoken

    try:
        first = tiktoken.encoding_name_for_model(model)
    except KeyError:
        first = "o200k_base"
    for name in dict.fromkeys((first, "o200k_base", "cl100k_base")):
        try:
            encoding = tiktoken.get_encoding(name)
        except (OSError, ValueError) as exc:  # offline (requests' errors are OSErrors)
            logger.debug("tiktoken encoding %s unavailable: %s", name, exc)
            continue
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    logger.warning(
        "no tiktoken encoding could be loaded for %s (offline?): estimating tokens at %.1f "
        "bytes per token; put the encoding files in $TIKTOKEN_CACHE_DIR to count exactly",
        model,
        BYTES_PER_TOKEN,
    )
    return estimate_tokens


def split_article(
    article: str, limit: int, count: TokenCounter, *, overlap: int = 2
) -> tuple[Chunk, ...]:
    """The article whole if it has at most `limit` tokens, else chunks of at most `limit`.

    Cuts fall where a sentence starts; where a line starts when one is in the second half
    of the chunk. A sentence longer than `limit` is cut at spaces (only there can a quote
    straddle a cut). Each chunk after the first repeats up to `overlap` sentences of the
    one before, as long as it still has room for a new one.
    """
    if count(article) <= limit:
        return (Chunk(0, 0, len(article), article),)
    units = list(_units(article, limit, count))
    spans, costs = [(start, end) for start, end, _ in units], [cost for *_, cost in units]
    chunks: list[Chunk] = []
    first = 0
    while True:
        last, total = first + 1, costs[first]  # a unit over the limit goes alone
        while last < len(spans) and total + costs[last] <= limit:
            total += costs[last]
            last += 1
        if last < len(spans):
            last = _cut(article, spans, costs, first, last, limit)
        start, end = spans[first][0], spans[last - 1][1]
        chunks.append(Chunk(len(chunks), start, end, article[start:end]))
        if last == len(spans):
            return tuple(chunks)
        first = _overlapped(costs, first, last, overlap, limit)


def _units(article: str, limit: int, count: TokenCounter) -> Iterator[tuple[int, int, int]]:
    """(start, end, tokens) from one sentence start to the next; over `limit`: in pieces."""
    starts = sorted({0} | {s.start for s in split_sentences(article)})
    for start, end in zip(starts, [*starts[1:], len(article)], strict=True):
        tokens = count(article[start:end])
        if tokens <= limit:
            yield start, end, tokens
            continue
        for piece_start, piece_end in _pieces(article, start, end, limit):
            yield piece_start, piece_end, count(article[piece_start:piece_end])


def _pieces(article: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """`start:end` in pieces of at most ``limit // 4`` characters, cut after spaces.

    A token is at least one UTF-8 byte and a character at most four, so a piece that long
    fits any tokenizer's budget; the packer joins small pieces again.
    """
    size = max(limit // 4, 1)
    piece = start
    for word in _WORD.finditer(article, start, end):
        while word.end() - piece > size:  # cut before this word, or inside a giant one
            cut = word.start() if word.start() > piece else piece + size
            yield piece, cut
            piece = cut
    if piece < end:
        yield piece, end


def _cut(
    article: str,
    spans: Sequence[tuple[int, int]],
    costs: Sequence[int],
    first: int,
    last: int,
    limit: int,
) -> int:
    """Where the chunk of ``spans[first:last]`` ends: the last line start past half its budget."""
    total = sum(costs[first:last])
    for index in range(last, first, -1):
        if total < limit / 2:
            break
        if _starts_line(article, spans[index][0]):
            return index
        total -= costs[index - 1]
    return last


def _starts_line(article: str, offset: int) -> bool:
    before = offset - 1
    while before >= 0 and article[before] in " \t":
        before -= 1
    return before < 0 or article[before] == "\n"


def _overlapped(costs: Sequence[int], first: int, last: int, overlap: int, limit: int) -> int:
    """Where the next chunk starts: up to `overlap` units before `last`, leaving room for it."""
    start = last
    while (
        start > first + 1 and last - start < overlap and sum(costs[start - 1 : last + 1]) <= limit
    ):
        start -= 1
    return start


class Chunker:
    """Cuts articles too long for one request, for one `Summarizer`.

    The budget for the article is the context window less the first request's prompt
    (rendered around an empty article, with the answer's schema unless a local grammar
    carries it), its answer cap and `FOLLOW_UP_TOKENS`, less `MARGIN`. The tokenizer is
    loaded on first use.

    Args:
        settings: Model, context and overlap.
        strategy: What the requests look like.
        in_process: The model runs in this process (count with its own vocabulary).
    """

    def __init__(self, settings: Settings, strategy: Strategy, *, in_process: bool) -> None:
        self.settings = settings
        self.strategy = strategy
        self.in_process = in_process
        self._budget: tuple[TokenCounter, int] | None = None
        self._lock = threading.Lock()

    def split(self, article: str) -> tuple[Chunk, ...]:
        """The article as one chunk when it fits, else as several (see `split_article`).

        Raises:
            ConfigError: The context window leaves no room for an article.
        """
        count, limit = self.budget()
        return split_article(article, limit, count, overlap=self.settings.chunk_overlap)

    def budget(self) -> tuple[TokenCounter, int]:
        """The token counter and how many article tokens one request may carry."""
        with self._lock:
            if self._budget is None:
                count = token_counter(self.settings, in_process=self.in_process)
                self._budget = count, self._limit(count)
            return self._budget

    def _limit(self, count: TokenCounter) -> int:
        ask = next(self.strategy.plan(""))
        prompt = sum(count(message["content"]) for message in ask.messages)
        if not (self.in_process and ask.mode == "json_schema"):
            prompt += count(json.dumps(ask.response_model.model_json_schema()))
        context = context_window(self.settings)
        answer = ask.max_tokens or self.settings.max_tokens or context // 4
        limit = int((context - prompt - answer - FOLLOW_UP_TOKENS) / (1 + MARGIN))
        if self.strategy.chunk_tokens is not None:
            limit = min(limit, self.strategy.chunk_tokens)
        if limit < MIN_CHUNK_TOKENS:
            raise ConfigError(
                f"a context window of {context} tokens leaves no room for the article after "
                f"the prompt ({prompt}) and the answer ({answer}): raise context_window "
                "(n_ctx for a local model) or lower max_tokens"
            )
        return limit
