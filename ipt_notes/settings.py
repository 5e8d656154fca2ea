"""Settings, and the one place for their defaults.

Two files hold settings:

- `ipt-notes.yaml`, the practice's: the clinician, the default contract, the backup template,
  the retention period, and the course settings each new client starts with;
- `course-settings.yaml`, each client's: the settings in effect for that course (time zone,
  measures, phase boundaries, rule options). Validation reads only these, so a clone of a
  client's repository alone validates exactly as it does inside the practice.

A practice change reaches a client only through `ipt-notes apply-settings`, which commits it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipt_notes.errors import LoadError, NotesInvalid
from ipt_notes.layout import CONFIG_NAME, FileKind
from ipt_notes.loader import read_bytes, yaml_document, yaml_positions
from ipt_notes.problems import Problem, Severity

__all__ = [
    "DEFAULT_COURSE",
    "CourseSettings",
    "Phases",
    "PracticeSettings",
    "Retention",
    "course_settings_from_bytes",
    "course_settings_text",
    "load_course_settings",
    "load_practice_settings",
    "local_time_zone",
]

_DEFAULT_SESSIONS = 16
_DEFAULT_ZONE = "UTC"


@dataclass(frozen=True)
class Phases:
    """Where the phases begin and end; new-session and the course rules both read them here."""

    initial_sessions: int = 3
    termination_sessions: int = 3


@dataclass(frozen=True)
class CourseSettings:
    """The settings in effect for one client's course; anything not recorded takes its default."""

    time_zone: str = _DEFAULT_ZONE
    measures: tuple[str, ...] = ("phq9",)
    phases: Phases = Phases()
    rules: Mapping[str, Any] = field(default_factory=dict)
    signed_commits_since: str | None = None
    recorded: bool = True
    """False when the client has no course-settings.yaml and these defaults stand in."""

    def today(self) -> dt.date:
        """Today's date in the course's time zone, so a laptop and a CI runner agree."""
        return dt.datetime.now(_zone(self.time_zone)).date()

    def date_of(self, timestamp: str) -> dt.date:
        """The date, in the course's time zone, of a timestamp that carries its own offset."""
        return dt.datetime.fromisoformat(timestamp).astimezone(_zone(self.time_zone)).date()

    def as_document(self) -> dict[str, object]:
        document: dict[str, object] = {
            "version": 1,
            "time_zone": self.time_zone,
            "measures": list(self.measures),
            "phases": {
                "initial_sessions": self.phases.initial_sessions,
                "termination_sessions": self.phases.termination_sessions,
            },
        }
        if self.rules:
            document["rules"] = _plain(self.rules)
        if self.signed_commits_since:
            document["verify"] = {"signed_commits_since": self.signed_commits_since}
        return document


DEFAULT_COURSE = CourseSettings()


@dataclass(frozen=True)
class Retention:
    years: int
    minors_years: int | None = None


@dataclass(frozen=True)
class PracticeSettings:
    clinician: str | None = None
    default_sessions: int = _DEFAULT_SESSIONS
    course: CourseSettings = DEFAULT_COURSE
    """What each new client's course-settings.yaml starts as."""
    backup: str | None = None
    """The backup URL template, with {client} for the client ID."""
    retention: Retention | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_time_zone() -> str:
    """This machine's IANA time zone name, or UTC when it cannot be told."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        target = str(Path("/etc/localtime").readlink())
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and "/" in name and _known_zone(name):
            return name
    return _DEFAULT_ZONE


def _checked(raw: bytes, kind: FileKind, shown: str) -> dict[str, Any]:
    """The file's fields, or NotesInvalid with every problem the file has."""
    from ipt_notes.checks import inspect_bytes

    check = inspect_bytes(Path(shown), raw, kind, shown)
    if not check.valid or check.document is None:
        raise NotesInvalid(what=shown, problems=check.problems)
    data = check.document.data
    assert isinstance(data, dict)
    zone = data.get("time_zone")
    if isinstance(zone, str) and not _known_zone(zone):
        line, col = yaml_positions(check.document.yaml_text).of_value(("time_zone",))
        problem = Problem(shown, line, col, Severity.ERROR, "settings-time-zone", "this time zone is not known here")
        raise NotesInvalid(what=shown, problems=[problem])
    return data


