"""The command line: a thin Typer layer over the core.

It parses arguments, calls one library function per command, prints the result and maps errors
to exit statuses, here and nowhere else. Core modules are imported inside the commands, so that
`--help`, `--version` and shell completion pay only for Typer.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ipt_notes import __version__
from ipt_notes.errors import ExitCode, IptNotesError

__all__ = ["app", "main"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="ipt-notes",
    help=(
        "Session notes for Interpersonal Psychotherapy (IPT), kept as YAML and Markdown in git, "
        "checked against JSON Schemas and IPT's rules.\n\n"
        "Exit status: 0 success; 1 the notes have findings; 2 usage error or refused input; "
        "3 the environment stopped the operation."
    ),
    no_args_is_help=True,
    add_completion=True,
    # Tracebacks with local variables could show note content: never print them.
    pretty_exceptions_enable=False,
)

# Packages whose versions help a bug report, by distribution name.
_REPORTED_PACKAGES = (
    "typer",
    "click",
    "PyYAML",
    "jsonschema",
    "referencing",
    "fastjsonschema",
    "markdown-it-py",
    "GitPython",
)


def _say(message: str) -> None:
    """Messages go to stderr; stdout carries only data."""
    typer.echo(message, err=True)


def _exits_cleanly(command: F) -> F:
    """Map the error root to its documented exit status (the one place where this happens)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except IptNotesError as error:
            _say(f"ipt-notes: {error}")
            raise typer.Exit(int(error.exit_code)) from None

    return wrapper  # type: ignore[return-value]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Versions read from the names of installed `.dist-info` folders.

    The binary distribution format names them `<name>-<version>.dist-info`, so one listing of each
    import path answers for every package; importlib.metadata would add more than 10 ms to every
    `--version`, which shell tools call often. It answers for anything the listing misses.
    """
    wanted = {_normalized(name): name for name in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = [child.name for child in Path(entry or ".").iterdir()]
        except OSError:
            continue
        for item in listing:
            if item.endswith(".dist-info"):
                name, _, number = item[: -len(".dist-info")].partition("-")
                original = wanted.get(_normalized(name))
                if original is not None and original not in found:
                    found[original] = number
    for name in set(names) - set(found):
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as metadata_version

        try:
            found[name] = metadata_version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _libyaml_note() -> str:
    """Whether PyYAML has its C extension (the strict loader needs it), without importing yaml."""
    from importlib.util import find_spec

    spec = find_spec("yaml")
    folder = Path(spec.origin).parent if spec is not None and spec.origin else None
    has_c = folder is not None and any(folder.glob("_yaml*"))
    return " (with libyaml)" if has_c else " (without libyaml)"


def _versions() -> str:
    lines = [f"ipt-notes {__version__}", f"Python {sys.version.split()[0]} ({sys.implementation.name})"]
    versions = _installed_versions(_REPORTED_PACKAGES)
    for name in _REPORTED_PACKAGES:
        suffix = _libyaml_note() if name == "PyYAML" else ""
        lines.append(f"{name} {versions[name]}{suffix}")
    return "\n".join(lines)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(_versions())
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the version of ipt-notes and of the packages it uses, then exit.",
        ),
    ] = False,
) -> None:
    pass


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
@_exits_cleanly
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Notes files or folders to check. Default: the whole notes repository.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text (path:line:col: ...), json, or github annotations."),
    ] = OutputFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 1) on warnings too.")] = False,
    root: Annotated[
        Path | None,
        typer.Option("--root", help="The notes repository. Default: found upwards from the current folder."),
    ] = None,
) -> None:
    """Check notes against their schemas; every problem in every file, in one run.

    Each problem is printed as path:line:col: error|warning [rule-id] message, pointing into the
    file itself. Messages name the place and the rule, never the content of a note. Exit status
    1 when there are errors, or warnings with --strict.
    """
    from ipt_notes.layout import find_root
    from ipt_notes.reporters import report
    from ipt_notes.validation import validate_paths

    targets = list(paths) if paths else [root if root is not None else find_root(Path.cwd())]
    result = validate_paths(targets)
    sys.stdout.write(report(result.problems, output_format.value))
    errors = sum(1 for p in result.problems if p.severity.value == "error")
    warnings = len(result.problems) - errors
    _say(f"checked {result.files_checked} files: {errors} errors, {warnings} warnings")
    if result.failed(strict=strict):
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command()
@_exits_cleanly
def schema(
    name: Annotated[
        str | None,
        typer.Argument(help="The schema to print. Default: list the schema names.", show_default=False),
    ] = None,
) -> None:
    """Print a packaged JSON Schema, self-contained, for editors and other validators.

    With no NAME, list the schema names, one per line. With a NAME, print that schema with
    everything it refers to bundled under $defs, so that yaml-language-server or
    check-jsonschema can use it unchanged.
    """
    import json

    from ipt_notes.schemas import bundle, schema_names

    if name is None:
        typer.echo("\n".join(schema_names()))
        return
    typer.echo(json.dumps(bundle(name), indent=2, ensure_ascii=False))


def main() -> None:
    """The console script: run the app; an unexpected failure gets one line, not a traceback."""
    try:
        app()
    except Exception as error:
        if os.environ.get("IPT_NOTES_DEBUG"):
            raise
        _say(
            f"ipt-notes: internal error ({type(error).__name__}); nothing more is shown because a "
            "traceback could quote a note. Set IPT_NOTES_DEBUG=1 to see it."
        )
        sys.exit(int(ExitCode.ENVIRONMENT))
