"""A repository's own git config, read as untrusted input: what it could make git run, and the
overrides that stop it.

A client's repository may be a copy of someone else's (a supervisor checks a record, a course is
handed over), and git reads its `.git/config` on every call. Some settings there name programs
that git then runs: a file-system monitor, clean and smudge filters, credential helpers, an ssh
command, a signing program, hooks, remote helpers. No ipt-notes command may run them, read-only
ones above all. This module decides, from `git config --list --show-scope --show-origin`, which
settings come from the repository itself (local and worktree scopes) rather than from the user
(system, global, command line), and for each such setting whether git is told to ignore it
(`-c key=value` with the user's own value or git's default) or the command is refused.

Refused, because overriding them would silently bypass the clinician's own setup, or because git
offers no override: `core.hooksPath`, `core.worktree` (which would make git read and write another
folder as the client's), `gpg.program` and `gpg.<format>.program`,
`gpg.ssh.defaultKeyCommand`, and `include.path` / `includeIf.<condition>.path`. Each is allowed
when the user's own config gives the same value.

It runs nothing: `ipt_notes.git` lists the config and applies the result.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALWAYS",
    "NETWORK",
    "Entry",
    "Policy",
    "Refused",
    "may_name_programs",
    "parse_listing",
    "policy",
]

USER_SCOPES = frozenset({"system", "global", "command"})
"""Where the user's own settings come from; anything else (local, worktree) is the repository's."""

SAFE_PROTOCOLS = ("file", "git", "ssh", "http", "https")
"""The transports git itself calls safe; every other one runs a remote helper (`git remote-<name>`,
which a repository's alias can name, or `ext::`, whose URL is a command line)."""

ALWAYS = ("core.fsmonitor=false", "submodule.recurse=false")
"""Passed to every git call: a monitor named anywhere never runs, and no call goes into a
submodule, whose own config this module has not read."""

_TOKENS = (
    b"hookspath",
    b"worktree",
    b"sshcommand",
    b"askpass",
    b"gitproxy",
    b"credential",
    b"filter",
    b"command",
    b"program",
    b"uploadpack",
    b"receivepack",
    b"protocol",
    b"include",
    b"alias",
)
"""Words that appear, in any case, in a config that sets anything this module acts on (in the key:
`alternateRefsCommand`, `defaultKeyCommand`, `includeIf`...). `core.fsmonitor` is overridden on
every call whatever the config says; what a diff driver, a merge driver, a pager or an editor
names is never run by the calls ipt-notes makes (no content diff, no real merge, no terminal, a
message always given)."""

_DISPLAY = {
    "hookspath": "hooksPath",
    "worktree": "worktree",
    "sshcommand": "sshCommand",
    "askpass": "askPass",
    "gitproxy": "gitProxy",
    "alternaterefscommand": "alternateRefsCommand",
    "defaultkeycommand": "defaultKeyCommand",
    "includeif": "includeIf",
}
# git's own for-each-ref over the alternate, as git runs it when no command is set; "#" ends the
# line before the path git appends.
_DEFAULT_ALTERNATE_REFS = 'git --git-dir="$1" for-each-ref --format="%(objectname)" #'


def may_name_programs(raw: bytes) -> bool:
    """Whether a repository's config bytes could set anything that needs a closer look.

    A cheap test on the raw bytes, in which a value can match as well as a key: a match only
    costs one `git config --list`, while no match proves there is nothing to override or refuse.
    """
    lowered = raw.lower()
    return any(token in lowered for token in _TOKENS)


@dataclass(frozen=True)
class Entry:
    """One line of `git config --list -z --show-scope --show-origin`."""

    scope: str
    origin: str
    """The file it was read from (absolute), or "" for the command line."""
    key: str
    """As git spells it: section and name in lower case, the subsection as written."""
    value: str | None
    """None for a key given without `=`, which git reads as true."""

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]

    @property
    def subsection(self) -> str | None:
        middle, dot, _ = self.key.partition(".")[2].rpartition(".")
        return middle if dot else None

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def from_user(self) -> bool:
        return self.scope in USER_SCOPES


def parse_listing(raw: bytes, cwd: Path) -> list[Entry]:
    """The entries of `git config --list -z --show-scope --show-origin`, in git's order.

    Each entry is `scope NUL origin NUL key LF value NUL` (`key NUL` when it has no value).
    """
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    entries = []
    for at in range(0, len(fields) - 2, 3):
        scope, origin, item = fields[at : at + 3]
        key, newline, value = item.partition("\n")
        if origin.startswith("file:"):
            origin = os.path.normpath(cwd / origin.removeprefix("file:"))
        elif origin.startswith("command line:"):
            origin = ""
        entries.append(Entry(scope, origin, key, value if newline else None))
    return entries


