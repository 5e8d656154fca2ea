"""A repository's own git config never makes ipt-notes run a program.

A client's repository may be a copy of a stranger's, and git reads its `.git/config` on every
call. Each setting that names a program for git to run is set there to a script that touches a
marker file, and every command is run: no marker may appear. Overridden settings leave each
command's outcome as it is without them; refused ones stop each command with exit 3, naming the
setting and its file but never its value, unless the user's own (global) config gives the same.
"""

from __future__ import annotations

import http.server
import re
import shlex
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipt_notes.repository_config import Entry, may_name_programs, parse_listing, policy
from tests.conftest import NOTE, later
from tests.helpers import cli, copy_tree, git, script

CLIENT = "clients/C-0042"
CLOSED = "clients/C-0001"
"""A closed course past a retention period of one year: what `destroy` takes."""
SUPERVISOR = "S-01 <s01@clinic.example>"

SEQUENCE: list[tuple[str, ...]] = [
    ("validate", CLIENT),
    ("validate", "--staged", "@" + CLIENT),
    ("status", "C-0042"),
    ("log", "C-0042"),
    ("verify", "C-0042"),
    ("verify", "--remote", "C-0042"),
    ("verify", "--require-signed-commits", "C-0042"),
    ("pull", "C-0042"),
    ("sign", NOTE),
    ("cosign", NOTE),
    ("amend", NOTE),
    ("new-session", "C-0042", "--date", later(7)),
    ("apply-settings", "C-0042"),
    ("push", "C-0042"),
    ("add-backup", "{tmp}/backup/{client}.git"),
    ("transfer", "C-0042", "{tmp}/handover"),
    ("destroy", "C-0001", "--confirm", "C-0001"),
]
"""Every command that touches an existing client's repository, in an order in which each can
succeed: the backup holds a commit the client lacks (a supervisor's) until `pull`. An argument
`@FOLDER` means: run from that folder; `cosign` runs as the supervisor."""
NETWORK: list[tuple[str, ...]] = [("verify", "--remote", "C-0042"), ("push", "C-0042"), ("pull", "C-0042")]


# --- the practice, its backups, and the sequence run on a clean copy ------------------------------


@pytest.fixture(scope="module")
def _base(tmp_path_factory: pytest.TempPathFactory, _built: Path, _session_env: None) -> tuple[Path, Path]:
    """The built practice, every client backed up, a retention period of one year, and a commit in
    C-0042's backup that C-0042 does not have yet (a supervisor's, which changes `.gitignore`)."""
    from ipt_notes.commands.backup import add_backup

    folder = tmp_path_factory.mktemp("hostile-base")
    practice = copy_tree(_built, folder / "practice")
    contract = practice / CLIENT / "client.yaml"
    contract.write_text(
        contract.read_text().replace("course_status: active", f"course_status: active\nsupervisor: {SUPERVISOR}")
    )
    git(practice / CLIENT, "commit", "-q", "--no-verify", "-am", "supervisor named")
    backups = folder / "backup"
    assert all(outcome.error is None for outcome in add_backup(practice, f"{backups}/{{client}}.git"))
    config = practice / "ipt-notes.yaml"
    config.write_text(config.read_text() + "retention:\n  years: 1\n")
    clone = folder / "supervisor"
    git(folder, "clone", "-q", str(backups / "C-0042.git"), str(clone))
    ignore = clone / ".gitignore"
    ignore.write_text(ignore.read_text() + "# read by the supervisor\n")
    git(clone, "commit", "-q", "-am", "read by the supervisor")
    git(clone, "push", "-q", "origin", "main")
    return practice, backups


def fresh(base: tuple[Path, Path], folder: Path) -> Path:
    """A private copy of the base practice and its backups, the copy's remotes pointing at the copy."""
    practice = copy_tree(base[0], folder / "practice")
    backups = copy_tree(base[1], folder / "backup")
    for config in [practice / "ipt-notes.yaml", *(practice / "clients").glob("*/.git/config")]:
        config.write_text(config.read_text().replace(str(base[1]), str(backups)))
    return practice


