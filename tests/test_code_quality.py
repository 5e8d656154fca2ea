"""The code keeps its own rules: ruff and mypy --strict are clean, and only cli.py imports Typer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "ipt_notes"
LINTED = [name for name in ("ipt_notes", "tests", "benchmarks") if (ROOT / name).is_dir()]


def _tool(name: str) -> Path:
    tool = Path(sys.executable).parent / name
    if not tool.exists():
        pytest.fail(f"{name} is part of the test dependencies: pip install '.[test]'")
    return tool


def test_ruff_is_clean() -> None:
    result = subprocess.run([str(_tool("ruff")), "check", *LINTED], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [str(_tool("ruff")), "format", "--check", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "ipt_notes"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_cli_imports_typer_and_the_core_never_prints_or_exits() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name in ("cli.py", "__main__.py", "codegen.py"):
            continue
        source = path.read_text()
        assert not ({"typer", "click"} & _imports(path)), path.name
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("print", "exit"), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) != ("sys", "exit"), f"{path.name}:{node.lineno}"


def test_start_up_imports_only_what_the_command_line_needs() -> None:
    probe = "import sys, ipt_notes.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    )
    heavy = {"yaml", "jsonschema", "referencing", "fastjsonschema", "git", "markdown_it", "rich", "importlib.metadata"}
    assert not (heavy & loaded), heavy & loaded
