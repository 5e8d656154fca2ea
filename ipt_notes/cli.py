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
import typer.main

from ipt_notes import __version__
from ipt_notes.errors import ExitCode, IptNotesError, RefusedInput

__all__ = ["app", "main"]

F = TypeVar("F", bound=Callable[..., Any])

_HELP = (
    "Session notes for Interpersonal Psychotherapy (IPT), kept as YAML and Markdown in git, "
    "checked against JSON Schemas and IPT's rules.\n\n"
    "Exit status: 0 success; 1 the notes have findings; 2 usage error or refused input; "
    "3 the environment stopped the operation."
)


def _new_app() -> typer.Typer:
    return typer.Typer(
        name="ipt-notes",
        help=_HELP,
        no_args_is_help=True,
        add_completion=True,
        # Tracebacks with local variables could show note content: never print them.
        pretty_exceptions_enable=False,
    )


app = _new_app()

# Packages whose versions help a bug report, by distribution name.
_REPORTED_PACKAGES = (
    "typer",
    "click",
    "PyYAML",
    "jsonschema",
    "referencing",
    "markdown-it-py",
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
            problems = getattr(error, "problems", None)
            if problems:
                from ipt_notes.reporters import report

                typer.echo(report(problems, "text"), err=True, nl=False)
            for line in getattr(error, "details", None) or []:
                _say(line)
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
    # Whatever the tool or git creates is private to its owner: notes are health records.
    os.umask(0o077)


RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="The practice folder. Default: found upwards from the current folder."),
]


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
            help="Notes files or folders to check. Default: the client folder you are in, or else the whole practice.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text (path:line:col: ...), json, or github annotations."),
    ] = OutputFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 1) on warnings too.")] = False,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged", help="Check the versions staged in the client's git index (what the pre-commit hook runs)."
        ),
    ] = False,
    schema_only: Annotated[
        bool,
        typer.Option("--schema-only", help="Check each file against its schema only, without the course rules."),
    ] = False,
    root: RootOption = None,
) -> None:
    """Check notes against their schemas and IPT's course rules; every problem in every file, in one run.

    Each problem is printed as path:line:col: error|warning [rule-id] message, pointing into the
    file itself. Messages name the place and the rule, never the content of a note. Exit status
    1 when there are errors, or warnings with --strict. Each client is judged by the settings
    recorded in its own course-settings.yaml, so a clone of its repository validates the same way.
    Each client's course rules run over all its files, and their problems are reported for the
    files named. With --staged, the versions in git's index are checked instead of the working
    tree (PATHs then limit which staged files are checked). The README lists every rule.
    """
    from ipt_notes.commands.validate import validate as check
    from ipt_notes.reporters import report

    result = check(Path.cwd(), list(paths or []), root=root, staged=staged, rules=not schema_only)
    sys.stdout.write(report(result.problems, output_format.value))
    errors = sum(1 for p in result.problems if p.severity.value == "error")
    warnings = len(result.problems) - errors
    files = "file" if result.files_checked == 1 else "files"
    _say(f"checked {result.files_checked} {files}: {errors} errors, {warnings} warnings")
    status = result.exit_code(strict=strict)
    if status:
        raise typer.Exit(int(status))


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


def _practice(root: Path | None) -> Path:
    """The practice: --root, or found upwards from the current folder."""
    from ipt_notes.errors import PracticeNotFound
    from ipt_notes.layout import CONFIG_NAME, require_practice

    if root is None:
        return require_practice(Path.cwd())
    if not (root / CONFIG_NAME).is_file():
        raise PracticeNotFound(start=str(root))
    return root.resolve()


def _clients(names: list[str] | None, root: Path | None, *, everyone: bool = True, every: bool = False) -> list[Path]:
    """The client folders named; with none, the client folder you are in, or else every client.

    With `every` (--all), every client of the practice, wherever the command runs; with neither
    `everyone` nor `every`, naming the clients is required outside a client folder.
    """
    from ipt_notes.layout import find_client_folder, practice_clients, resolve_client

    cwd = Path.cwd()
    if names:
        return list(dict.fromkeys(resolve_client(name, cwd=cwd, root=root).folder for name in names))
    if every:
        return practice_clients(_practice(root))
    if root is None and (here := find_client_folder(cwd)) is not None:
        return [here]
    if not everyone:
        raise RefusedInput("name the clients (or give --all), or run this inside a client folder")
    return practice_clients(_practice(root))