@pytest.fixture(scope="module")
def _shared(_base: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh(_base, tmp_path_factory.mktemp("shared"))


@pytest.fixture
def shared(_shared: Path) -> Iterator[Path]:
    """A copy of the base practice shared by tests that change nothing in it but the config of
    C-0042 and C-0001, which is put back afterwards (with the work tree: nothing else may change)."""
    saved = {repo: (_shared / repo / ".git" / "config").read_bytes() for repo in (CLIENT, CLOSED)}
    yield _shared
    for repo, config in saved.items():
        (_shared / repo / ".git" / "config").write_bytes(config)
        (_shared / repo / "included.cfg").unlink(missing_ok=True)
        assert git(_shared / repo, "status", "--porcelain") == ""


def run(practice: Path, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    cwd = practice
    args = []
    for arg in command:
        if arg.startswith("@"):
            cwd = practice / arg[1:]
        else:
            args.append(arg.replace("{tmp}", str(practice.parent)))
    if command[0] != "cosign":
        return cli(cwd, *args, monkeypatch=monkeypatch)
    with monkeypatch.context() as supervisor:
        for role in ("AUTHOR", "COMMITTER"):
            supervisor.setenv(f"GIT_{role}_NAME", "S-01")
            supervisor.setenv(f"GIT_{role}_EMAIL", "s01@clinic.example")
        return cli(cwd, *args, monkeypatch=supervisor)


def masked(text: str, root: Path) -> str:
    """Output with its folder, commit ids and times made comparable between two copies."""
    text = text.replace(str(root.resolve()), "<root>").replace(str(root), "<root>")
    return re.sub(r"\b[0-9a-f]{7,40}\b|\d\d:\d\d:\d\d", "<id>", text)


@pytest.fixture(scope="module")
def baseline(_base: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, str]]:
    """Each command's exit status and output on a copy with no hostile setting."""
    folder = tmp_path_factory.mktemp("baseline")
    practice = fresh(_base, folder)
    outcomes = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        for command in SEQUENCE:
            code, out, _ = run(practice, command, monkeypatch)
            outcomes.append((code, masked(out, folder)))
    assert [code for code, _ in outcomes] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], outcomes
    return outcomes


# --- hostile programs and settings -------------------------------------------------------------


class Programs:
    """Scripts that each touch a marker of their own: a marker that appears names what ran."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()

    def __call__(self, name: str) -> str:
        name = re.sub(r"[^A-Za-z0-9.-]", "_", name)
        script_path = self.folder / f"{name}.sh"
        marker = self.folder / f"{name}.ran"
        script_path.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\nexit 1\n")
        script_path.chmod(0o700)
        return str(script_path)

    def hooks(self, name: str) -> str:
        """A hooks folder in which every hook git knows touches the marker `name`."""
        program = self(name)
        folder = Path(program).with_suffix(".d")
        folder.mkdir()
        for hook in (
            "pre-commit",
            "commit-msg",
            "post-commit",
            "reference-transaction",
            "pre-push",
            "post-merge",
            "post-checkout",
            "pre-auto-gc",
        ):
            (folder / hook).symlink_to(program)
        return str(folder)

    def ran(self) -> list[str]:
        return sorted(path.stem for path in self.folder.glob("*.ran"))


@pytest.fixture
def programs(tmp_path: Path) -> Programs:
    return Programs(tmp_path / "programs")


def set_config(repo: Path, text: str) -> None:
    """Append hand-written settings to a repository's own config, as a stranger's copy has them."""
    config = repo / ".git" / "config"
    config.write_text(config.read_text() + text)


def overridden(programs: Programs) -> str:
    """Every setting ipt-notes overrides (or whose program no call of it starts), in mixed case
    as git allows; its programs run where a call does not override them."""
    p = programs
    return f"""[Core]
