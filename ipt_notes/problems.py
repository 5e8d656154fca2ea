"""Problems are values: one per finding, collected across every file, then handed to a reporter."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

__all__ = ["INTERNAL_RULE_ERROR_ID", "NOT_A_REGULAR_FILE", "STRAY_FILE", "Problem", "Severity", "has_internal_error"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


INTERNAL_RULE_ERROR_ID = "internal-rule-error"
"""A course rule that failed: a defect of ipt-notes, reported among the findings, after which the
run exits 3 (it could not finish) rather than 1."""


NOT_A_REGULAR_FILE = "not-a-regular-file"
"""A link, a folder, a pipe or a device where the layout expects a notes file (or folder)."""
STRAY_FILE = "stray-file"
"""A file in sessions/ whose name the layout does not give: a copy, a leftover, a temporary file."""


class Problem(NamedTuple):
    """One finding at a place in a file.

    `path` is as the user should see it (relative to the current folder where possible); `line`
    and `col` are 1-based positions in the file itself. `message` names the rule's expectation and
    never quotes the file.
    """

    path: str
    line: int
    col: int
    severity: Severity
    rule: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
        }


def has_internal_error(problems: Iterable[object]) -> bool:
    """Whether a rule failed among these problems, so that the run could not check everything."""
    return any(isinstance(p, Problem) and p.rule == INTERNAL_RULE_ERROR_ID for p in problems)
