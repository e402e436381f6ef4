"""Align model-supplied quotes to character offsets in the original article text.

The cascade is exact -> normalized -> ellipsis -> fuzzy -> none; the first stage that
finds the quote wins. Offsets always refer to the original text, so ``text[start:end]``
is the matched span.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal, NamedTuple

from rapidfuzz import fuzz

MatchKind = Literal["exact", "normalized", "fuzzy", "none"]

FUZZY_MIN_SCORE: Final = 90.0
"""Rapidfuzz score (0-100) a fuzzy match must reach."""
FUZZY_MIN_QUOTE_CHARS: Final = 12
"""Shorter (normalized) quotes are never fuzzy-matched: too easy to match by chance."""
ELLIPSIS_MAX_GAP_CHARS: Final = 1500
"""Parts joined by an ellipsis must lie within this many chars of each other."""
EXACT_SCORE: Final = 100.0
"""Score reported for exact, normalized and ellipsis matches."""
FUZZY_EDGE_SLACK_CHARS: Final = 10
"""How far each edge of a fuzzy window may move while refining it to the best fit."""
NO_MATCH_SCORE: Final = 0.0
"""Score reported when the quote could not be grounded."""

# Marks a model may wrap around a quote; stripped only when they open AND close it.
# Escapes, not literals: these characters are easily confused with ASCII when reading.
_QUOTE_MARKS: Final = (
    "\"'`\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"
    "\u2018\u2019\u201a\u201b\u300c\u300d\u300e\u300f"
)
_DOUBLE_QUOTES: Final = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"  # curly, low-9, «», ″
_SINGLE_QUOTES: Final = "\u2018\u2019\u201a\u201b\u2032`"  # curly, low-9, prime, backtick
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # incl. minus sign
_CHAR_MAP: Final = str.maketrans(
    {
        **dict.fromkeys(_DOUBLE_QUOTES, '"'),
        **dict.fromkeys(_SINGLE_QUOTES, "'"),
        **dict.fromkeys(_DASHES, "-"),
        "\u2026": "...",  # horizontal ellipsis
    }
)
# An ellipsis, optionally bracketed as "[...]" or "(...)", with the whitespace around it.
_ELLIPSIS_RE: Final = re.compile(r"\s*[\[(]?(?:\.{3,}|\u2026)[\])]?\s*")


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where a quote was found in the article.

    Attributes:
        start: Offset of the first matched character, or None when not grounded.
        end: Offset just past the last matched character, or None when not grounded.
        match: Which cascade stage matched.
        score: 100.0 for exact/normalized, the rapidfuzz score for fuzzy, 0.0 for none.
    """

    start: int | None
    end: int | None
    match: MatchKind
    score: float

    @property
    def grounded(self) -> bool:
        """Whether the quote was found at all."""
        return self.match != "none"


_NO_MATCH: Final = Alignment(None, None, "none", NO_MATCH_SCORE)

Span = tuple[int, int]


class _Normalized(NamedTuple):
    """Normalized text plus, per normalized char, the original span it came from."""

    text: str
    starts: list[int]
    ends: list[int]


def _clusters(text: str) -> Iterator[Span]:
    """Yields (start, end) of each base char together with its combining marks."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, j
        i = j


def _is_ignorable(ch: str) -> bool:
    """Invisible format chars (soft hyphen, zero-width space) and variation selectors."""
    return unicodedata.category(ch) == "Cf" or "\ufe00" <= ch <= "\ufe0f"


def _normalize(text: str) -> _Normalized:
    """Unifies quotes, dashes, whitespace, case and ellipses, keeping an offset map."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _clusters(text):
        unit = unicodedata.normalize("NFKC", text[start:end].translate(_CHAR_MAP))
        # Translate again: NFKC can produce chars the map unifies (e.g. small em dash).
        for ch in unit.casefold().translate(_CHAR_MAP):
            if ch.isspace():
                if chars and chars[-1] == " ":
                    continue
                ch = " "
            elif _is_ignorable(ch):
                continue
            chars.append(ch)
            starts.append(start)
            ends.append(end)
    return _Normalized("".join(chars), starts, ends)


