"""`ipt-notes sign` and `cosign` on real client repositories: locking a note, and keeping it locked.

Each client is a git repository of its own; a note is named relative to the current folder, from
the practice, from inside the client's folder, or in a clone of the client's repository alone.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ipt_notes.signing import content_hash
from tests.conftest import NOTE, later
from tests.helpers import (
    CANARY,
    IDENTITY,
    README,
    cli,
    commits,
    complete_initial,
    enable_ssh_signing,
    fields,
    git,
    head,
    mode,
    resign,
    script,
)

CLIENT = "clients/C-0042"
SUPERVISOR = "S-01 <s01@clinic.example>"


def line_of(path: Path, prefix: str) -> int:
    """The 1-based number of the first line of `path` that starts with `prefix` (after indentation)."""
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.lstrip().startswith(prefix))


def readme_recipe() -> str:
    """The shell command the README gives to recompute a content hash, for a note named by $1."""
    recipes: list[str] = re.findall(r"```(?:sh|bash|shell)\n(awk [^\n]*sha256sum)\n```", README.read_text())
    assert len(recipes) == 1, "the README gives one awk | sha256sum recipe for the content hash"
    assert "NOTE.md" in recipes[0]
    return recipes[0].replace("NOTE.md", '"$1"')


def name_supervisor(practice: Path) -> None:
    """Name a supervisor in C-0042's contract and commit it, as the clinician would."""
    contract = practice / CLIENT / "client.yaml"
    contract.write_text(contract.read_text() + f"supervisor: {SUPERVISOR}\n")
    git(practice / CLIENT, "commit", "-q", "--no-verify", "-am", "supervisor named")