def _print_paths(paths: list[Path]) -> None:
    """stdout carries the paths of the files written, one per line, so that scripts can use them."""
    for path in paths:
        typer.echo(os.path.relpath(path) if path.is_absolute() else str(path))


@app.command()
@_exits_cleanly
def init(
    path: Annotated[Path, typer.Argument(help="The folder to make a practice folder. Default: here.")] = Path(),
) -> None:
    """Make a folder a practice: ipt-notes.yaml (the practice settings), .gitignore and clients/.

    Creates the folder if needed. Files that exist are left as they are. The practice folder is
    not a git repository itself: each client gets a repository of its own (ipt-notes new-client).
    ipt-notes.yaml records this machine's time zone; new clients start with its settings.
    """
    from ipt_notes.commands.init import init_practice

    result = init_practice(path)
    _print_paths(result.written)
    _say(f"practice ready: {result.root}" + ("" if result.written else " (nothing new to write)"))


@app.command("new-client")
@_exits_cleanly
def new_client(
    client_id: Annotated[str, typer.Argument(metavar="ID", help="A pseudonymous code such as C-0042; never a name.")],
    sessions: Annotated[
        int | None,
        typer.Option(
            "--sessions", help="Planned sessions in the contract. Default: default_sessions of ipt-notes.yaml."
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="The start date, YYYY-MM-DD. Default: today.", show_default=False)
    ] = None,
    root: RootOption = None,
) -> None:
    """Make clients/ID a git repository of its own, with its first files, and commit them.

    The repository gets safe git settings, the pre-commit hook, client.yaml, inventory.yaml,
    formulation.md and course-settings.yaml (the practice's settings, recorded for this client).
    When ipt-notes.yaml has a backup template, the client's backup is created and pushed. An ID
    that is not a safe code, or that differs only in case from an existing client, is refused
    (exit 2) and nothing is created. Prints the paths of the files written.
    """
    from ipt_notes.commands.new_client import new_client as make_client
    from ipt_notes.commands.new_session import parse_date

    start_date = parse_date(start, option="--start") if start is not None else None
    result = make_client(_practice(root), client_id, sessions=sessions, start_date=start_date)
    _print_paths(result.written)
    if result.backup is not None:
        _say(f"{client_id}: backup {result.backup}")
    if result.backup_error is not None:
        _say(f"ipt-notes: {result.backup_error}")
        raise typer.Exit(int(ExitCode.ENVIRONMENT))


def _edit_and_check(note: Path) -> None:
    import shlex
    import subprocess

    from ipt_notes.checks import check_file
    from ipt_notes.layout import FileKind
    from ipt_notes.reporters import report

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    assert editor is not None
    completed = subprocess.run([*shlex.split(editor), str(note)], check=False)
    if completed.returncode != 0:
        _say(f"ipt-notes: the editor exited with status {completed.returncode}; the note is kept as it is")
    problems = check_file(note, FileKind.SESSION, os.path.relpath(note))
    if problems:
        typer.echo(report(problems, "text"), err=True, nl=False)
    _say("your edits are saved, not committed: commit them with git, or sign the note when it is complete")
    if any(p.severity.value == "error" for p in problems):
        raise typer.Exit(int(ExitCode.FINDINGS))


ClientArgument = Annotated[
    str | None,
    typer.Argument(help="The client's ID or folder. Default: the client folder you are in.", show_default=False),
]


@app.command("new-session")
@_exits_cleanly
def new_session(
    client: ClientArgument = None,
    date: Annotated[
        str | None, typer.Option("--date", help="The session date, YYYY-MM-DD. Default: today.", show_default=False)
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the note in $VISUAL or $EDITOR, then check it when the editor closes.")
    ] = False,
    maintenance: Annotated[
        bool, typer.Option("--maintenance", help="Allow a session after the course was closed (maintenance IPT).")
    ] = False,
    root: RootOption = None,
) -> None:
    """Write the next session note, pre-filled from the course, and commit it to the client's repository.

    A closed course takes no new session unless --maintenance is given.

    The number is the highest so far plus one; the phase follows from the number and the
    contract, by the boundaries in the client's course-settings.yaml. The note comes from the
    phase's template, with the sessions remaining, the formulation's problem areas, the dispute
    stage and the homework carried from the last note, and the measures due. Prints the note's
    path, so that $EDITOR "$(ipt-notes new-session C-0042)" works. If an earlier new-session was
    interrupted after saving its note, running it again commits that note and writes no other.
    """
    from ipt_notes.commands.new_session import parse_date, scaffold

    session_date = parse_date(date, option="--date") if date is not None else None
    if edit and not (os.environ.get("VISUAL") or os.environ.get("EDITOR")):
        raise RefusedInput("--edit needs an editor: set VISUAL or EDITOR")
    scaffolded = scaffold(Path.cwd(), client, root=root, date=session_date, maintenance=maintenance)
    note = scaffolded.path
    _print_paths([note])
    if scaffolded.finished:
        _say(
            f"ipt-notes: {os.path.relpath(note)} was saved by an earlier new-session that did not commit it: it is "
            "committed now, and no other note was written (run new-session again for the next)"
        )
    if edit:
        _edit_and_check(note)