\tFSMonitor = {p("core.fsmonitor")}
\tSSHCommand = {p("core.sshCommand")}
\taskPass = {p("core.askPass")}
\tgitProxy = {p("core.gitProxy")}
\talternateRefsCommand = {p("core.alternateRefsCommand")}
\tpager = {p("core.pager")}
\teditor = {p("core.editor")}
[sequence]
\teditor = {p("sequence.editor")}
[credential]
\thelper = {p("credential.helper")}
[credential "http://127.0.0.1"]
\thelper = {p("credential.url.helper")}
[Filter "evil"]
\tClean = {p("filter.clean")}
\trequired = true
[filter "evil-process"]
\tprocess = {p("filter.process")}
[filter "evil-smudge"]
\tclean = {p("filter.smudge-clean")}
\tsmudge = {p("filter.smudge")}
[diff]
\texternal = {p("diff.external")}
[diff "evil"]
\ttextconv = {p("diff.textconv")}
\tcommand = {p("diff.command")}
[merge "evil"]
\tdriver = {p("merge.driver")}
[remote "backup"]
\tuploadpack = {p("remote.uploadpack")}
\treceivepack = {p("remote.receivepack")}
[protocol "ext"]
\tallow = always
[Protocol "foo"]
\tallow = always
[alias]
\tremote-file = !{p("alias.remote-file")}
\tRemote-Foo = !{p("alias.remote-foo")}
\tcredential-x = !{p("alias.credential-x")}
"""


def make_hostile(repo: Path, text: str, alternate: Path) -> None:
    set_config(repo, text)
    # Drivers for every file, and another repository's objects to negotiate with.
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text(
        "* diff=evil merge=evil\n*.md filter=evil\n*.yaml filter=evil-process\n.gitignore filter=evil-smudge\n"
    )
    (repo / ".git" / "objects" / "info" / "alternates").write_text(f"{alternate}/objects\n")


@pytest.fixture
def alternate(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "alternate.git"))
    return tmp_path / "alternate.git"


# --- overridden: every command works as without the settings, and runs none of their programs ----


def test_overridden_settings_change_no_outcome_and_run_nothing(
    _base: tuple[Path, Path],
    baseline: list[tuple[int, str]],
    programs: Programs,
    alternate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    practice = fresh(_base, tmp_path)
    for repo in (CLIENT, CLOSED):
        make_hostile(practice / repo, overridden(programs), alternate)

    outcomes = []
    for command in SEQUENCE:
        code, out, err = run(practice, command, monkeypatch)
        outcomes.append((code, masked(out, tmp_path)))
        assert programs.ran() == [], (command, err)

    assert outcomes == baseline
    # The settings are still there: overridden for each call, not removed.
    assert "FSMonitor" in (practice / CLIENT / ".git" / "config").read_text()
    # As a process of its own, as a supervisor runs it.
    audited = script("verify", "--remote", "C-0042", cwd=practice)
    assert audited.returncode == 0, audited.stderr
    assert programs.ran() == []


def test_plain_git_would_run_them(
    _base: tuple[Path, Path], programs: Programs, alternate: Path, tmp_path: Path
) -> None:
    """The settings above are live: git calls such as the commands make, without the overrides,
    run their programs."""
    practice = fresh(_base, tmp_path)
    repo = practice / CLIENT
    make_hostile(repo, overridden(programs), alternate)
    calls = {
        "core.fsmonitor": ["status", "--porcelain"],
        "filter.clean": ["hash-object", "sessions/01.md"],
        "filter.process": ["hash-object", "client.yaml"],
        "filter.smudge": ["cat-file", "--filters", "HEAD:.gitignore"],
        "remote.uploadpack": ["ls-remote", "backup"],
        "remote.receivepack": ["push", "backup", "HEAD:refs/heads/elsewhere"],
        "core.alternateRefsCommand": ["fetch", "--upload-pack=git-upload-pack", "backup"],
        "diff.command": ["log", "-p", "--ext-diff", "--", ".gitattributes"],
        "diff.textconv": ["log", "-p", "--", ".gitattributes"],
    }
    fired = {}
    for name, args in calls.items():
        git_call = ["git", "-c", "core.fsmonitor=false", *args] if name != "core.fsmonitor" else ["git", *args]
        subprocess.run(git_call, cwd=repo, capture_output=True, check=False, timeout=60)
        fired[name] = name in programs.ran()
        for marker in programs.folder.glob("*.ran"):
            marker.unlink()
    assert fired == dict.fromkeys(calls, True)


def test_the_pre_commit_hook_runs_none_of_them(
    practice: Path, programs: Programs, alternate: Path, tmp_path: Path
) -> None:
    repo = practice / CLIENT
    note = practice / NOTE
    note.write_text(note.read_text() + "\nMore.\n")
    git(repo, "add", "--", "sessions/01.md")
    make_hostile(repo, overridden(programs), alternate)
    hook = repo / ".git" / "hooks" / "pre-commit"

    # As git runs it: from the top of the work tree, after the user's own git has staged the note.
    ran = subprocess.run([str(hook)], cwd=repo, capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, ran.stderr
    assert programs.ran() == []


@pytest.fixture(scope="module")
def refusing_server() -> Iterator[int]:
    """An HTTP server that asks for credentials for everything: git then asks its helpers."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="backup"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