@dataclass(frozen=True)
class Refused:
    """A setting of the repository's own config that ipt-notes neither overrides nor runs."""

    key: str
    """As the message shows it (`core.hooksPath`)."""
    origin: str
    scope: str

    def removal(self, work_tree: Path, config_files: Sequence[Path]) -> str:
        """How to remove it: a git command for the repository's own config files, else the file."""
        if self.origin and self.origin not in {os.path.normpath(path) for path in config_files}:
            return f"remove {self.key} from {self.origin}"
        where = "--worktree" if self.scope == "worktree" else "--local"
        return f"git -C {shlex.quote(str(work_tree))} config {where} --unset-all {shlex.quote(self.key)}"


@dataclass(frozen=True)
class Policy:
    """How git is called in one repository: the overrides, and what refuses every call."""

    config: tuple[str, ...] = ()
    """`key=value` for `-c`, on every call."""
    network: tuple[str, ...] = ()
    """`key=value` for `-c`, on calls that talk to another repository."""
    env: tuple[tuple[str, str], ...] = ()
    upload_pack: frozenset[str] = frozenset()
    """Remotes whose upload-pack program the repository sets: git takes the first such setting
    it reads, not the last, so `-c` cannot override it and `--upload-pack` is given instead."""
    receive_pack: frozenset[str] = frozenset()
    refused: tuple[Refused, ...] = field(default=())


def _display(key: str) -> str:
    section, _, rest = key.partition(".")
    middle, dot, name = rest.rpartition(".")
    shown = [_DISPLAY.get(section, section), *([middle] if dot else []), _DISPLAY.get(name, name)]
    return ".".join(shown)


class _Config:
    """The entries of one listing, by key, with the user's and the repository's told apart."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.by_key: dict[str, list[Entry]] = {}
        for entry in entries:
            self.by_key.setdefault(entry.key, []).append(entry)

    def repository_keys(self) -> list[str]:
        return [key for key, entries in self.by_key.items() if any(not e.from_user for e in entries)]

    def users(self, key: str) -> list[Entry]:
        return [entry for entry in self.by_key.get(key, []) if entry.from_user]

    def user_value(self, key: str) -> str | None:
        users = self.users(key)
        return users[-1].value if users else None

    def last_wins_unsafe(self, key: str) -> bool:
        """For a key whose last value counts: the repository's value is in effect, and the user's
        own config would give another."""
        entries = self.by_key.get(key, [])
        if not entries or entries[-1].from_user:
            return False
        users = self.users(key)
        return not users or users[-1].value != entries[-1].value

    def any_unsafe(self, key: str) -> bool:
        """For a key whose every value counts: the repository adds a value the user's config lacks."""
        theirs = {entry.value for entry in self.users(key)}
        return any(entry.value not in theirs for entry in self.by_key.get(key, []) if not entry.from_user)

    def first_wins_unsafe(self, key: str) -> bool:
        """For a key whose first value counts (system and global are read before the repository's)."""
        entries = self.by_key.get(key, [])
        return bool(entries) and entries[0].scope not in ("system", "global")

    def origins(self, key: str) -> list[Entry]:
        seen: dict[tuple[str, str], Entry] = {}
        for entry in self.by_key.get(key, []):
            if not entry.from_user:
                seen.setdefault((entry.origin, entry.scope), entry)
        return list(seen.values())


def _refused(config: _Config, key: str) -> list[Refused]:
    """The repository's entries of `key` if it is one that is refused, not overridden."""
    sample = config.by_key[key][0]
    section, subsection, name = sample.section, sample.subsection, sample.name
    if (section, subsection, name) in (("core", None, "hookspath"), ("core", None, "worktree")) or (
        section == "gpg" and (name == "program" or (subsection, name) == ("ssh", "defaultkeycommand"))
    ):
        unsafe = config.last_wins_unsafe(key)
    elif (section, subsection, name) == ("include", None, "path") or (
        section == "includeif" and subsection is not None and name == "path"
    ):
        unsafe = config.any_unsafe(key)
    else:
        return []
    return [Refused(_display(key), entry.origin, entry.scope) for entry in config.origins(key)] if unsafe else []


@dataclass
class _Overrides:
    config: list[str] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    upload_pack: set[str] = field(default_factory=set)
    receive_pack: set[str] = field(default_factory=set)
    protocols: set[str] = field(default_factory=set)
    """Protocols the repository allows itself: each is allowed only as the user allows it."""
    block_git: bool = False
    helpers: bool = False
    filters: set[str] = field(default_factory=set)


