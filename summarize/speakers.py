"""Who speaks in each sentence, read off the attribution news copy uses. Pure, no I/O.

Wire copy attributes almost every statement: "X said", "said X", "X told reporters",
"according to X", and a following "he said" or an unattributed quote in the same paragraph
keeps the last speaker. These rules (the quote-attribution heuristics of attribution
research) find the speaker of most sentences; a model that names a pronoun, an outlet or
nobody is corrected with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from summarize.sentences import Sentence

__all__ = ["speakers"]

_VERBS: Final = (
    r"(?:said|says|told|tells|added|adds|warned|warns|stated|insisted|argued|noted|wrote|"
    r"declared|announced|urged|accused|rejected|denied|dismissed|proposed|offered|"
    r"threatened|called|signall?ed|replied|responded|countered|retorted|claimed|"
    r"confirmed|demanded|vowed|pledged|suggested|stressed|repeated|reiterated|explained|"
    r"asked|agreed|welcomed|condemned|criticised|criticized|described|named|gave)"
)
_CAP: Final = r"[A-Z\u00c0-\u00de][\w\u00c0-\u024f\u2019'.-]*"
_PARTICLE: Final = r"(?:al|el|bin|ibn|de|del|da|di|van|von|der|of|the|la|le|for|and|in)"
_NAME: Final = rf"({_CAP}(?:[ \t]+(?:{_CAP}|{_PARTICLE}[- ]?{_CAP}))*)"
_ADVERB: Final = r"(?:[ \t]+(?:also|again|later|then|has|had|have|on \w+))*"
# "X said", "X, a security analyst at ..., said", "X has warned".
_SUBJECT: Final = re.compile(rf"{_NAME}(?:,[^,.;]{{3,100}},)?{_ADVERB}[ \t]+{_VERBS}\b")
# '..., said X' and '..." said X': after a quote or a comma only.
_INVERTED: Final = re.compile(rf"[,\"\u201d][ \t]*(?:said|says|added|told|asked)[ \t]+{_NAME}")
_ACCORDING: Final = re.compile(rf"\baccording to[ \t]+(?:the[ \t]+)?{_NAME}")
_PRONOUN: Final = re.compile(rf"\b(?:he|she|they)[ \t]+(?:also[ \t]+)?{_VERBS}\b", re.IGNORECASE)
_QUOTE: Final = re.compile(r"[\"\u201c\u201d]")
# Words that begin sentences or name no one: never a speaker on their own.
_NOT_SPEAKERS: Final = frozenset(
    [
        "The",
        "A",
        "An",
        "He",
        "She",
        "They",
        "It",
        "We",
        "I",
        "This",
        "That",
        "These",
        "Those",
        "In",
        "On",
        "At",
        "After",
        "Before",
        "But",
        "And",
        "Asked",
        "Separately",
        "Meanwhile",
        "However",
        "Earlier",
        "Later",
        "Speaking",
    ]
)


# "Egypt's Foreign Minister Karim Nassar" is Karim Nassar.
_TITLED: Final = re.compile(
    r"^.*\b(?:minister|president|spokes\w+|secretary|chancellor|envoy|ambassador|general|"
    r"chief|commissioner|governor|senator|premier|mayor|king|queen|analyst|economist)\s+"
    rf"({_CAP}(?:\s+{_CAP}){{1,3}})$",
    re.IGNORECASE,
)


def speakers(sentences: Sequence[Sentence], outlets: frozenset[str] = frozenset()) -> list[str]:
    """The speaker of each sentence ("" when none is found), in order.

    A sentence with only "he said" or an unattributed quote inherits the previous speaker
    of its paragraph. Outlets ("according to Reuters") are never speakers.
    """
    found: list[str] = []
    previous = ""
    paragraph_end = -1
    for sentence in sentences:
        if sentence.start > paragraph_end + 1:
            previous = previous if _continues(sentence.text) else ""
        speaker = _explicit(sentence.text, outlets)
        if not speaker and (_PRONOUN.search(sentence.text) or _QUOTE.search(sentence.text)):
            speaker = previous
        found.append(speaker)
        previous = speaker or previous
        paragraph_end = sentence.end
    return found


def _continues(text: str) -> bool:
    """A new paragraph that goes on with the last speaker: "he said", or a bare quote."""
    return bool(_PRONOUN.search(text)) or text.lstrip().startswith(('"', "\u201c"))


def _explicit(text: str, outlets: frozenset[str]) -> str:
    for pattern in (_SUBJECT, _INVERTED, _ACCORDING):
        for match in pattern.finditer(text):
            name = _clean(match.group(1))
            if name and not any(name in outlet or outlet in name for outlet in outlets):
                return name
    return ""


def _clean(name: str) -> str:
    """The name without sentence-start words, and a person's name without their title."""
    words = name.strip(" .,'\u2019").split()
    while words and words[0] in _NOT_SPEAKERS:
        words = words[1:]
    cleaned = " ".join(words)
    titled = _TITLED.match(cleaned)
    return titled.group(1) if titled else cleaned