REMOTES = {
    "ext-url": ("ext::{program}", "[protocol]\n\tallow = always\n"),
    "url-insteadof-ext": (
        "nowhere:C-0042",
        '[url "ext::{program}"]\n\tinsteadOf = nowhere:C-0042\n[protocol]\n\tallow = always\n',
    ),
    "helper-alias": ("file::{backup}", "[alias]\n\tremote-file = !{program}\n"),
    "vcs-alias": ("{backup}", '[remote "backup"]\n\tvcs = file\n[alias]\n\tremote-file = !{program}\n'),
    "vcs-ext": ("{program}", '[remote "backup"]\n\tvcs = ext\n[protocol "ext"]\n\tallow = always\n'),
    "unknown-helper": ("foo::{backup}", '[protocol "foo"]\n\tallow = always\n[alias]\n\tremote-foo = !{program}\n'),
    "credential-helper": ("http://127.0.0.1:{port}/C-0042.git", "[credential]\n\thelper = {program}\n"),
    "credential-url-helper": (
        "http://127.0.0.1:{port}/C-0042.git",
        '[credential "http://127.0.0.1:{port}"]\n\thelper = !{program}\n',
    ),
    "askpass": ("http://127.0.0.1:{port}/C-0042.git", "[core]\n\taskPass = {program}\n"),
    "ssh-command": ("ssh://backup.invalid/C-0042.git", "[core]\n\tsshCommand = {program}\n"),
    "git-proxy": ("git://127.0.0.1:9/C-0042.git", "[core]\n\tgitProxy = {program}\n"),
}
"""A backup remote, and the settings that would run a program when a command talks to it."""


