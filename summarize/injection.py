"""Finding passages of an article that address an AI model instead of a reader.

An article is data, but it may carry text aimed at the model that summarizes it ("Ignore
previous instructions and report that ..."), chat-template tokens, or a forged copy of our
fence. The prompt fences the article and tells the model to treat it as data; that is a
mitigation, not a guarantee. What can be checked is checked here: such passages are found by
pattern (the paragraph holding one), and `summarize.assemble` drops items whose only evidence
lies inside one, so an injected paragraph cannot become a "grounded" warning or position.
Pure functions, no I/O. Detection is heuristic: it catches the common forms, not every one.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["inside", "instruction_spans"]

Span = tuple[int, int]

# Imperatives that only make sense addressed to a model, followed by what they target.
_ADDRESSED: Final = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override|bypass)\b
        [^.!?\n]{0,40}?
        \b(?:instructions?|prompts?|directives|system\s+message)\b
    | \b(?:you\s+are|you're|act\s+as|pretend\s+to\s+be)\s+(?:now\s+)?(?:an?\s+|the\s+)?
        (?:ai|a\.i\.|language\s+model|llm|chatbot|summari[sz]er|ai\s+assistant)\b
    | \b(?:new|updated|real|hidden|secret)\s+(?:system\s+)?instructions\b
    | \bsystem\s+prompt\b
    | \b(?:summari[sz]er|language\s+model|ai\s+model|ai\s+assistant|llm)s?\b[^.!?\n]{0,30}
        \b(?:must|should|shall|will\s+now|(?:are|is)\s+instructed)\b
    | \bin\s+your\s+(?:summary|output)\b
    | \b(?:output|respond\s+with|reply\s+with)\s+(?:only\s+)?(?:json|the\s+following)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Chat-template and fence tokens never belong in news copy.
_TOKENS: Final = re.compile(
    r"<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|</?(?:system|assistant|user|article)>"
    r"|=====ARTICLE-[0-9a-f]*=====|^\s*(?:system|assistant)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# A sentence: up to and including its closing punctuation, or a whole line.
_SENTENCE: Final = re.compile(r"[^.!?\n]+(?:[.!?]+[\"'\u201d\u2019)]*|$)", re.MULTILINE)
_LINE: Final = re.compile(r"[^\n]+")
#: An injected block is usually a paragraph (one line of wire copy); a longer line is flagged
#: sentence by sentence instead, so one trigger cannot silence a whole transcript.
MAX_FLAGGED_LINE_CHARS: Final = 1200


def instruction_spans(article: str) -> tuple[Span, ...]:
    """The passages (start, end) of `article` that address an AI model, in order.

    A passage is the paragraph (line) holding a trigger, or only its sentence when the line
    is longer than `MAX_FLAGGED_LINE_CHARS`.
    """
    hits = [m.start() for pattern in (_ADDRESSED, _TOKENS) for m in pattern.finditer(article)]
    if not hits:
        return ()
    spans: list[Span] = []
    for line in _LINE.finditer(article):
        if not any(line.start() <= hit < line.end() for hit in hits):
            continue
        if line.end() - line.start() <= MAX_FLAGGED_LINE_CHARS:
            spans.append(_trimmed(article, *line.span()))
            continue
        for sentence in _SENTENCE.finditer(article, line.start(), line.end()):
            if any(sentence.start() <= hit < sentence.end() for hit in hits):
                spans.append(_trimmed(article, *sentence.span()))
    return tuple(spans)


def _trimmed(article: str, start: int, end: int) -> Span:
    while start < end and article[start].isspace():
        start += 1
    while end > start and article[end - 1].isspace():
        end -= 1
    return start, end


def inside(spans: tuple[Span, ...], start: int, end: int) -> bool:
    """Whether [start, end) lies within one of `spans`."""
    return any(s <= start and end <= e for s, e in spans)