def _override(config: _Config, key: str, environ: Mapping[str, str], found: _Overrides) -> None:
    """Record how git is kept from the program the repository's `key` names, if it names one."""
    sample = config.by_key[key][0]
    section, subsection, name = sample.section, sample.subsection, sample.name
    if section == "core" and subsection is None:
        if name == "sshcommand" and config.last_wins_unsafe(key) and "GIT_SSH_COMMAND" not in environ:
            default = shlex.quote(environ["GIT_SSH"]) if environ.get("GIT_SSH") else "ssh"
            found.config.append(f"core.sshCommand={config.user_value(key) or default}")
        elif name == "askpass" and config.last_wins_unsafe(key) and "GIT_ASKPASS" not in environ:
            # An empty value is no program; SSH_ASKPASS is what git would fall back to.
            found.config.append(f"core.askPass={config.user_value(key) or environ.get('SSH_ASKPASS', '')}")
        elif name == "gitproxy" and config.any_unsafe(key) and "GIT_PROXY_COMMAND" not in environ:
            # git takes the first matching entry, so `-c` cannot override one; an empty
            # GIT_PROXY_COMMAND (no proxy) can, when the user has none of their own.
            if config.users(key):
                found.block_git = True
            else:
                found.env.append(("GIT_PROXY_COMMAND", ""))
        elif name == "alternaterefscommand" and config.last_wins_unsafe(key):
            found.config.append(f"core.alternateRefsCommand={config.user_value(key) or _DEFAULT_ALTERNATE_REFS}")
    elif section == "credential" and name == "helper":
        found.helpers = found.helpers or config.any_unsafe(key)
    elif section == "filter" and subsection is not None and name in ("clean", "smudge", "process"):
        if config.last_wins_unsafe(key):
            found.filters.add(subsection)
    elif section == "remote" and subsection is not None and name in ("uploadpack", "receivepack"):
        if config.first_wins_unsafe(key):
            (found.upload_pack if name == "uploadpack" else found.receive_pack).add(subsection)
    elif section == "protocol" and subsection is not None and name == "allow":
        if config.last_wins_unsafe(key):
            found.protocols.add(subsection)
    elif section == "alias" and name.startswith(("remote-", "credential-")) and config.last_wins_unsafe(key):
        # git runs `git remote-<helper>` and `git credential-<helper>`, which an alias can name;
        # git refuses an empty alias.
        found.config.append(f"alias.{name}={config.user_value(key) or ''}")


def _network(config: _Config, found: _Overrides) -> tuple[str, ...]:
    """The protocol settings of a call that talks to another repository.

    Only the transports git calls safe are allowed (as the user allows them); every other one
    runs a remote helper, allowed only where the user's own config names it, and never `ext::`,
    whose URL (the repository's) is a command line. No call goes into a submodule.
    """
    network = ["protocol.allow=never"]
    network += [
        f"protocol.{name}.allow={config.user_value(f'protocol.{name}.allow') or 'always'}" for name in SAFE_PROTOCOLS
    ]
    network += [
        f"protocol.{name}.allow={config.user_value(f'protocol.{name}.allow') or 'never'}"
        for name in sorted(found.protocols - set(SAFE_PROTOCOLS))
    ]
    if found.block_git:
        network.append("protocol.git.allow=never")
    return (*network, "protocol.ext.allow=never", "fetch.recurseSubmodules=false", "push.recurseSubmodules=no")


NETWORK = _network(_Config([]), _Overrides())
"""Passed to every call that talks to another repository when its config has not been listed."""


def policy(entries: Sequence[Entry], environ: Mapping[str, str]) -> Policy:
    """The overrides and refusals for a repository whose config lists as `entries`.

    `environ` is the environment git will run in: a variable such as GIT_SSH_COMMAND already
    outranks the config, so the setting it outranks needs no override.
    """
    config = _Config(entries)
    found = _Overrides()
    refused: list[Refused] = []
    for key in config.repository_keys():
        refusals = _refused(config, key)
        if refusals:
            refused += refusals
        else:
            _override(config, key, environ, found)
    if found.helpers:
        # An empty helper empties the list; then the user's own helpers, in their order.
        found.config.append("credential.helper=")
        found.config += [
            f"{entry.key}={entry.value or ''}"
            for entry in entries
            if entry.from_user and entry.section == "credential" and entry.name == "helper"
        ]
    for driver in sorted(found.filters):
        # An empty command runs nothing (git 2.39: the file passes unfiltered), and a filter
        # marked required would then fail: both are the user's own values, or none.
        for name in ("clean", "smudge", "process"):
            found.config.append(f"filter.{driver}.{name}={config.user_value(f'filter.{driver}.{name}') or ''}")
        found.config.append(f"filter.{driver}.required={config.user_value(f'filter.{driver}.required') or 'false'}")
    return Policy(
        config=tuple(found.config),
        network=_network(config, found),
        env=tuple(found.env),
        upload_pack=frozenset(found.upload_pack),
        receive_pack=frozenset(found.receive_pack),
        refused=tuple(refused),
    )