NotesArgument = Annotated[list[Path], typer.Argument(help="The notes: session notes, addenda or reviews.")]


@app.command()
@_exits_cleanly
def sign(notes: NotesArgument) -> None:
    """Sign draft notes: check each as it will be once signed, then lock it and commit.

    A note that is not valid and complete for its phase, or that breaks a course rule, is refused
    (exit 1) with its findings, and nothing changes. Signing sets status: signed, signed_by (git's
    author identity), signed_at and content_hash (defined in the README, so anyone can recompute
    it), and commits to the client's repository through git, so commit signing applies when it is
    set. Prints the notes signed.
    """
    from ipt_notes.commands.sign import awaiting_cosignature, sign_notes

    signed = sign_notes(Path.cwd(), list(notes))
    _print_paths(signed)
    for note in signed:
        if awaiting_cosignature(note):
            _say(f"{os.path.relpath(note)} awaits co-signature by the supervisor: ipt-notes cosign")


@app.command()
@_exits_cleanly
def cosign(notes: NotesArgument) -> None:
    """Co-sign signed notes as the supervisor named in client.yaml, and commit.

    Each co-signature is a new file beside its note (sessions/07.cosignature.yaml for
    sessions/07.md, review.cosignature.yaml for review.md) that names the note and repeats its
    content hash, with cosigned_by and cosigned_at; the signed note itself never changes. Git's
    author identity must be the supervisor's, and verify checks that the commit is theirs. A
    supervisor may work in a clone of the client's repository and push to its backup; the
    clinician brings the co-signatures in with ipt-notes pull. Prints the co-signatures written.
    """
    from ipt_notes.commands.sign import cosign_notes

    _print_paths(cosign_notes(Path.cwd(), list(notes)))


@app.command()
@_exits_cleanly
def amend(
    note: Annotated[Path, typer.Argument(help="The signed session note to amend.")],
    kind: Annotated[
        str,
        typer.Option("--kind", help="addendum, late_entry, correction or patient_amendment."),
    ] = "addendum",
) -> None:
    """Scaffold an addendum to a signed note (never edit a signed note), and commit it.

    The addendum is a new file, sessions/NN.addendum-K.md, linked to the note by its path, its
    content hash and the commit that signed it; the note stays byte for byte as it was. Write the
    reason and the text, then sign the addendum like any note. Prints the addendum's path.
    """
    from ipt_notes.commands.amend import amend_note

    _print_paths([amend_note(Path.cwd(), note, kind=kind)])


class CloseReason(StrEnum):
    completed = "completed"
    dropout = "dropout"
    referred = "referred"
    moved = "moved"
    other = "other"


