"""Checks an article before anything is sent to a model."""

from __future__ import annotations

import re
from typing import Final

from summarize.errors import BinaryInputError, EmptyInputError, InputError, InputTooLargeError

__all__ = ["MAX_CONTROL_CHAR_RATIO", "check_article"]

#: Share of C0 control characters (other than tab, newline, CR, form feed) above which
#: a text is taken for binary data.
MAX_CONTROL_CHAR_RATIO: Final = 0.005
_CONTROL: Final = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")


def check_article(text: str | bytes, max_chars: int) -> str:
    """The article as text, or an `InputError` saying why it cannot be summarized.

    Bytes must be UTF-8 (a byte-order mark is dropped); offsets in the summary index the
    returned string.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BinaryInputError(
                f"article is not UTF-8 text (undecodable byte at position {exc.start})"
            ) from None
    if not isinstance(text, str):
        raise InputError(f"article must be str or bytes, not {type(text).__name__}")
    if not text.strip():
        raise EmptyInputError("article is empty or only whitespace")
    if len(text) > max_chars:
        raise InputTooLargeError(len(text), max_chars)
    if "\x00" in text or len(_CONTROL.findall(text)) > MAX_CONTROL_CHAR_RATIO * len(text):
        raise BinaryInputError("article contains binary control characters; is it a text file?")
    return text
