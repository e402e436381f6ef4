"""Loading, validating and rendering the versioned prompt files in `prompts/`.

A prompt lives at ``prompts/<id>/v<N>.toml``. A released version is never edited; changes make
a new version. Rendering substitutes only ``{{article}}`` and ``{{fence}}`` in one pass over the
template, so the article is never read as a template: braces in it stay text.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from summarize.errors import PromptError

__all__ = ["Message", "Prompt", "available_prompts", "load_prompt"]

Message = dict[str, str]
PLACEHOLDERS: Final = frozenset({"article", "fence"})
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_FILE_NAME = re.compile(r"v([1-9]\d*)\.toml")


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: int
    description: str
    system: str
    user: str
    templates: dict[str, str] = {}

    @field_validator("templates")
    @classmethod
    def _no_article_in_templates(cls, templates: dict[str, str]) -> dict[str, str]:
        for name, template in templates.items():
            if {"article", "fence"} & set(_PLACEHOLDER.findall(template)):
                raise ValueError(f"template {name!r}: the article goes once, in the user message")
        return {name: template.strip() for name, template in templates.items()}

    @field_validator("system", "user")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        unknown = set(_PLACEHOLDER.findall(template)) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s): {', '.join(sorted(unknown))}")
        return template.strip()

    @field_validator("system")
    @classmethod
    def _no_article_in_system(cls, template: str) -> str:
        if "article" in _PLACEHOLDER.findall(template):
            raise ValueError("{{article}} belongs in the user template, inside the fence")
        return template

    @field_validator("user")
    @classmethod
    def _article_once(cls, template: str) -> str:
        if _PLACEHOLDER.findall(template).count("article") != 1:
            raise ValueError("the user template must contain {{article}} exactly once")
        return template


@dataclass(frozen=True, slots=True)
class Prompt:
    """One released prompt version.

    Attributes:
        templates: Further named messages a strategy fills (e.g. one question per sentence).
    """

    id: str
    version: int
    description: str
    system: str
    user: str
    templates: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``"id@vN"``, as recorded in `Meta.prompt`."""
        return f"{self.id}@v{self.version}"

    def render(self, article: str) -> list[Message]:
        """Chat messages asking for a summary of `article`.

        The article is fenced by a tag derived from its own hash, so text inside it cannot
        forge the closing fence.
        """
        values = {"article": article, "fence": fence_for(article)}
        return [
            {"role": "system", "content": _fill(self.system, values)},
            {"role": "user", "content": _fill(self.user, values)},
        ]

    def fill(self, template: str, **values: str) -> str:
        """The named template with its ``{{placeholders}}`` filled in one pass.

        Raises:
            PromptError: The template does not exist, or a placeholder has no value.
        """
        text = self.templates.get(template)
        if text is None:
            raise PromptError(f"{self.ref} has no template {template!r}")
        missing = set(_PLACEHOLDER.findall(text)) - values.keys()
        if missing:
            raise PromptError(f"{self.ref} {template}: no value for {', '.join(sorted(missing))}")
        return _fill(text, values)


def fence_for(article: str) -> str:
    """The fence tag for `article`: stable for the same text (so caching keys stay stable)."""
    digest = hashlib.sha256(article.encode("utf-8")).hexdigest()[:16]
    return f"=====ARTICLE-{digest}====="


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _prompt_root() -> Traversable:
    """Prompts ship in the wheel as ``summarize/_prompts``; a checkout has ``prompts/``."""
    packaged = resources.files("summarize") / "_prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


@cache
def available_prompts() -> dict[str, tuple[int, ...]]:
    """Every prompt id with its released versions, oldest first."""
    root = _prompt_root()
    found: dict[str, tuple[int, ...]] = {}
    if not root.is_dir():
        raise PromptError(f"prompt directory not found: {root}")
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        versions = [m for f in folder.iterdir() if (m := _FILE_NAME.fullmatch(f.name))]
        if versions:
            found[folder.name] = tuple(sorted(int(m.group(1)) for m in versions))
    return found


@cache
def load_prompt(spec: str = "article_summary") -> Prompt:
    """Load and validate a prompt: ``"id@vN"`` for that version, ``"id"`` for the newest."""
    name, _, version_text = spec.partition("@")
    versions = available_prompts().get(name)
    if not versions:
        raise PromptError(f"unknown prompt {name!r}; known: {sorted(available_prompts())}")
    version = versions[-1] if not version_text else _parse_version(version_text)
    if version not in versions:
        raise PromptError(f"prompt {name!r} has no version {version}; released: {versions}")
    path = _prompt_root() / name / f"v{version}.toml"
    try:
        parsed = _PromptFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise PromptError(f"invalid prompt file {name}/v{version}.toml: {exc}") from exc
    if (parsed.id, parsed.version) != (name, version):
        raise PromptError(f"{name}/v{version}.toml declares {parsed.id}@v{parsed.version}")
    return Prompt(
        parsed.id,
        parsed.version,
        parsed.description,
        parsed.system,
        parsed.user,
        dict(parsed.templates),
    )


def _parse_version(text: str) -> int:
    match = re.fullmatch(r"v?(\d+)", text)
    if match is None:
        raise PromptError(f"bad prompt version {text!r}; write it as v1")
    return int(match.group(1))
