"""Precision guards that need no model. Pure functions over the article's text.

- A venue is a place proposed or used for talks, never only where a speech, forum or
  briefing happened, nor a dateline (`speech_location`).
- The outlets an article credits ("according to Reuters", "The New York Times reported")
  report events; they are not the actors of them (`reporting_outlets`).
- A summary may not name people or places the article never names (`names_absent_from`).
- An item's actor is named near its evidence, or the article does not attribute the item to
  it (`attributes_actor`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

from summarize.names import name_tokens, same_word

__all__ = ["attributes_actor", "names_absent_from", "reporting_outlets", "speech_location"]

#: How far before a piece of evidence its actor may be named: about two sentences, so
#: "Sybiha said ... He added ..." attributes the second sentence to Sybiha.
ATTRIBUTION_WINDOW: Final = 400
# Words that stand for a name without being one.
_PRONOUNS: Final = frozenset({"he", "she", "it", "they", "we", "i", "you", "his", "her", "their"})

_NAME: Final = r"((?:The[ \t]+)?[A-Z][\w&'\u2019-]*(?:[ \t]+(?:[A-Z][\w&'\u2019-]*|of|de|al))*)"
_CREDITS: Final = (
    re.compile(r"(?:according to|as per|as reported by|reported by|quoted by|cited by)\s+" + _NAME),
    re.compile(_NAME + r"\s+(?:reported|quoted|cited)\b"),
    re.compile(r"\b(?:told|in an interview with|speaking to)\s+(?:the\s+)?" + _NAME),
)
# Words that make a credited name an outlet rather than a person or a government.
_MEDIA: Final = re.compile(
    r"\b(?:times|post|news|agency|press|journal|herald|tribune|guardian|monde|pa[ií]s|"
    r"telegraph|gazette|radio|tv|television|channel|wire|daily|magazine|info|blatt|zeitung|"
    r"reuters|bloomberg|xinhua|interfax|tass|ria|yonhap|kyodo|irna|tasnim|anadolu|"
    r"bbc|cnn|dw|afp|ap|ani|nhk|npr|kazinform|akipress|al\s+jazeera)\b",
    re.IGNORECASE,
)
# "told a forum in X", "speaking at a conference in X", "a briefing in X".
_SPOKE_IN: Final = re.compile(
    r"(?:told|addressed|addressing|speaking|spoke|speech|interview|briefing|"
    r"press conference|news conference|forum|conference|plenary|session|rally|"
    r"reporters|journalists)\b(?:(?!\b(?:held|hold|host\w*|meet\w*|talks|venue)\b)[^.;]){0,60}?"
    r"\b(?:in|at)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
# After a dateline's place: "[Russia], September 6 (ANI):", ", April 9 -", " (Reuters) -".
_DATELINE_TAIL: Final = re.compile(r"[^\n]{0,40}?(?:\(|\u2014|\u2013|:|,\s*\w+\.?\s+\d)")
_NOT_NAMES: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "he",
        "she",
        "it",
        "they",
        "we",
        "in",
        "on",
        "at",
        "after",
        "before",
        "meanwhile",
        "however",
        "but",
        "and",
        "while",
        "both",
        "also",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "their",
        "its",
        "as",
        "for",
        "with",
        "from",
        "to",
        "of",
        "by",
        "when",
        "where",
        "which",
        "who",
        "if",
        "on",
    ]
)


def reporting_outlets(article: str) -> frozenset[str]:
    """Names the article credits as sources that look like news outlets."""
    found: set[str] = set()
    for pattern in _CREDITS:
        for match in pattern.finditer(article):
            name = match.group(1).strip(" .,")
            if _MEDIA.search(name):
                found.add(name)
    return frozenset(found)


def speech_location(place: str, sentence: str, article: str) -> bool:
    """Whether `place` is named in `sentence` only as where someone spoke, or a dateline."""
    name = place.strip()
    mentions = list(re.finditer(re.escape(name), sentence, re.IGNORECASE)) if name else []
    if not mentions:
        return False
    start = len(sentence) - len(sentence.lstrip())
    for mention in mentions:
        spoke = _SPOKE_IN.search(sentence[max(0, mention.start() - 120) : mention.start()])
        dateline = mention.start() == start and _DATELINE_TAIL.match(sentence, mention.end())
        if not (spoke or dateline):
            return False
    return True


def attributes_actor(
    actor: str, spans: Sequence[tuple[int, int]], article: str, aliases: Iterable[str] = ()
) -> bool:
    """Whether the article attributes evidence at `spans` to `actor`.

    It does when a word of the actor's name, or of another name the summary gives the same
    actor (`aliases`: "Kremlin" for "Russian government"), occurs in the evidence or in the
    `ATTRIBUTION_WINDOW` characters before it: spelled alike, nearly so, or sharing a stem
    ("Ukraine" in "Ukrainian"). Titles do not count ("the President" names no one). An
    empty actor is never attributed.
    """
    wanted = {w for name in (actor, *aliases) for w in name_tokens(name)} - _PRONOUNS
    words: set[str] = set()
    for start, end in spans:
        words |= name_tokens(article[max(0, start - ATTRIBUTION_WINDOW) : end])
    if wanted & words:
        return True
    return any(same_word(a, b) or _one_stem(a, b) for a in wanted for b in words)


def _one_stem(a: str, b: str) -> bool:
    """One word and its derivative: "Ukraine" and "Ukrainian", not "Vladimir" and "Vladivostok"."""
    shorter = min(len(a), len(b))
    shared = max(4, shorter - 1)  # letters the two must begin with alike
    return shorter >= 4 and a[:shared] == b[:shared]


def names_absent_from(text: str, article: str) -> list[str]:
    """Capitalised words of `text` (names, mostly) that `article` never uses."""
    folded = _fold_article(article)
    absent: list[str] = []
    for match in re.finditer(r"\b[A-Z][\w\u2019'-]{2,}", text):
        word = _fold(re.sub(r"['\u2019]s$", "", match.group()))
        if word not in _NOT_NAMES and word not in folded:
            absent.append(match.group())
    return absent


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_fold_article = lru_cache(maxsize=8)(_fold)
