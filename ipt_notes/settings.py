"""Practice settings: `ipt-notes.yaml` at the top of a notes repository, with its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipt_notes.errors import NotesInvalid
from ipt_notes.layout import CONFIG_NAME, FileKind
from ipt_notes.loader import read_document
from ipt_notes.problems import Severity

__all__ = ["DEFAULTS", "Settings", "load_settings"]


@dataclass(frozen=True)
class Settings:
    """The settings a command acts on; anything left out of the file takes its default."""

    default_sessions: int = 16
    measures: tuple[str, ...] = ("phq9",)
    initial_sessions: int = 3
    termination_sessions: int = 3
    clinician: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)
    signed_commits_since: str | None = None

    def rule_option(self, rule: str, option: str, default: int) -> int:
        """A rule's numeric option (e.g. measure-cadence's `every`), or its default."""
        settings = self.rules.get(rule)
        if isinstance(settings, dict) and isinstance(settings.get(option), int):
            return int(settings[option])
        return default


DEFAULTS = Settings()


def load_settings(root: Path) -> Settings:
    """Read and check `ipt-notes.yaml`; a file with errors is refused, its problems attached."""
    from ipt_notes.validation import check_file

    path = root / CONFIG_NAME
    problems = check_file(path, FileKind.CONFIG, CONFIG_NAME)
    if any(p.severity is Severity.ERROR for p in problems):
        raise NotesInvalid(what=CONFIG_NAME, problems=problems)
    data = read_document(path, front_matter=False).data
    assert isinstance(data, dict)
    phases = data.get("phases") or {}
    return Settings(
        default_sessions=data.get("default_sessions", DEFAULTS.default_sessions),
        measures=tuple(data.get("measures", DEFAULTS.measures)),
        initial_sessions=phases.get("initial_sessions", DEFAULTS.initial_sessions),
        termination_sessions=phases.get("termination_sessions", DEFAULTS.termination_sessions),
        clinician=data.get("clinician"),
        rules=dict(data.get("rules") or {}),
        signed_commits_since=(data.get("verify") or {}).get("signed_commits_since"),
    )