@app.command()
@_exits_cleanly
def close(
    client: ClientArgument = None,
    reason: Annotated[
        CloseReason, typer.Option("--reason", help="Why the course ends.", case_sensitive=False)
    ] = CloseReason.completed,
    date: Annotated[
        str | None, typer.Option("--date", help="The date the course ends, YYYY-MM-DD. Default: today.")
    ] = None,
    root: RootOption = None,
) -> None:
    """End a course: record it in client.yaml, scaffold review.md from the record, and commit both.

    client.yaml gets course_status: closed, end_date and close_reason; nothing else in it changes.
    review.md is a draft pre-filled from the record: the sessions attended, cancelled and missed
    against the contract and the first and last scores (as comments, since they are computed),
    the formulation's problem areas and goals each with an outcome to fill in, and the warning
    signs, attribution and maintenance decision recorded in the termination notes. Fill it in,
    sign it, then render it with ipt-notes render review. Refused while any note or addendum is
    unsigned (they are named). A closed course takes new sessions only with new-session
    --maintenance. Prints the review's path.
    """
    from ipt_notes.commands.close import close_course

    _print_paths([close_course(Path.cwd(), client, root=root, reason=reason.value, date=date)])


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def _status_table(rows: list[Any]) -> str:
    header = ("client", "session", "phase", "PHQ-9", "drafts", "errors", "warnings")
    lines = [header]
    for row in rows:
        session = "-" if row.session is None else f"{row.session} of {row.planned or '?'}"
        phq9 = "-" if row.phq9_total is None else f"{row.phq9_total} {row.phq9_band} (s{row.phq9_session})"
        drafts = ", ".join(str(n) for n in row.drafts) or "-"
        lines.append((row.client, session, row.phase or "-", phq9, drafts, str(row.errors), str(row.warnings)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines)


@app.command()
@_exits_cleanly
def status(
    client: Annotated[
        str | None,
        typer.Argument(
            help="One client's ID or folder. Default: the client folder you are in, or else every client.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        StatusFormat, typer.Option("--format", "-f", help="table for people, json for scripts.")
    ] = StatusFormat.table,
    root: RootOption = None,
) -> None:
    """The course at a glance: session k of N, phase, the last PHQ-9 and its band, drafts, problems.

    One line per client; the errors and warnings are what `ipt-notes validate` reports for the
    client's files.
    """
    import json

    from ipt_notes.commands.status import practice_status

    rows = practice_status(_clients([client] if client else None, root))
    if output_format is StatusFormat.json:
        typer.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        typer.echo(_status_table(rows))


ClientsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[CLIENT]...",
        help="Client IDs or folders. Default: the client folder you are in, or else every client.",
        show_default=False,
    ),
]


