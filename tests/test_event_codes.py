from __future__ import annotations

from typing import get_args

import pytest

from summarize.event_codes import (
    _CAMEO_FIT,
    _PLOVER_FIT,
    CAMEO,
    PLOVER,
    Category,
    clean_cameo,
    clean_plover,
)

CATEGORIES: tuple[Category, ...] = get_args(Category)


@pytest.mark.parametrize(
    ("code", "category", "expected"),
    [
        ("138", "warning", "138"),
        (138, "warning", "138"),
        ("CAMEO 138", "warning", "138"),
        ("138: threaten with military force", "warning", "138"),
        ("1385", "warning", "1385"),
        ("12", "position", None),  # the string "12" is CAMEO's root code 12 (reject)
        ("13812", "warning", None),  # digits are not cut out of a longer number
        (12, "warning", "012"),
        ("036", "venue", "036"),
        (36, "venue", "036"),
        ("125", "rebuttal", "125"),
        ("112", "position", "112"),
        ("112", "rebuttal", "112"),
        ("125", "warning", None),
        ("138", "venue", None),
        ("999", "warning", None),
        ("FOO", "warning", None),
        ("", "warning", None),
        ("  ", "warning", None),
        (None, "warning", None),
    ],
)
def test_clean_cameo(code: object, category: Category, expected: str | None) -> None:
    assert clean_cameo(code, category) == expected, f"clean_cameo({code!r}, {category!r})"


@pytest.mark.parametrize(
    ("code", "category", "expected"),
    [
        ("THREATEN", "warning", "THREATEN"),
        (" threaten ", "warning", "THREATEN"),
        ("Reject", "rebuttal", "REJECT"),
        ("AGREE", "venue", "AGREE"),
        ("SUPPORT", "position", "SUPPORT"),
        ("THREATEN", "venue", None),
        ("SUPPORT", "rebuttal", None),
        ("ASSAULT", "warning", None),
        ("", "warning", None),
        (None, "warning", None),
    ],
)
def test_clean_plover(code: object, category: Category, expected: str | None) -> None:
    assert clean_plover(code, category) == expected, f"clean_plover({code!r}, {category!r})"


def test_every_category_has_a_fit_table() -> None:
    assert set(_CAMEO_FIT) == set(CATEGORIES), "CAMEO fit table does not cover every category"
    assert set(_PLOVER_FIT) == set(CATEGORIES), "PLOVER fit table does not cover every category"


@pytest.mark.parametrize("category", CATEGORIES)
def test_cameo_fit_table_only_lists_known_codes(category: Category) -> None:
    unknown = sorted(_CAMEO_FIT[category] - CAMEO.keys())
    assert not unknown, f"{category} fit table has codes missing from CAMEO: {unknown}"


@pytest.mark.parametrize("category", CATEGORIES)
def test_plover_fit_table_only_lists_known_types(category: Category) -> None:
    unknown = sorted(_PLOVER_FIT[category] - PLOVER)
    assert not unknown, f"{category} fit table has types missing from PLOVER: {unknown}"


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_fitting_code_survives_cleaning(category: Category) -> None:
    for code in _CAMEO_FIT[category]:
        assert clean_cameo(code, category) == code, f"{code} dropped on a {category}"
    for name in _PLOVER_FIT[category]:
        assert clean_plover(name.lower(), category) == name, f"{name} dropped on a {category}"


def test_cameo_codes_are_three_or_four_digits() -> None:
    bad = sorted(code for code in CAMEO if not (code.isdigit() and len(code) in (3, 4)))
    assert not bad, f"malformed CAMEO codes in the table: {bad}"
