"""Problems are values: one per finding, collected across every file, then handed to a reporter."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = ["Problem", "Severity"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


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
