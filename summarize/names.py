"""Whether two strings name the same actor: "President Putin", "Vladimir Putin", "Putin".

Used to score summaries against gold annotations and to merge items that one actor made in
several sentences. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Final

from rapidfuzz import fuzz

__all__ = ["NAME_MIN_SCORE", "name_tokens", "same_actor", "same_name", "same_word"]

NAME_MIN_SCORE: Final = 85.0
"""rapidfuzz ratio (0-100) at which two spellings of a word of a name are the same word."""
_FILLER: Final = frozenset({"the", "of", "s", "and", "a", "an", "mr", "ms", "mrs", "dr"})
# Titles say what someone is, not who: "President Putin" is Putin.
_TITLES: Final = frozenset(
    {
        "president",
        "prime",
        "minister",
        "deputy",
        "first",
        "foreign",
        "defence",
        "defense",
        "secretary",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "general",
        "ambassador",
        "envoy",
        "chancellor",
        "king",
        "queen",
        "sheikh",
        "senator",
        "commissioner",
        "chief",
        "head",
        "leader",
        "vice",
        "acting",
        "former",
        "state",
        "affairs",
    }
)


def same_actor(found: str, expected: str, names: Iterable[frozenset[str]] = ()) -> bool:
    """Whether `found` names the actor `expected` names, allowing for the actor's aliases.

    Names agree when, after folding case, accents and punctuation and setting titles aside,
    every word of the shorter is a word of the longer ("President Putin" / "Vladimir Putin"),
    spelled alike or nearly so ("Zelensky" / "Volodymyr Zelenskyy"). An expected name that
    belongs to a gold actor's set of names stands for all of them.
    """
    candidates = {expected}
    for group in names:
        if any(same_name(expected, n) for n in group):
            candidates |= group
    return any(same_name(found, c) for c in candidates)


def same_name(a: str, b: str) -> bool:
    """Whether two names are the same name (see `same_actor`), without aliases."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    short, long = sorted((ta, tb), key=len)
    return all(any(same_word(w, v) for v in long) for w in short)


def same_word(a: str, b: str) -> bool:
    """Whether two folded words of names are one word, spelled alike or nearly so."""
    return a == b or (min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= NAME_MIN_SCORE)


@cache
def _marks() -> dict[int, None]:
    """Every combining mark below U+20000, for `str.translate` to delete (built once)."""
    return {c: None for c in range(0x300, 0x20000) if unicodedata.combining(chr(c))}


def name_tokens(name: str) -> frozenset[str]:
    """The words of a name that identify someone: folded, without titles and filler."""
    folded = unicodedata.normalize("NFKD", name.casefold().replace("\u2019", "'"))
    plain = folded.translate(_marks()) if not folded.isascii() else folded
    words = re.findall(r"[^\W_]+", re.sub(r"'s\b", "", plain))
    return frozenset(w for w in words if w not in _FILLER and w not in _TITLES)
