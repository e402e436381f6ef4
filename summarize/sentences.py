"""Splitting an article into sentences with their offsets, and numbering them for a prompt.

Sentence boundaries come from pysbd (rule-based, handles abbreviations, quotes and
datelines). Offsets index the original text, so a sentence used as evidence is verbatim by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pysbd

__all__ = ["Sentence", "numbered", "split_sentences"]

#: Fewer letters than this and a "sentence" is a credit line or a fragment: "(ANI)".
MIN_LETTERS: Final = 12


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an article.

    Attributes:
        number: 1 for the first sentence kept.
        start: Offset of its first character in the article.
        end: Offset just past its last character.
        text: ``article[start:end]``.
        paragraph: Which line of the article it is on, from 0 (wire copy puts each
            paragraph on a line of its own).
    """

    number: int
    start: int
    end: int
    text: str
    paragraph: int = 0


def _segmenter() -> pysbd.Segmenter:
    # One per call: a segmenter keeps the text it splits, so threads cannot share one.
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(article: str) -> tuple[Sentence, ...]:
    """The article's sentences, trimmed of surrounding blanks, fragments left out."""
    found: list[Sentence] = []
    for span in _segmenter().segment(article):
        # A paragraph break inside a span is a boundary pysbd missed (headlines, datelines).
        start = span.start
        for piece in article[span.start : span.end].split("\n"):
            end = start + len(piece)
            text = piece.strip()
            if sum(c.isalpha() for c in text) >= MIN_LETTERS:
                first = start + (len(piece) - len(piece.lstrip()))
                line = article.count("\n", 0, first)
                found.append(Sentence(len(found) + 1, first, first + len(text), text, line))
            start = end + 1
    return tuple(found)


def numbered(sentences: tuple[Sentence, ...]) -> str:
    """``[1] First sentence.`` lines, one per sentence."""
    return "\n".join(f"[{s.number}] {s.text}" for s in sentences)
