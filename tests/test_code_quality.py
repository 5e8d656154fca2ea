"""The code keeps its own rules: ruff and mypy --strict are clean, and start-up stays light."""

from __future__ import annotations

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


def test_start_up_imports_only_what_the_command_line_needs() -> None:
    probe = "import sys, ipt_notes.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    )
    heavy = {"yaml", "jsonschema", "referencing", "fastjsonschema", "git", "markdown_it", "rich", "importlib.metadata"}
    assert not (heavy & loaded), heavy & loaded
