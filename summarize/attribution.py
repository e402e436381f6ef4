"""Checking what the model says about a quote's attribution against the article itself.

Pure functions. Whether a span sits inside quotation marks, and whether an outlet is named in
the article at all, can be read off the text, so the model's word is not taken for either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from summarize.schema import Attribution

__all__ = ["credited_outlets", "is_quoted", "verified_attribution"]

# Curly double quotes, guillemets, low-9 and single guillemets: opening, then closing.
_OPENING: Final = frozenset("\u201c\u00ab\u201e\u2039")
_CLOSING: Final = frozenset("\u201d\u00bb\u201f\u203a")
_PARAGRAPH_BREAK: Final = re.compile(r"\n\s*\n")


def is_quoted(article: str, start: int, end: int) -> bool:
    """True when `article[start:end]` lies inside a pair of quotation marks of one paragraph."""
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(article, 0, start)]
    opens_here = start < end and (article[start] in _OPENING or article[start] == '"')
    before = article[breaks[-1] if breaks else 0 : start + opens_here]
    depth = sum(map(before.count, _OPENING)) - sum(map(before.count, _CLOSING))
    straight_open = before.count('"') % 2 == 1
    return depth > 0 or straight_open


def verified_attribution(
    claimed: Attribution, article: str, start: int, end: int, *, has_speaker: bool
) -> Attribution:
    """A direct quote is one inside quotation marks; anything else is not, whatever was claimed.

    Quoted text is always "direct_quote". Unquoted text the model called a direct quote becomes
    "indirect" when it has a speaker, else "narration"; its other claims stand.
    """
    if is_quoted(article, start, end):
        return "direct_quote"
    if claimed != "direct_quote":
        return claimed
    return "indirect" if has_speaker else "narration"


def credited_outlets(article: str, outlets: Iterable[str]) -> tuple[str, ...]:
    """The outlets (once each, in order) that the article names as words; others are dropped."""
    text = _folded_article(article)
    kept: dict[str, str] = {}
    for outlet in outlets:
        key = _fold(outlet)
        if key and key not in kept and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", text):
            kept[key] = outlet.strip()
    return tuple(kept.values())


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# Called once per evidence with the same article: fold it once (str hashes are cached).
_folded_article = lru_cache(maxsize=4)(_fold)