def act_as_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in (("NAME", "S-01"), ("EMAIL", "s01@clinic.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)


def second_client(practice: Path) -> Path:
    """C-0043, a second client with its first note written and committed, as the library makes it."""
    from ipt_notes.commands.new_client import new_client
    from ipt_notes.commands.new_session import new_session

    new_client(practice, "C-0043", start_date="2026-01-05")
    note = new_session(practice, "C-0043", date="2026-01-05")
    complete_initial(note)
    git(note.parent.parent, "commit", "-q", "--no-verify", "-am", "session 1 written")
    return note


def test_sign_locks_the_note_with_a_hash_the_readme_recipe_recomputes(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (0, NOTE + "\n"), err
    path = practice / NOTE
    data = fields(path)
    assert data["status"] == "signed"
    assert data["signed_by"] == IDENTITY
    assert str(data["signed_at"]).endswith("Z")
    recomputed = subprocess.run(
        ["bash", "-c", readme_recipe(), "-", str(path)], capture_output=True, text=True, check=True
    )
    assert data["content_hash"] == "sha256:" + recomputed.stdout.split()[0] == content_hash(path.read_bytes())
    assert commits(repo)[:2] == ["sign C-0042 1", "session 1 written"]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/01.md"]
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "variant",
    ["crlf, and a body line that starts like the hash", "a closing fence with spaces", "no line end at the end"],
)
def test_the_readme_recipe_agrees_with_the_hash_on_every_note_sign_writes(
    practice: Path, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    raw = note.read_bytes()
    if variant.startswith("crlf"):
        raw = (raw + b"content_hash: in the body\n").replace(b"\n", b"\r\n")
    elif variant.startswith("a closing fence"):
        raw = raw.replace(b"\n---\n", b"\n---  \n", 1)
    else:
        raw = raw.rstrip(b"\n")
    note.write_bytes(raw)
    git(practice / CLIENT, "commit", "-q", "--no-verify", "-am", "by hand")
    code, _, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert code == 0, err
    recomputed = subprocess.run(
        ["bash", "-c", readme_recipe(), "-", str(note)], capture_output=True, text=True, check=True
    )
    assert fields(note)["content_hash"] == "sha256:" + recomputed.stdout.split()[0] == content_hash(note.read_bytes())


def test_sign_refuses_an_incomplete_note_at_its_lines_and_changes_nothing(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    note = practice / NOTE
    note.write_text(note.read_text().replace("suicidal_ideation: none", "suicidal_ideation: null"))
    git(repo, "commit", "-q", "--no-verify", "-am", "unanswered")
    before = note.read_bytes()
    code, out, err = cli(repo, "sign", "sessions/01.md", monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    line = line_of(note, "suicidal_ideation")
    assert f"sessions/01.md:{line}:22: error [schema-enum] must be one of: none, passive, active" in err
    assert "nothing was signed" in err
    assert note.read_bytes() == before
    assert commits(repo)[0] == "unanswered"
    assert git(repo, "status", "--porcelain") == ""


def test_signing_twice_is_refused(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    before, tip = (signed_practice / NOTE).read_bytes(), head(repo)
    code, out, err = cli(signed_practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "C-0042 1 is already signed" in err
    assert "ipt-notes amend" in err
    assert (signed_practice / NOTE).read_bytes() == before
    assert head(repo) == tip


def test_only_notes_are_signed(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = practice / CLIENT
    tip = head(repo)
    not_a_note = "is not a session note, an addendum or a review of a client"
    expected = {
        f"{CLIENT}/client.yaml": not_a_note,
        f"{CLIENT}/course-settings.yaml": not_a_note,
        "ipt-notes.yaml": not_a_note,
        "nowhere.md": "no such note: nowhere.md",
        f"{CLIENT}/sessions/02.md": f"no such note: {CLIENT}/sessions/02.md",
    }
    answers = {}
    for target, message in expected.items():
        code, out, err = cli(practice, "sign", target, monkeypatch=monkeypatch)
        answers[target] = (code, out, message if message in err else err)
    assert answers == {target: (2, "", message) for target, message in expected.items()}
    assert head(repo) == tip
    assert git(repo, "status", "--porcelain") == ""


def test_several_notes_of_one_client_are_signed_in_one_commit_from_inside_its_folder(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    assert cli(repo, "new-session", "--date", later(1), monkeypatch=monkeypatch)[0] == 0  # yesterday
    complete_initial(repo / "sessions/02.md")
    git(repo, "commit", "-q", "--no-verify", "-am", "session 2 written")
    code, out, err = cli(repo, "sign", "sessions/01.md", "sessions/02.md", monkeypatch=monkeypatch)
    assert (code, out) == (0, "sessions/01.md\nsessions/02.md\n"), err
    assert commits(repo)[:2] == ["sign C-0042 1, C-0042 2", "session 2 written"]
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == ["sessions/01.md", "sessions/02.md"]
    assert fields(repo / "sessions/01.md")["status"] == fields(repo / "sessions/02.md")["status"] == "signed"


def test_notes_of_two_clients_are_signed_in_one_commit_in_each_repository(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = second_client(practice)
    other_repo = other.parent.parent
    others = "clients/C-0043/sessions/01.md"
    code, out, err = cli(practice, "sign", NOTE, others, monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{NOTE}\n{others}\n"), err
    assert commits(practice / CLIENT)[:2] == ["sign C-0042 1", "session 1 written"]
    assert commits(other_repo)[:2] == ["sign C-0043 1", "session 1 written"]
    assert git(other_repo, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/01.md"]
    assert fields(practice / NOTE)["status"] == fields(other)["status"] == "signed"
    for repo in (practice / CLIENT, other_repo):
        assert git(repo, "status", "--porcelain") == ""


def test_a_refused_note_of_one_client_leaves_the_other_clients_notes_unsigned(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal changes nothing: not even the notes of another client named in the same call."""
    repo = practice / CLIENT
    closed = "clients/C-0001/sessions/16.md"
    before, tip = (practice / NOTE).read_bytes(), head(repo)
    closed_tip = head(practice / "clients/C-0001")
    code, out, err = cli(practice, "sign", NOTE, closed, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "C-0001 16 is already signed" in err
    assert (practice / NOTE).read_bytes() == before
    assert head(repo) == tip
    assert git(repo, "status", "--porcelain") == ""
    assert head(practice / "clients/C-0001") == closed_tip


def test_sign_in_a_clone_outside_any_practice_commits_to_the_clone(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(practice / CLIENT), str(clone))
    git(clone, "config", "user.name", "T-01")
    git(clone, "config", "user.email", "t01@clinic.example")
    tip = head(practice / CLIENT)
    signed = script("sign", "sessions/01.md", cwd=clone)
    assert (signed.returncode, signed.stdout) == (0, "sessions/01.md\n"), signed.stderr
    assert commits(clone)[:2] == ["sign C-0042 1", "session 1 written"]
    assert fields(clone / "sessions/01.md")["signed_by"] == IDENTITY
    assert git(clone, "status", "--porcelain") == ""
    assert head(practice / CLIENT) == tip
    assert fields(practice / NOTE)["status"] == "draft"


def test_sign_without_an_author_identity_exits_3_and_changes_nothing(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    repo = practice / CLIENT
    before, tip = (practice / NOTE).read_bytes(), head(repo)
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "no author identity" in err
    assert (practice / NOTE).read_bytes() == before
    assert head(repo) == tip


def test_a_signed_note_that_changes_is_reported_and_the_hook_refuses_it(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    note = repo / "sessions/01.md"
    note.write_text(note.read_text() + "One more line, added later.\n")
    code, out, _ = cli(repo, "validate", "sessions/01.md", monkeypatch=monkeypatch)
    assert code == 1
    assert out.startswith(f"sessions/01.md:{line_of(note, 'content_hash')}:15: error [signed-note-changed]")
    committed = subprocess.run(["git", "commit", "-qam", "edit"], cwd=repo, capture_output=True, text=True)
    assert committed.returncode != 0
    assert "signed-note-changed" in committed.stdout + committed.stderr
    assert commits(repo)[0] == "amend C-0042 1"
    git(repo, "commit", "-q", "--no-verify", "-am", "edit, hook skipped")
    code, out, _ = cli(signed_practice, "validate", monkeypatch=monkeypatch)
    assert code == 1
    assert f"{NOTE}:" in out
    assert "[signed-note-changed]" in out


def test_a_signed_note_edited_with_its_hash_recomputed_is_caught_against_head(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    note = signed_practice / NOTE
    note.write_bytes(resign(note.read_bytes().replace(b"techniques: [psychoeducation]", b"techniques: [role_play]")))
    assert content_hash(note.read_bytes()).encode() in note.read_bytes()
    code, out, _ = cli(signed_practice, "validate", NOTE, monkeypatch=monkeypatch)
    assert code == 1
    assert out.startswith(
        f"{NOTE}:{line_of(note, 'status')}:9: error [signed-note-changed] this note was signed at HEAD and differs"
    )
    git(repo, "add", "sessions/01.md")
    code, out, _ = cli(repo, "validate", "--staged", monkeypatch=monkeypatch)
    assert code == 1
    assert "[signed-note-changed]" in out
    committed = subprocess.run(["git", "commit", "-qm", "edit"], cwd=repo, capture_output=True, text=True)
    assert committed.returncode != 0
    assert commits(repo)[0] == "amend C-0042 1"


def test_a_note_signed_outside_ipt_notes_with_a_wrong_hash_is_reported(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    note.write_text(
        note.read_text().replace(
            "status: draft",
            f'status: signed\nsigned_by: "{IDENTITY}"\nsigned_at: 2026-01-05T18:00:00Z\n'
            "content_hash: sha256:" + "0" * 64,
        )
    )
    code, out, _ = cli(practice, "validate", "--schema-only", NOTE, monkeypatch=monkeypatch)
    assert code == 1
    assert f"{NOTE}:{line_of(note, 'content_hash')}:15: error [signed-note-changed]" in out


def test_supervised_notes_await_cosignature_and_the_supervisor_cosigns(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole course of a supervised note; no output and no commit message carries its content."""
    repo = practice / CLIENT
    note = practice / NOTE
    assert CANARY in note.read_text()  # the fixture's homework
    note.write_text(note.read_text() + CANARY + "\n")
    name_supervisor(practice)
    outputs = [cli(practice, "sign", NOTE, monkeypatch=monkeypatch)]
    code, out, err = outputs[-1]
    assert (code, out) == (0, NOTE + "\n"), err
    assert f"{NOTE} awaits co-signature" in err
    outputs.append(cli(practice, "validate", NOTE, monkeypatch=monkeypatch))
    assert "warning [cosign-pending]" in outputs[-1][1]
    signing = head(repo)
    outputs.append(cli(repo, "cosign", "sessions/01.md", monkeypatch=monkeypatch))
    code, out, err = outputs[-1]
    assert (code, out) == (2, "")
    assert "only the supervisor" in err
    assert head(repo) == signing
    act_as_supervisor(monkeypatch)
    signed = note.read_bytes()
    outputs.append(cli(repo, "cosign", "sessions/01.md", monkeypatch=monkeypatch))
    code, out, err = outputs[-1]
    assert (code, out) == (0, "sessions/01.cosignature.yaml\n"), err
    # The note is untouched; the co-signature is a file of its own that names it and its hash.
    assert note.read_bytes() == signed
    cosignature = repo / "sessions" / "01.cosignature.yaml"
    assert fields(cosignature) == {
        "client": "C-0042",
        "note": "sessions/01.md",
        "content_hash": content_hash(signed),
        "cosigned_by": SUPERVISOR,
        "cosigned_at": fields(cosignature)["cosigned_at"],
    }
    assert str(fields(cosignature)["cosigned_at"]).endswith("Z")
    assert mode(cosignature) == 0o600
    assert git(repo, "log", "-1", "--format=%s|%an") == "cosign C-0042 1|S-01\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/01.cosignature.yaml"]
    outputs.append(cli(practice, "validate", CLIENT, monkeypatch=monkeypatch))
    assert outputs[-1][:2] == (0, "")
    outputs.append(cli(practice, "verify", "C-0042", monkeypatch=monkeypatch))
    assert outputs[-1][0] == 0, outputs[-1]
    outputs.append(cli(practice, "cosign", NOTE, monkeypatch=monkeypatch))
    code, out, err = outputs[-1]
    assert (code, out) == (2, "")
    assert "already co-signed" in err
    outputs.append(cli(practice, "sign", NOTE, monkeypatch=monkeypatch))
    assert outputs[-1][0] == 2
    note.write_text(note.read_text() + CANARY + "\n")
    outputs.append(cli(practice, "validate", NOTE, monkeypatch=monkeypatch))
    assert outputs[-1][0] == 1
    for _, out, err in outputs:
        assert CANARY not in out + err
    assert CANARY not in git(repo, "log", "--format=%B")


def test_cosign_refuses_a_draft_a_client_without_supervisor_and_a_changed_note(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = tmp_path / "draft"
    git(tmp_path, "clone", "-q", str(signed_practice / CLIENT), str(draft))
    git(draft, "reset", "-q", "--hard", "HEAD~2")
    code, out, err = cli(draft, "cosign", "sessions/01.md", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "not signed yet" in err
    repo = signed_practice / CLIENT
    tip = head(repo)
    code, out, err = cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "names no supervisor" in err
    name_supervisor(signed_practice)
    act_as_supervisor(monkeypatch)
    note = signed_practice / NOTE
    changed = note.read_bytes() + b"changed\n"
    note.write_bytes(changed)
    code, out, err = cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "changed after signing" in err
    assert note.read_bytes() == changed
    assert commits(repo)[:2] == ["supervisor named", "amend C-0042 1"]
    assert git(repo, "rev-parse", "HEAD~1").strip() == tip


def test_the_supervisor_cosigns_in_a_clone_of_the_client(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    name_supervisor(signed_practice)
    tip = head(repo)
    clone = tmp_path / "supervisor"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    act_as_supervisor(monkeypatch)
    code, out, err = cli(clone / "sessions", "cosign", "01.md", monkeypatch=monkeypatch)
    assert (code, out) == (0, "01.cosignature.yaml\n"), err
    assert git(clone, "log", "-1", "--format=%s|%an") == "cosign C-0042 1|S-01\n"
    assert fields(clone / "sessions/01.cosignature.yaml")["cosigned_by"] == SUPERVISOR
    assert head(repo) == tip
    assert not (repo / "sessions/01.cosignature.yaml").exists()


def test_a_cosignature_by_anyone_but_the_supervisor_is_found(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clinician writes the supervisor's co-signature by hand and commits it past the hook.
    repo = signed_practice / CLIENT
    name_supervisor(signed_practice)
    note = (signed_practice / NOTE).read_bytes()
    forged = repo / "sessions" / "01.cosignature.yaml"
    forged.write_text(
        f"client: C-0042\nnote: sessions/01.md\ncontent_hash: {content_hash(note)}\n"
        f'cosigned_by: "{SUPERVISOR}"\ncosigned_at: 2026-01-06T10:00:00Z\n'
    )
    git(repo, "add", "sessions/01.cosignature.yaml")
    hook = subprocess.run(["git", "commit", "-qm", "cosign C-0042 1"], cwd=repo, capture_output=True, text=True)
    assert hook.returncode != 0
    assert "sessions/01.cosignature.yaml:1:1: error [cosignature-author]" in hook.stderr
    git(repo, "commit", "-q", "--no-verify", "-m", "cosign C-0042 1")
    code, out, _ = cli(signed_practice, "validate", CLIENT, monkeypatch=monkeypatch)
    assert code == 0, out  # the file itself is in order
    code, out, _ = cli(signed_practice, "verify", "C-0042", monkeypatch=monkeypatch)
    assert code == 1
    assert (
        f"{CLIENT}/sessions/01.cosignature.yaml:1:1: error [verify-cosignature-author] the co-signature was "
        "committed in commit"
    ) in out
    # Changing a committed co-signature is refused like changing a signed note.
    forged.write_text(forged.read_text().replace("10:00:00Z", "11:00:00Z"))
    code, out, _err = cli(signed_practice, "validate", CLIENT, monkeypatch=monkeypatch)
    assert code == 1
    assert "error [signed-note-changed] this co-signature was committed at HEAD" in out


def test_verify_checks_each_cosignature_whatever_the_course_settings_say(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The supervisor commits a co-signature of another text, with the working-tree rule turned off.
    repo = signed_practice / CLIENT
    name_supervisor(signed_practice)
    settings = repo / "course-settings.yaml"
    settings.write_text(settings.read_text() + "rules:\n  cosignature-matches: false\n")
    (repo / "sessions" / "01.cosignature.yaml").write_text(
        "client: C-0042\nnote: sessions/01.md\ncontent_hash: sha256:" + "0" * 64 + "\n"
        f'cosigned_by: "{SUPERVISOR}"\ncosigned_at: 2026-01-06T10:00:00Z\n'
    )
    act_as_supervisor(monkeypatch)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "cosign C-0042 1")
    code, out, _ = cli(signed_practice, "verify", "C-0042", monkeypatch=monkeypatch)
    assert code == 1
    assert "[verify-cosignature] the co-signature added in commit" in out
    assert "[verify-cosignature-author]" not in out


def test_the_clinician_cannot_be_their_own_supervisor(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = practice / CLIENT / "client.yaml"
    contract.write_text(contract.read_text() + f'clinician: "{IDENTITY}"\nsupervisor: "Someone <T01@Clinic.example>"\n')
    code, out, _ = cli(practice, "validate", CLIENT, monkeypatch=monkeypatch)
    assert code == 1
    assert "error [cosignature-matches] the supervisor is the clinician" in out


def test_signing_commits_are_signed_when_git_is_set_to_sign(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    enable_ssh_signing(repo, tmp_path)
    assert cli(practice, "sign", NOTE, monkeypatch=monkeypatch)[0] == 0
    assert git(repo, "log", "-1", "--format=%G? %s") == "G sign C-0042 1\n"