def _course(data: Mapping[str, Any], base: CourseSettings) -> CourseSettings:
    phases = data.get("phases") or {}
    return CourseSettings(
        time_zone=data.get("time_zone", base.time_zone),
        measures=tuple(data.get("measures", base.measures)),
        phases=Phases(
            initial_sessions=phases.get("initial_sessions", base.phases.initial_sessions),
            termination_sessions=phases.get("termination_sessions", base.phases.termination_sessions),
        ),
        rules=dict(data.get("rules") or {}),
        signed_commits_since=(data.get("verify") or {}).get("signed_commits_since"),
    )


def course_settings_from_bytes(raw: bytes, shown: str) -> CourseSettings:
    """A client's settings from the bytes of its course-settings.yaml (on disk or in git's index)."""
    return _course(_checked(raw, FileKind.COURSE_SETTINGS, shown), DEFAULT_COURSE)


_cache: dict[tuple[Path, int, int], CourseSettings] = {}


def load_course_settings(path: Path, shown: str) -> CourseSettings:
    """A client's settings from its course-settings.yaml; the defaults, marked unrecorded, without one.

    Read settings are kept for the file's size and modification time, so a long-lived process
    sees an edited file.
    """
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # A link is never followed, so a client's settings cannot come from elsewhere.
        message = "a link or a folder stands where this file should be; notes files are plain files"
        problem = Problem(shown, 1, 1, Severity.ERROR, "not-a-regular-file", message)
        raise NotesInvalid(what=shown, problems=[problem])
    try:
        stat = path.stat()
    except OSError:
        return CourseSettings(recorded=False)
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        _cache[key] = course_settings_from_bytes(_read(path, shown), shown)
    return _cache[key]


def course_settings_text(settings: CourseSettings) -> str:
    """The text of a course-settings.yaml that records `settings`."""
    header = (
        "# The settings in effect for this course. Validation reads them here, inside the practice\n"
        "# and in any clone of this repository alike. `ipt-notes apply-settings` replaces them with\n"
        "# the practice's settings (ipt-notes.yaml) and commits the change.\n"
    )
    return header + yaml_document(settings.as_document())


def _read(path: Path, shown: str) -> bytes:
    """A settings file's bytes; one that cannot be read is refused, the file named."""
    from ipt_notes.checks import load_problem

    try:
        return read_bytes(path)
    except LoadError as error:
        raise NotesInvalid(what=shown, problems=[load_problem(error, shown)]) from None


def load_practice_settings(practice: Path) -> PracticeSettings:
    """Read and check `ipt-notes.yaml`; a file with errors is refused, its problems attached."""
    shown = CONFIG_NAME
    data = _checked(_read(practice / CONFIG_NAME, shown), FileKind.CONFIG, shown)
    seed = CourseSettings(time_zone=data.get("time_zone") or local_time_zone())
    retention = data.get("retention")
    return PracticeSettings(
        clinician=data.get("clinician"),
        default_sessions=data.get("default_sessions", _DEFAULT_SESSIONS),
        course=_course(data, seed),
        backup=data.get("backup"),
        retention=Retention(retention["years"], retention.get("minors_years")) if retention else None,
    )


def practice_defaults() -> dict[str, str]:
    """The defaults as the practice template states them, so the template repeats no number."""
    return {
        "default_sessions": str(_DEFAULT_SESSIONS),
        "initial_sessions": str(DEFAULT_COURSE.phases.initial_sessions),
        "termination_sessions": str(DEFAULT_COURSE.phases.termination_sessions),
        "measures": ", ".join(DEFAULT_COURSE.measures),
    }