@app.command()
@_exits_cleanly
def verify(
    clients: ClientsArgument = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text (path:line:col: ...), json, or github annotations."),
    ] = OutputFormat.text,
    remote: Annotated[
        bool,
        typer.Option("--remote", help="Also check each client against its backup: what it holds is in this history."),
    ] = False,
    require_signed_commits: Annotated[
        bool,
        typer.Option(
            "--require-signed-commits",
            help="Also check that every commit (since verify.signed_commits_since in course-settings.yaml) is signed.",
        ),
    ] = False,
    root: RootOption = None,
) -> None:
    """Audit each client's history: signed notes unchanged since signing, addenda linked, objects sound.

    Walks every commit reachable from HEAD in each client's repository, the clients spread over
    every core, and reports, naming the file and the commit: a signed note changed or deleted
    after signing, a hash that did not match at signing, an addendum that does not resolve, what
    git fsck --full finds, and a commit dated before its parent. Exit status 1 on any
    finding; 3 when a client cannot be audited (a shallow clone: fetch its whole history first).
    The README says what this does not prove.
    """
    from ipt_notes.commands.verify import verify_clients
    from ipt_notes.reporters import report

    folders = _clients(clients, root)
    result = verify_clients(folders, Path.cwd(), remote=remote, require_signed_commits=require_signed_commits)
    sys.stdout.write(report(result.problems, output_format.value))
    for _, why, _ in result.failures:
        _say(f"ipt-notes: {why}")
    count = len(result.problems)
    _say(f"verified {len(folders) - len(result.failures)} of {len(folders)} clients: {count} findings")
    if result.failures:
        raise typer.Exit(max(int(code) for _, _, code in result.failures))
    if result.problems:
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command()
@_exits_cleanly
def doctor(
    clients: ClientsArgument = None,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Repair what is safe to repair, and say what was done."),
    ] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text (path:line:col: ...), json, or github annotations."),
    ] = OutputFormat.text,
    root: RootOption = None,
) -> None:
    """Find, and with --fix repair, what a crash, a clone or a moved interpreter left behind.

    Checks git and the author identity; the pre-commit hook and the Python it starts; the course
    settings; git's lock files and ipt-notes' temporary files; notes saved but not committed;
    file modes (0600 and 0700, which a clone under umask 022 does not give); .gitattributes; and
    the backup remote. --fix removes a lock only when no git command is running in the repository,
    removes temporary files of interrupted writes, installs the hook again and makes files
    private; it never changes, commits or deletes a note. Exit status 1 when findings remain.
    """
    from ipt_notes.commands.doctor import doctor as check
    from ipt_notes.layout import find_practice
    from ipt_notes.reporters import report

    folders = _clients(clients, root)
    practice = root.resolve() if root is not None else find_practice(Path.cwd())
    result = check(practice, folders, Path.cwd(), fix=fix)
    sys.stdout.write(report(result.problems, output_format.value))
    for line in result.fixed:
        _say(f"fixed: {line}")
    plural = "" if len(folders) == 1 else "s"
    _say(f"checked {len(folders)} client{plural}: {len(result.problems)} findings, {len(result.fixed)} repairs")
    if result.problems:
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command("log")
@_exits_cleanly
def audit_log(
    client: Annotated[
        str | None,
        typer.Argument(help="The client's ID or folder. Default: the client folder you are in.", show_default=False),
    ] = None,
    session: Annotated[int | None, typer.Argument(help="Only this session's note and addenda.")] = None,
    output_format: Annotated[
        StatusFormat, typer.Option("--format", "-f", help="table for people, json for scripts.")
    ] = StatusFormat.table,
    root: RootOption = None,
) -> None:
    """The audit trail of a client's record from git: commit, author, date, action, signature.

    Inside a client folder, `ipt-notes log 5` shows session 5. Never note content: the action is
    ipt-notes' own commit message (IDs and numbers), and a commit made by hand is shown by the
    names of the files it touched, not by its message. The signature column is git's verdict: G
    good, N none, B bad, U/X/Y/R/E as git defines them.
    """
    import json

    from ipt_notes.commands.log import audit_log as trail
    from ipt_notes.layout import find_client_folder, resolve_client

    cwd = Path.cwd()
    if client is not None and session is None and client.isdigit() and root is None and find_client_folder(cwd):
        # Inside a client folder, a lone number is a session: `ipt-notes log 5`.
        session = int(client)
        client = None
    entries = trail(resolve_client(client, cwd=cwd, root=root).folder, session)
    if output_format is StatusFormat.json:
        typer.echo(json.dumps([entry.as_dict() for entry in entries], indent=2))
        return
    rows = [("commit", "date", "author", "signature", "action")]
    rows += [(e.commit, e.date, e.author, e.signature, e.action) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    typer.echo("\n".join("  ".join([*(row[i].ljust(widths[i]) for i in range(4)), row[4]]) for row in rows))


def _report_outcomes(outcomes: list[Any]) -> None:
    """Each client's outcome: ID and commit on stdout, what happened on stderr; exit 3 if one failed."""
    for outcome in outcomes:
        if outcome.error is None:
            typer.echo(f"{outcome.client} {outcome.commit}")
            _say(f"{outcome.client}: {outcome.action}")
        else:
            _say(f"ipt-notes: {outcome.error}")
    if any(outcome.error is not None for outcome in outcomes):
        raise typer.Exit(int(ExitCode.ENVIRONMENT))


@app.command("add-backup")
@_exits_cleanly
def add_backup(
    template: Annotated[
        str,
        typer.Argument(
            metavar="URL-TEMPLATE",
            help="Where each client's backup is, {client} standing for its ID: /mnt/backup/{client}.git, or "
            "ssh://git@host/practice/{client}.git.",
        ),
    ],
    root: RootOption = None,
) -> None:
    """Give every client a backup repository that refuses history rewrites, and push to it.

    Sets backup: in ipt-notes.yaml, so that new clients get one too. For a local path, each
    client's bare repository is created there, set to refuse non-fast-forward pushes and branch
    deletions, to check every object it receives and to prune nothing. Behind an ssh or https
    URL, create each repository on the server first (see the README). Prints each client's ID and
    the commit its backup holds.
    """
    from ipt_notes.commands.backup import add_backup as create

    _report_outcomes(create(_practice(root), template))


@app.command()
@_exits_cleanly
def push(clients: ClientsArgument = None, root: RootOption = None) -> None:
    """Push each client to its backup, then confirm that the backup holds exactly that commit.

    Says how many new commits went, or that the backup was up to date. A history rewritten here
    since the last push is refused by the backup and reported (exit 3). Prints each client's ID
    and the commit its backup holds.
    """
    from ipt_notes.commands.backup import push as send

    _report_outcomes(send(_clients(clients, root)))


@app.command()
@_exits_cleanly
def pull(clients: ClientsArgument = None, root: RootOption = None) -> None:
    """Bring in what each client's backup holds beyond this history, such as a supervisor's co-signatures.

    Fast-forwards only: a history that has moved on both here and in the backup is refused
    (exit 3). Prints each client's ID and the commit it is at.
    """
    from ipt_notes.commands.backup import pull as fetch

    _report_outcomes(fetch(_clients(clients, root)))


@app.command()
@_exits_cleanly
def transfer(
    client: Annotated[str, typer.Argument(help="The client's ID or folder.")],
    destination: Annotated[Path, typer.Argument(metavar="DEST", help="A new folder for the copy.")],
    root: RootOption = None,
) -> None:
    """Hand a complete course over: a copy of the client's repository with its whole history.

    For a colleague, the patient or an archive. The copy has every commit, signature and
    addendum, with the same commit ids, and the same safe settings and hook; it is verified
    before the command ends. A history that ever held private/ (process notes) is refused. The
    practice register records the transfer. Prints the copy's path.
    """
    from ipt_notes.commands.transfer import transfer as hand_over
    from ipt_notes.layout import resolve_client

    result = hand_over(resolve_client(client, cwd=Path.cwd(), root=root), destination)
    _print_paths([result.destination])
    _say(
        f"{result.client} handed over at commit {result.commit[:12]}" + (" and registered" if result.registered else "")
    )


@app.command()
@_exits_cleanly
def destroy(
    client: Annotated[str, typer.Argument(help="The client's ID.")],
    confirm: Annotated[
        str | None, typer.Option("--confirm", help="The client's ID again: destruction cannot be undone.")
    ] = None,
    root: RootOption = None,
) -> None:
    """Remove a closed course whose retention period (retention: in ipt-notes.yaml) has passed.

    Refused while the course is open, before the period has passed, and always when no period
    is set. Removes the client's repository, its local backup and its rendered documents; names
    the copies it cannot remove (a backup behind a URL, transferred copies); records the act in
    the practice register (ID, dates, who). No other client is touched. Prints what it removed.
    """
    from ipt_notes.commands.destroy import destroy as remove

    result = remove(_practice(root), client, confirm=confirm)
    for path in result.removed:
        typer.echo(path)
    for place in result.not_removed:
        _say(f"ipt-notes: not removed, remove it where it is kept: {place}")


@app.command("apply-settings")
@_exits_cleanly
def apply_settings(
    clients: Annotated[
        list[str] | None,
        typer.Argument(metavar="[CLIENT]...", help="Client IDs or folders.", show_default=False),
    ] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Every client of the practice.")] = False,
    root: RootOption = None,
) -> None:
    """Record the practice's course settings (ipt-notes.yaml) in the clients named, and commit.

    Validation reads each client's own course-settings.yaml; this is how a practice change
    reaches a client. A client whose record would have errors under the new settings is refused
    with them, unchanged (exit 1); the others are still brought up to date. Prints the settings
    files that changed.
    """
    from ipt_notes.commands.apply_settings import apply_settings as record

    if clients and everyone:
        raise RefusedInput("name clients or give --all, not both")
    folders = _clients(clients, root, everyone=False, every=everyone)
    practice = _practice(root)
    results = record(practice, folders, cwd=Path.cwd())
    _print_paths([result.path for result in results if result.changed])
    for result in results:
        if result.refused:
            from ipt_notes.reporters import report

            typer.echo(report(result.refused, "text"), err=True, nl=False)
            _say(f"{result.client}: refused, nothing changed: its record would have these errors under the settings")
        else:
            _say(f"{result.client}: {'settings recorded' if result.changed else 'already up to date'}")
    if any(result.refused for result in results):
        raise typer.Exit(int(ExitCode.FINDINGS))


def _app_for(argv: list[str]) -> typer.Typer:
    """The app, holding only the command asked for when there is one.

    Typer builds every command's parameters on each run, about 8 ms for all of them: a cost the
    pre-commit hook would pay on every commit for commands it never runs. The command itself,
    its parsing and its help are the same objects as in the full app.
    """
    if argv and not argv[0].startswith("-"):
        chosen = [info for info in app.registered_commands if _command_name(info) == argv[0]]
        if chosen:
            single = _new_app()
            single.registered_callback = app.registered_callback
            single.registered_commands = chosen
            return single
    return app


def _command_name(info: Any) -> str:
    name: str = info.name or typer.main.get_command_name(info.callback.__name__)
    return name


def main() -> None:
    """The console script: run the app; an unexpected failure gets one line, not a traceback."""
    if sys.argv[1:] == ["--version"]:
        # Shell tools ask for the version often; it needs none of the commands Typer would build.
        typer.echo(_versions())
        return
    try:
        _app_for(sys.argv[1:])()
    except Exception as error:
        if os.environ.get("IPT_NOTES_DEBUG"):
            raise
        _say(
            f"ipt-notes: internal error ({type(error).__name__}); nothing more is shown because a "
            "traceback could quote a note. Set IPT_NOTES_DEBUG=1 to see it."
        )
        sys.exit(int(ExitCode.ENVIRONMENT))
