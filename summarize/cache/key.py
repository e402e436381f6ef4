"""Cache keys: SHA-256 over a canonical JSON of everything that changes a summary.

A key covers the normalized article, the model and the endpoint that serves it, the strategy
and its prompt
(id, version and a hash of its text), a fingerprint of both schemas, every generation
setting that changes the output, and the cache format. Never the API key: two keys for the
same endpoint share entries.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict
from functools import cache
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from summarize.config import Settings
from summarize.draft import DraftSummary
from summarize.models import model_key
from summarize.prompts import Prompt
from summarize.schema import SCHEMA_VERSION, ArticleSummary

__all__ = [
    "CACHE_FORMAT",
    "KeyMaker",
    "cache_key",
    "key_fields",
    "normalize_article",
    "schema_fingerprint",
    "text_digest",
]

#: Bumped whenever what is stored changes. Assembly rules need no bump: every hit is
#: assembled again from the stored draft (see `summarize.cache.layer`).
CACHE_FORMAT: Final = 2
_OPENAI_DEFAULT_URL: Final = "https://api.openai.com/v1"


def normalize_article(text: str) -> str:
    """The article as keyed: NFC, LF line ends, no trailing spaces, outer blank lines cut.

    Texts that differ only in these ways share an entry; offsets are derived from the
    caller's own text on a hit (see `summarize.cache.layer`).
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def text_digest(text: str) -> str:
    """SHA-256 hex digest of `text` as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def schema_fingerprint() -> str:
    """A hash of what the model is asked for and what users get back."""
    schemas = [SCHEMA_VERSION, DraftSummary.model_json_schema(), ArticleSummary.model_json_schema()]
    return text_digest(_canonical(schemas))[:16]


def key_fields(
    article: str, settings: Settings, prompt: Prompt, strategy: str = "single"
) -> dict[str, Any]:
    """Everything the key is computed from, as plain JSON values (handy for debugging)."""
    return {
        "format": CACHE_FORMAT,
        "article": text_digest(normalize_article(article)),
        "model": settings.model_name,
        "endpoint": _endpoint(settings),
        "strategy": strategy,
        "prompt": prompt.ref,
        "prompt_sha256": text_digest(_canonical(asdict(prompt))),
        "schema": schema_fingerprint(),
        "generation": {
            "mode": settings.mode,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "max_reasks": settings.max_reasks,
            "ungrounded": settings.ungrounded,
            "extra_body": dict(settings.extra_body or {}),  # seed and provider options
            **(_local_generation(settings) if settings.is_local else {}),
        },
    }


def cache_key(fields: dict[str, Any]) -> str:
    """The key for `key_fields(...)`: 64 hex digits."""
    return text_digest(_canonical(fields))


class KeyMaker:
    """Keys for one `Summarizer`: everything but the article is worked out once."""

    def __init__(self, settings: Settings, prompt: Prompt, strategy: str = "single") -> None:
        self.fields = key_fields("", settings, prompt, strategy)

    def __call__(self, article: str) -> str:
        """The cache key of `article` under these settings."""
        return cache_key({**self.fields, "article": text_digest(normalize_article(article))})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _endpoint(settings: Settings) -> str:
    """Who serves the model: the base URL without credentials or query, or the GGUF file."""
    if settings.is_local:
        return model_key(settings.local_model_path)
    parts = urlsplit(settings.base_url or _OPENAI_DEFAULT_URL)
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def _local_generation(settings: Settings) -> dict[str, Any]:
    return {"repeat_penalty": settings.repeat_penalty, "n_ctx": settings.n_ctx}
