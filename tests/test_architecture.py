from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "summarize"
BACKENDS = PACKAGE / "backends"
LLM_SDKS = frozenset({"openai", "instructor", "llama_cpp"})
MODULES = sorted(PACKAGE.rglob("*.py"))


def sdk_imports(path: Path) -> list[str]:
    """Every LLM SDK import in the module at `path`, as ``"line N: what"``."""
    return sdk_imports_in(path.read_text(encoding="utf-8"), str(path))


def sdk_imports_in(source: str, filename: str = "<test>") -> list[str]:
    tree = ast.parse(source, filename=filename)
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in {"__import__", "import_module"}
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names = [node.args[0].value]
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in LLM_SDKS]
    return found


def test_the_scan_finds_every_import_form() -> None:
    source = (
        "import openai\nimport instructor.core as c\nfrom llama_cpp import Llama\n"
        "from openai.types.chat import X\nimport os, llama_cpp.server\n"
        "def f():\n    import instructor\n"
        "importlib.import_module('openai')\n__import__('llama_cpp')\n"
        "import openai_compat\nfrom .openai import y\nfrom summarize.backends import openai\n"
    )
    found = sorted(hit.split(": ", 1)[1] for hit in sdk_imports_in(source))
    assert found == sorted(
        [
            "openai",
            "instructor.core",
            "llama_cpp",
            "openai.types.chat",
            "llama_cpp.server",
            "instructor",
            "openai",
            "llama_cpp",
        ]
    ), "the import scan misses or invents SDK imports"


def test_modules_were_found() -> None:
    assert PACKAGE / "pipeline.py" in MODULES, f"no modules found under {PACKAGE}"
    assert any(path.is_relative_to(BACKENDS) for path in MODULES)


def test_only_backends_import_llm_sdks() -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): hits
        for path in MODULES
        if not path.is_relative_to(BACKENDS) and (hits := sdk_imports(path))
    }
    listing = "\n".join(f"  {module}: {', '.join(hits)}" for module, hits in offenders.items())
    assert not offenders, f"only summarize/backends/ may import {sorted(LLM_SDKS)}:\n{listing}"


def test_backends_do_import_the_sdks() -> None:
    used = {
        hit.split(": ", 1)[1].split(".")[0]
        for path in MODULES
        if path.is_relative_to(BACKENDS)
        for hit in sdk_imports(path)
    }
    assert {"openai", "instructor"} <= used, f"backends import only {sorted(used)}"


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"
