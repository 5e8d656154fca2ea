"""The installed console script, run as a real process, as a hook or a clinician would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import INVALID, README, VALID

SCRIPT = Path(sys.executable).parent / "ipt-notes"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IPT_NOTES_DEBUG"}
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(autouse=True)
def _needs_the_script() -> None:
    assert SCRIPT.exists(), f"the package must be installed in this environment ({SCRIPT})"


def test_the_script_validates_a_copied_course_outside_the_source_tree(tmp_path: Path) -> None:
    shutil.copytree(VALID, tmp_path / "notes")
    shutil.copytree(INVALID / "clients" / "signed-middle-incomplete", tmp_path / "notes" / "clients" / "C-0003")
    shutil.copy(VALID / "clients" / "C-0002" / "course-settings.yaml", tmp_path / "notes" / "clients" / "C-0003")
    result = run("validate", "--format", "json", cwd=tmp_path / "notes")
    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)
    # In a practice, a client folder without its client.yaml is reported too.
    assert {p["path"] for p in problems} == {"clients/C-0003/sessions/04.md", "clients/C-0003/client.yaml"}
    assert {p["rule"] for p in problems if p["path"].endswith("client.yaml")} == {"client-file-missing"}
    assert "Traceback" not in result.stderr


def test_the_installed_package_carries_its_schemas_and_templates(tmp_path: Path) -> None:
    probe = "from ipt_notes.resources import schemas_dir, templates_dir; print(schemas_dir()); print(templates_dir())"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    schemas, templates = (Path(line) for line in result.stdout.splitlines())
    assert (schemas / "session.schema.json").is_file()
    assert templates.is_dir()
    schema = run("schema", "session", cwd=tmp_path)
    assert schema.returncode == 0
    assert json.loads(schema.stdout)["title"].startswith("IPT session note")


def test_python_dash_m_runs_the_same_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ipt_notes", "schema"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "session" in result.stdout.split()


def test_version_and_usage_errors_as_a_process(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("ipt-notes ")
    through_typer = subprocess.run(
        [sys.executable, "-c", "from ipt_notes.cli import app; app(['--version'])"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert through_typer.stdout == version.stdout
    usage = run("validate", "--format", "yaml", cwd=tmp_path)
    assert usage.returncode == 2
    assert usage.stdout == ""
    missing = run("validate", cwd=tmp_path)
    assert missing.returncode == 3
    assert "not in a practice" in missing.stderr


def test_the_readme_example_output_is_the_real_output() -> None:
    text = README.read_text()
    block = re.search(r"```text\n\$ \.venv/bin/ipt-notes (?P<args>[^\n]+)\n(?P<out>.*?)```", text, re.DOTALL)
    assert block, "the README shows one example run"
    result = run(*block["args"].split(), cwd=README.parent)
    assert result.returncode == 1
    assert result.stdout == block["out"]
