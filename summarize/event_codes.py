"""The small table of CAMEO and PLOVER event codes an item may carry.

Codes come from the model, so they are checked here: a code that is unknown, or that does not
fit the kind of item it is on (a "reject" code on a warning), is dropped — never guessed.
Sources: CAMEO 1.1b3 code list; PLOVER manual (openeventdata/PLOVER).
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = ["CAMEO", "PLOVER", "Category", "clean_cameo", "clean_plover"]

Category = Literal["warning", "position", "venue", "rebuttal"]

CAMEO: Final[dict[str, str]] = {
    "010": "make statement",
    "012": "make pessimistic comment",
    "013": "make optimistic comment",
    "014": "consider policy option",
    "016": "deny responsibility",
    "019": "express accord",
    "026": "appeal to others to meet or negotiate",
    "036": "express intent to meet or negotiate",
    "039": "express intent to mediate",
    "040": "consult",
    "042": "make a visit",
    "043": "host a visit",
    "044": "meet at a third location",
    "046": "engage in negotiation",
    "106": "demand meeting or negotiation",
    "112": "accuse",
    "120": "reject",
    "125": "reject proposal to meet, discuss or negotiate",
    "126": "reject mediation",
    "127": "reject plan, agreement to settle dispute",
    "130": "threaten",
    "131": "threaten non-force",
    "1313": "threaten to reduce or break relations",
    "134": "threaten to halt negotiations",
    "138": "threaten with military force",
    "1381": "threaten blockade",
    "1382": "threaten occupation",
    "1383": "threaten unconventional violence",
    "1384": "threaten conventional attack",
    "1385": "threaten attack with WMD",
    "139": "give ultimatum",
}

PLOVER: Final[frozenset[str]] = frozenset(
    {"THREATEN", "REJECT", "AGREE", "CONSULT", "ACCUSE", "SUPPORT"}
)

_CAMEO_FIT: Final[dict[Category, frozenset[str]]] = {
    "warning": frozenset(
        {"012", "130", "131", "1313", "134", "138", "1381", "1382", "1383", "1384", "1385", "139"}
    ),
    "position": frozenset({"010", "012", "013", "014", "019", "112"}),
    "venue": frozenset({"026", "036", "039", "040", "042", "043", "044", "046", "106"}),
    "rebuttal": frozenset({"016", "112", "120", "125", "126", "127"}),
}
_PLOVER_FIT: Final[dict[Category, frozenset[str]]] = {
    "warning": frozenset({"THREATEN"}),
    "position": frozenset({"SUPPORT", "ACCUSE"}),
    "venue": frozenset({"AGREE", "CONSULT"}),
    "rebuttal": frozenset({"REJECT", "ACCUSE"}),
}
_CAMEO_DIGITS = re.compile(r"(?<!\d)\d{3,4}(?!\d)")


def clean_cameo(code: object, category: Category) -> str | None:
    """The CAMEO code in canonical form ("138") if known and fitting `category`, else None."""
    if code is None:
        return None
    # An int lost its leading zero (12 was "012"); the string "12" is CAMEO's root code 12.
    text = f"{code:03d}" if isinstance(code, int) and not isinstance(code, bool) else str(code)
    found = _CAMEO_DIGITS.search(text)
    if found is None:
        return None
    digits = found.group()
    return digits if digits in _CAMEO_FIT[category] else None


def clean_plover(code: object, category: Category) -> str | None:
    """The PLOVER event type ("THREATEN") if known and fitting `category`, else None."""
    if code is None:
        return None
    name = str(code).strip().upper()
    return name if name in _PLOVER_FIT[category] else None