def _strip_quote(quote: str) -> str:
    """Removes surrounding whitespace and quotation marks the model may have added."""
    quote = quote.strip()
    while len(quote) >= 2 and quote[0] in _QUOTE_MARKS and quote[-1] in _QUOTE_MARKS:
        quote = quote[1:-1].strip()
    return quote


def _find_all(haystack: str, needle: str, start: int = 0) -> Iterator[int]:
    """Yields every (possibly overlapping) index of needle in haystack from start on."""
    pos = haystack.find(needle, start)
    while pos != -1:
        yield pos
        pos = haystack.find(needle, pos + 1)


def _trim(text: str, start: int, end: int) -> Span:
    """Shrinks [start, end) so it neither begins nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _refine_window(needle: str, haystack: str, start: int, end: int) -> tuple[int, int, float]:
    """Moves each edge of haystack[start:end] by up to the slack to best fit needle.

    ``partial_ratio`` windows have the needle's length, so an inserted or dropped
    char shifts them; trying nearby edges recovers the intended span. Ties go to
    the smallest edge movement.
    """

    def fit(edges: Span) -> tuple[float, int]:
        moved = abs(edges[0] - start) + abs(edges[1] - end)
        return fuzz.ratio(needle, haystack[edges[0] : edges[1]]), -moved

    slack = range(-FUZZY_EDGE_SLACK_CHARS, FUZZY_EDGE_SLACK_CHARS + 1)
    candidates = [
        (start + ds, end + de)
        for ds in slack
        for de in slack
        if 0 <= start + ds < end + de <= len(haystack)
    ]
    best = max(candidates, key=fit)
    return best[0], best[1], fit(best)[0]


def _snap_to_words(text: str, start: int, end: int) -> Span:
    """Widens [start, end) so it does not cut a word in half at either edge."""
    while 0 < start < end and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while start < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def _has_alnum(part: str) -> bool:
    return any(ch.isalnum() for ch in part)


class Aligner:
    """Aligns quotes to one article.

    Remembers spans already returned so a repeated phrase maps to its first UNUSED
    occurrence; once every occurrence is used, the first occurrence is returned again.
    """

    def __init__(self, text: str) -> None:
        """Prepares alignment against ``text`` (normalized lazily, on first need)."""
        self._text = text
        self._used: list[Span] = []

    @cached_property
    def _norm(self) -> _Normalized:
        return _normalize(self._text)

    def align(self, quote: str) -> Alignment:
        """Finds ``quote`` in the article and records the returned span as used.

        Args:
            quote: Text the model claims is verbatim from the article.

        Returns:
            The alignment; ``Alignment(None, None, "none", 0.0)`` if nothing matched.
        """
        result = self._match(_strip_quote(quote))
        if result.start is not None and result.end is not None:
            self._used.append((result.start, result.end))
        return result

    def _match(self, quote: str) -> Alignment:
        if not quote:
            return _NO_MATCH
        for stage in (self._exact, self._normalized, self._ellipsis, self._fuzzy):
            result = stage(quote)
            if result is not None:
                return result
        return _NO_MATCH

    def _pick(self, spans: Iterator[Span]) -> Span | None:
        """Returns the first span not overlapping a used one, else the first span."""
        first: Span | None = None
        for start, end in spans:
            if not any(start < u_end and u_start < end for u_start, u_end in self._used):
                return start, end
            if first is None:
                first = start, end
        return first

    def _norm_span(self, norm_start: int, length: int) -> Span:
        """Maps a match in the normalized text back to original offsets."""
        norm = self._norm
        return norm.starts[norm_start], norm.ends[norm_start + length - 1]

    def _exact(self, quote: str) -> Alignment | None:
        spans = ((pos, pos + len(quote)) for pos in _find_all(self._text, quote))
        span = self._pick(spans)
        return None if span is None else Alignment(*span, "exact", EXACT_SCORE)

    def _normalized(self, quote: str) -> Alignment | None:
        needle = _normalize(quote).text.strip()
        if not needle:
            return None
        positions = _find_all(self._norm.text, needle)
        span = self._pick(self._norm_span(pos, len(needle)) for pos in positions)
        return None if span is None else Alignment(*span, "normalized", EXACT_SCORE)

    def _ellipsis(self, quote: str) -> Alignment | None:
        pieces = _ELLIPSIS_RE.split(quote)
        # Pure-punctuation leftovers (e.g. the "." in "... .") would anchor anywhere.
        parts = [piece for piece in pieces if _has_alnum(piece)]
        if len(pieces) < 2 or not parts:
            return None
        span = self._pick(self._ellipsis_chains(parts))
        return None if span is None else Alignment(*span, "normalized", EXACT_SCORE)

    def _ellipsis_chains(self, parts: list[str]) -> Iterator[Span]:
        """Yields spans where all parts occur in order within the allowed gaps.

        Each chain is anchored at a successive occurrence of the first part; later
        parts greedily take their earliest occurrence after the previous part.
        """
        lo = 0
        while (first := self._find_part(parts[0], lo, len(self._text))) is not None:
            end = self._chain_end(parts[1:], first[1])
            if end is not None:
                yield first[0], end
            lo = first[0] + 1

    def _chain_end(self, parts: list[str], end: int) -> int | None:
        """End of the last part when each part follows the previous within the gap."""
        for part in parts:
            found = self._find_part(part, end, end + ELLIPSIS_MAX_GAP_CHARS)
            if found is None:
                return None
            end = found[1]
        return end

    def _find_part(self, part: str, lo: int, max_start: int) -> Span | None:
        """Earliest exact-or-normalized occurrence of part starting in [lo, max_start]."""
        candidates: list[Span] = []
        pos = self._text.find(part, lo, max_start + len(part))
        if pos != -1:
            candidates.append((pos, pos + len(part)))
        needle = _normalize(part).text.strip()
        norm = self._norm
        if needle:
            norm_lo = bisect_left(norm.starts, lo)
            norm_hi = bisect_left(norm.starts, max_start + 1) + len(needle)
            norm_pos = norm.text.find(needle, norm_lo, norm_hi)
            if norm_pos != -1:
                candidates.append(self._norm_span(norm_pos, len(needle)))
        valid = [span for span in candidates if lo <= span[0] <= max_start]
        # min() keeps the exact candidate on ties because it comes first.
        return min(valid, key=lambda span: span[0], default=None)

    def _fuzzy(self, quote: str) -> Alignment | None:
        needle = _normalize(quote).text.strip()
        norm = self._norm
        # A quote longer than the article would "match" by containing the whole article.
        if len(needle) < FUZZY_MIN_QUOTE_CHARS or len(needle) > len(norm.text):
            return None
        found = fuzz.partial_ratio_alignment(needle, norm.text, score_cutoff=FUZZY_MIN_SCORE)
        if found is None or found.dest_end <= found.dest_start:
            return None
        norm_start, norm_end, score = _refine_window(
            needle, norm.text, found.dest_start, found.dest_end
        )
        start, end = self._norm_span(norm_start, norm_end - norm_start)
        start, end = _snap_to_words(self._text, *_trim(self._text, start, end))
        return Alignment(start, end, "fuzzy", score) if start < end else None


def align_quote(text: str, quote: str) -> Alignment:
    """Aligns one quote against ``text`` with a fresh :class:`Aligner`.

    Args:
        text: The original article text.
        quote: Text the model claims is verbatim from the article.

    Returns:
        The alignment of ``quote`` in ``text``.
    """
    return Aligner(text).align(quote)
