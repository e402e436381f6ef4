from __future__ import annotations

import pytest

from summarize.errors import (
    BinaryInputError,
    EmptyInputError,
    InputError,
    InputTooLargeError,
    SummarizeError,
)
from summarize.inputs import MAX_CONTROL_CHAR_RATIO, check_article

LIMIT = 10_000
ARTICLE = (
    "MOSCOW — Vladimir Putin said on Friday that any Western troops deployed to Ukraine\n"
    'would be "legitimate targets".\tZelensky\'s office rejected the remarks.\r\n'
    "\x0cA new page: talks could take place in Istanbul, Geneva or the Vatican — «maybe».\n"
)


@pytest.mark.parametrize(
    "text", ["", " ", "\n\t \r\n", "\u00a0\u2003", b"", b"  \n", b"\xef\xbb\xbf"]
)
def test_empty_or_whitespace_raises_empty_input_error(text: str | bytes) -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        check_article(text, LIMIT)


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00h\x00i", b"caf\xe9 au lait", b"\x89PNG\r\n\x1a\n", b"ok then \xc3"],
)
def test_non_utf8_bytes_raise_binary_input_error(data: bytes) -> None:
    with pytest.raises(BinaryInputError, match="not UTF-8"):
        check_article(data, LIMIT)


@pytest.mark.parametrize("text", ["news\x00more news", b"news\x00more news", "\x00" + "a" * 500])
def test_nul_byte_raises_binary_input_error(text: str | bytes) -> None:
    with pytest.raises(BinaryInputError, match="binary"):
        check_article(text, LIMIT)


def test_many_control_characters_raise_binary_input_error() -> None:
    text = "word\x01\x02\x03 " * 50
    with pytest.raises(BinaryInputError):
        check_article(text, LIMIT)


def test_a_stray_control_character_in_a_long_article_is_tolerated() -> None:
    text = "a" * 1_000 + "\x1b" + "b" * 1_000
    assert MAX_CONTROL_CHAR_RATIO * len(text) >= 1, "test text too short for the ratio"
    assert check_article(text, LIMIT) == text


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_utf8_bytes_with_bom_are_decoded_without_it(kind: type) -> None:
    data = kind(b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"))
    assert check_article(data, LIMIT) == ARTICLE, "BOM kept or text changed while decoding"


def test_utf8_bytes_without_bom_are_decoded() -> None:
    assert check_article(ARTICLE.encode("utf-8"), LIMIT) == ARTICLE


def test_normal_article_passes_unchanged() -> None:
    result = check_article(ARTICLE, LIMIT)
    assert result == ARTICLE, "tabs, newlines, CR or form feed were altered"
    assert result is ARTICLE, "a valid str should be returned as-is"


def test_surrounding_whitespace_is_kept_so_offsets_stay_valid() -> None:
    text = "\n\n  Headline\n\nBody.  \n"
    assert check_article(text, LIMIT) == text


@pytest.mark.parametrize(("size", "limit"), [(11, 10), (2_001, 2_000), (10_001, 10_000)])
def test_over_the_limit_raises_input_too_large(size: int, limit: int) -> None:
    with pytest.raises(InputTooLargeError) as caught:
        check_article("x" * size, limit)
    error = caught.value
    assert (error.size, error.limit) == (size, limit), f"wrong size/limit on {error!r}"
    assert f"{limit:,}" in str(error), f"message does not mention the limit: {error}"
    assert "max_input_chars" in str(error), f"message does not say how to raise it: {error}"


def test_limit_counts_characters_not_bytes() -> None:
    text = "é" * 10  # 20 bytes in UTF-8
    assert check_article(text.encode("utf-8"), max_chars=10) == text
    assert check_article(text, max_chars=10) == text


@pytest.mark.parametrize("value", [5, None, 3.5, ["text"], {"text": "x"}])
def test_other_types_raise_input_error(value: object) -> None:
    with pytest.raises(InputError, match=type(value).__name__):
        check_article(value, LIMIT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error", [InputError, EmptyInputError, BinaryInputError, InputTooLargeError]
)
def test_input_errors_are_value_errors_and_summarize_errors(error: type[Exception]) -> None:
    assert issubclass(error, ValueError), f"{error.__name__} is not a ValueError"
    assert issubclass(error, SummarizeError), f"{error.__name__} is not a SummarizeError"
    assert issubclass(error, InputError)