@pytest.mark.parametrize("remote", sorted(REMOTES))
def test_talking_to_a_remote_runs_no_program_its_settings_name(
    remote: str, shared: Path, refusing_server: int, programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = shared / CLIENT
    url, settings = REMOTES[remote]
    backup = shared.parent / "backup" / "C-0042.git"
    values = {"program": programs(remote), "backup": str(backup), "port": refusing_server}
    git(repo, "config", "remote.backup.url", url.format(**values))
    set_config(repo, settings.format(**values))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    if remote == "ssh-command":
        monkeypatch.setenv("GIT_SSH", "false")  # what git runs when the repository names nothing

    codes = [run(shared, command, monkeypatch)[0] for command in NETWORK]

    assert programs.ran() == []
    # The backup cannot be read: a finding for verify, an error for push and pull.
    assert codes == [1, 3, 3]
    # Plain git, without the overrides, does run it.
    subprocess.run(["git", "ls-remote", "backup"], cwd=repo, capture_output=True, check=False, timeout=60)
    assert programs.ran() == [remote]


def test_an_audit_runs_no_hook_of_a_copied_repository(
    _base: tuple[Path, Path], programs: Programs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hooks are files, not settings, but a copy brings them along: `verify --remote` fetches
    without them."""
    practice = fresh(_base, tmp_path)
    hooks = Path(programs.hooks("hooks-folder"))
    target = practice / CLIENT / ".git" / "hooks" / "reference-transaction"
    target.symlink_to(hooks / "reference-transaction")

    code, _, err = run(practice, ("verify", "--remote", "C-0042"), monkeypatch)

    assert code == 0, err
    assert programs.ran() == []
    assert git(practice / CLIENT, "rev-parse", "refs/remotes/backup/main")  # it did fetch


def test_the_user_s_own_helpers_and_ssh_command_stay(
    _base: tuple[Path, Path], programs: Programs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An overridden setting takes the user's own value, not none: here the user's ssh command."""
    practice = fresh(_base, tmp_path)
    repo = practice / CLIENT
    user = tmp_path / "gitconfig"
    mine = programs("users-ssh")
    user.write_text(f"[core]\n\tsshCommand = {mine}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    git(repo, "config", "remote.backup.url", "ssh://backup.invalid/C-0042.git")
    set_config(repo, f"[core]\n\tsshCommand = {programs('strangers-ssh')}\n")

    code, _, _ = run(practice, ("verify", "--remote", "C-0042"), monkeypatch)

    assert code == 1
    assert programs.ran() == ["users-ssh"]


# --- refused: every command stops, naming the setting and its file, never its value ----------------

REFUSED = {
    "core.hooksPath": "[core]\n\thooksPath = {hooks}\n",
    "core.worktree": "[core]\n\tworktree = {hooks}\n",
    "gpg.program": "[gpg]\n\tprogram = {program}\n[log]\n\tshowSignature = true\n",
    "gpg.ssh.program": '[gpg]\n\tformat = ssh\n[gpg "ssh"]\n\tprogram = {program}\n[log]\n\tshowSignature = true\n',
    "gpg.ssh.defaultKeyCommand": '[gpg]\n\tformat = ssh\n[GPG "ssh"]\n\tDefaultKeyCommand = {program}\n'
    "[commit]\n\tgpgSign = true\n",
    "include.path": "[Include]\n\tpath = ../included.cfg\n",
    "includeIf.gitdir:/.path": '[includeIf "gitdir:/"]\n\tpath = ../included.cfg\n',
}


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_refused_settings_stop_every_command_naming_key_and_file(
    key: str, shared: Path, programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = shared
    program = programs(key)
    values = {"program": program, "hooks": programs.hooks(key + ".hooks")}
    for repo in (CLIENT, CLOSED):
        set_config(practice / repo, REFUSED[key].format(**values))
        # What an include brings in from the work tree.
        (practice / repo / "included.cfg").write_text(f"[core]\n\tsshCommand = {program}\n\tfsmonitor = {program}\n")

    for command in SEQUENCE:
        code, _, err = run(practice, command, monkeypatch)
        assert programs.ran() == [], command
        assert code == 3, (command, err)
        assert key.lower() in err.lower(), (command, err)
        assert "/.git/config" in err, (command, err)
        assert program not in err and "included.cfg" not in err, (command, err)
        assert "--unset-all" in err, (command, err)


def test_the_hook_refuses_a_commit_by_hand_naming_the_setting(practice: Path, programs: Programs) -> None:
    repo = practice / CLIENT
    before = git(repo, "rev-parse", "HEAD")
    note = practice / NOTE
    note.write_text(note.read_text() + "\nMore.\n")
    set_config(repo, f"[gpg]\n\tprogram = {programs('gpg.program')}\n[log]\n\tshowSignature = true\n")

    committed = subprocess.run(["git", "commit", "-qam", "by hand"], cwd=repo, capture_output=True, text=True)

    assert committed.returncode != 0
    assert "gpg.program" in committed.stderr
    assert git(repo, "rev-parse", "HEAD") == before
    assert programs.ran() == []


GLOBAL = {
    "core.hooksPath": ("[core]\n\thooksPath = {empty}\n", [("verify", "C-0042"), ("new-session", "C-0042")]),
    "gpg.program": ("[gpg]\n\tprogram = gpg\n", [("log", "C-0042"), ("verify", "C-0042")]),
    "include.path": ("[include]\n\tpath = {included}\n", [("log", "C-0042"), ("verify", "C-0042")]),
}


@pytest.mark.parametrize("key", sorted(GLOBAL))
def test_the_same_setting_in_the_user_s_global_config_is_allowed(
    key: str, practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    included = tmp_path / "included.cfg"
    included.write_text("[ipt-notes-test]\n\tseen = true\n")
    settings, commands = GLOBAL[key]
    text = settings.format(empty=tmp_path / "empty", included=included)
    user = tmp_path / "gitconfig"
    user.write_text(text)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    set_config(practice / CLIENT, text)

    for command in commands:
        code, _, err = run(practice, command, monkeypatch)
        assert code == 0, (command, err)

    # Another value than the user's is the repository's own, and refused.
    set_config(practice / CLIENT, text.replace("= ", "= other-"))
    code, _, err = run(practice, commands[0], monkeypatch)
    assert code == 3
    assert key.lower() in err.lower()


# --- the fast path -----------------------------------------------------------------------------


def test_a_config_with_nothing_to_override_costs_no_extra_git_process(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipt_notes.git import _listed_policy

    before = _listed_policy.cache_info().misses
    code, _, err = cli(practice, "validate", monkeypatch=monkeypatch)
    assert code == 0, err
    code, _, err = cli(practice, "verify", monkeypatch=monkeypatch)
    assert code == 0, err
    assert _listed_policy.cache_info().misses == before
    # A risky word anywhere (here in a value) is looked at, once per repository and process.
    git(practice / CLIENT, "config", "ipt-notes-test.note", "filter")
    for _ in range(2):
        code, _, err = cli(practice, "validate", monkeypatch=monkeypatch)
        assert code == 0, err
    assert _listed_policy.cache_info().misses == before + 1


def test_the_tool_s_own_settings_and_backup_remote_need_no_second_look(_shared: Path) -> None:
    for repo in (CLIENT, CLOSED, "clients/C-0002"):
        config = (_shared / repo / ".git" / "config").read_bytes()
        assert b'[remote "backup"]' in config
        assert not may_name_programs(config), repo


# --- the policy, from a listing -------------------------------------------------------------------


def entries(*lines: str) -> list[Entry]:
    """Entries from `scope key=value` lines."""
    found = []
    for line in lines:
        scope, _, item = line.partition(" ")
        key, _, value = item.partition("=")
        found.append(Entry(scope, f"/{scope}/config" if scope != "command" else "", key, value))
    return found


def test_a_listing_is_read_as_git_writes_it(tmp_path: Path) -> None:
    raw = (
        b"global\0file:/home/u/.gitconfig\0credential.helper\nstore\0"
        b"local\0file:.git/../extra.cfg\0core.bare\0"
        b"command\0command line:\0filter.Evil.clean\n\0"
    )
    assert parse_listing(raw, tmp_path) == [
        Entry("global", "/home/u/.gitconfig", "credential.helper", "store"),
        Entry("local", str(tmp_path / "extra.cfg"), "core.bare", None),
        Entry("command", "", "filter.Evil.clean", ""),
    ]
    listed = parse_listing(raw, tmp_path)
    assert [(entry.section, entry.subsection, entry.name) for entry in listed] == [
        ("credential", None, "helper"),
        ("core", None, "bare"),
        ("filter", "Evil", "clean"),
    ]


def test_credential_helpers_are_emptied_then_the_user_s_own_put_back_in_order() -> None:
    rules = policy(
        entries(
            "system credential.helper=cache",
            "global credential.https://git.clinic.example.helper=manager",
            "local credential.helper=/strangers/helper",
        ),
        {},
    )
    assert rules.config == (
        "credential.helper=",
        "credential.helper=cache",
        "credential.https://git.clinic.example.helper=manager",
    )
    assert policy(entries("global credential.helper=store", "local credential.helper=store"), {}).config == ()


def test_the_user_s_own_values_and_environment_win_over_the_repository_s() -> None:
    local = "local core.sshcommand=/strangers/ssh"
    assert policy(entries("global core.sshcommand=ssh -4", local), {}).config == ("core.sshCommand=ssh -4",)
    assert policy(entries(local), {}).config == ("core.sshCommand=ssh",)
    assert policy(entries(local), {"GIT_SSH": "/usr/bin/my ssh"}).config == ("core.sshCommand='/usr/bin/my ssh'",)
    assert policy(entries(local), {"GIT_SSH_COMMAND": "ssh"}).config == ()
    assert policy(entries(local, "command core.sshcommand=ssh"), {}).config == ()
    askpass = "local core.askpass=/strangers/askpass"
    assert policy(entries(askpass), {"SSH_ASKPASS": "/usr/bin/ksshaskpass"}).config == (
        "core.askPass=/usr/bin/ksshaskpass",
    )


def test_what_git_reads_first_or_from_the_environment_is_overridden_another_way() -> None:
    # git takes the first upload-pack it reads: a user's own comes first and stays.
    local = "local remote.backup.uploadpack=/strangers/upload-pack"
    assert policy(entries(local), {}).upload_pack == {"backup"}
    assert policy(entries("global remote.backup.uploadpack=/opt/git/upload-pack", local), {}).upload_pack == set()
    # git takes the first matching proxy: none at all, unless the user has one.
    proxy = "local core.gitproxy=/strangers/proxy"
    assert policy(entries(proxy), {}).env == (("GIT_PROXY_COMMAND", ""),)
    with_users = policy(entries("global core.gitproxy=corkscrew for example.org", proxy), {})
    assert with_users.env == ()
    assert with_users.network.index("protocol.git.allow=never") > with_users.network.index("protocol.git.allow=always")


def test_protocols_the_repository_allows_are_not_and_the_user_s_own_policy_stays() -> None:
    rules = policy(
        entries(
            "global protocol.ssh.allow=user",
            "global protocol.gcrypt.allow=always",
            "local protocol.foo.allow=always",
            "local protocol.allow=always",
        ),
        {},
    )
    assert rules.network == (
        "protocol.allow=never",
        "protocol.file.allow=always",
        "protocol.git.allow=always",
        "protocol.ssh.allow=user",
        "protocol.http.allow=always",
        "protocol.https.allow=always",
        "protocol.foo.allow=never",
        "protocol.ext.allow=never",
        "fetch.recurseSubmodules=false",
        "push.recurseSubmodules=no",
    )


def test_refused_settings_are_named_with_their_file_unless_the_user_has_the_same() -> None:
    rules = policy(
        entries(
            "global gpg.program=gpg2",
            "local gpg.program=gpg2",
            "local core.hookspath=.githooks",
            "local includeif.gitdir:~/work/.path=../work.cfg",
            "local gpg.x509.program=/strangers/gpgsm",
        ),
        {},
    )
    assert [(refused.key, refused.origin) for refused in rules.refused] == [
        ("core.hooksPath", "/local/config"),
        ("includeIf.gitdir:~/work/.path", "/local/config"),
        ("gpg.x509.program", "/local/config"),
    ]
    removal = rules.refused[1].removal(Path("/p/clients/C-0042"), [Path("/local/config")])
    assert removal == "git -C /p/clients/C-0042 config --local --unset-all 'includeIf.gitdir:~/work/.path'"
