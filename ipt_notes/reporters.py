"""Reporters turn problems into text for people, JSON for scripts, or GitHub workflow annotations."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ipt_notes.problems import Problem

__all__ = ["REPORTERS", "report"]


def _text(problems: Iterable[Problem]) -> str:
    return "".join(f"{p.path}:{p.line}:{p.col}: {p.severity.value} [{p.rule}] {p.message}\n" for p in problems)


def _json(problems: Iterable[Problem]) -> str:
    import json

    return json.dumps([p.as_dict() for p in problems], indent=2) + "\n"


def _github_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(value: str) -> str:
    return _github_data(value).replace(":", "%3A").replace(",", "%2C")


def _github(problems: Iterable[Problem]) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    return "".join(
        f"::{p.severity.value} file={_github_property(p.path)},line={p.line},col={p.col},"
        f"title={_github_property(p.rule)}::{_github_data(p.message)}\n"
        for p in problems
    )


REPORTERS: dict[str, Callable[[Iterable[Problem]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
}


def report(problems: Iterable[Problem], format: str) -> str:
    return REPORTERS[format](problems)
