#!/usr/bin/env python3
"""Write a synthetic practice, one git repository per client, for benchmarking ipt-notes.

    python benchmarks/make_corpus.py OUT_DIR [--clients 500] [--seed 1] [--sessions 16] [--git]
        [--jobs 2] [--front-matter-dir DIR]

OUT_DIR becomes a practice folder as `ipt-notes init` leaves it (`ipt-notes.yaml`, `.gitignore`,
`clients/`), and each client `C-0001`, `C-0002`, ... a folder as `ipt-notes new-client` starts it
and a finished course leaves it:

    clients/<ID>/.gitignore, .gitattributes  what new-client writes into every client repository
    clients/<ID>/course-settings.yaml  the course settings in effect: the practice's, as new-client records them
    clients/<ID>/client.yaml          intake and treatment contract
    clients/<ID>/inventory.yaml       interpersonal inventory and life-event timeline
    clients/<ID>/formulation.md       the agreed formulation
    clients/<ID>/sessions/01.md..16.md  one note per session: 1-3 initial, 4-13 middle, 14-16 termination
    clients/<ID>/sessions/NN.addendum-1.md  for about one client in ten, an addendum to a signed note
    clients/<ID>/review.md            the end-of-therapy review

The course looks like a real finished one: most notes are signed, a few are drafts, a few
sessions were cancelled or missed, PHQ-9 and GAD-7 item scores fall over the course, and a few
sessions record a positive risk screen with the full risk block (and a safety plan when the level
is moderate or high). Each session note is 2-5 KB: front matter plus a Markdown body written from
word lists. People are labels ("P", "M", "W"), never names. The same seed always gives the same
files, and each client depends only on the seed and its number. With --sessions N above 16, every
client's course goes on in maintenance after its 16 planned sessions, up to session N (999 at
most), and is supervised and still open: that makes a long history, one addendum per 25 notes.

With --git, each client folder is also a git repository of its own, with the history ipt-notes
would have made of the course, one commit per step (see `client_steps`): `new-client`, then for
every session note `new-session` (the draft) and `sign` (the note as written here), `cosign`
(its co-signature file) when a supervisor co-signed it, `amend` and `sign` for each addendum
(linked to the commit that signed its note), and the review, drafted by hand and signed. The
history is written by `git fast-import` (once, or once more before each addendum, which must name
a commit already made), the repository gets the git settings and the pre-commit hook of
`ipt-notes new-client` (`ipt_notes.client_repository.configure`, so the hook runs this
interpreter), and `git reset --hard` makes the work tree match HEAD. Clients are built on --jobs
worker processes (default 2).

With --front-matter-dir DIR, the YAML of every file is also written on its own, grouped by kind
(`DIR/session/C-0001-01.yaml`, `DIR/client/C-0001.yaml`, `DIR/course_settings/C-0001.yaml`, ...),
so that a generic JSON Schema validator such as check-jsonschema can read the same data `ipt-notes
validate` checks. For a Markdown note that is its front matter only.

Every signed file (session note, addendum, review) carries its real content hash, and every
addendum the real hash of the note it amends, as `ipt-notes validate` and `ipt-notes verify`
check them; the hash is computed by ipt-notes itself (`ipt_notes.signing.content_hash`), so it
has one definition. Without --git, an addendum's `amends.commit` is a placeholder: a commit id
only means something in a history. The practice's files, the course settings, the client
repository's files and settings come from ipt-notes too (`init_practice`, `course_settings_text`,
`repository_files`, `configure`). Run it with the interpreter of a virtual environment that has
ipt-notes installed; from a source tree it falls back to the ipt_notes package next to this folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
INITIAL_TASKS: tuple[str, ...] = tuple(
    json.loads((_SCHEMAS / "session.schema.json").read_text())["$defs"]["initial_tasks"]["properties"]
)

try:
    from ipt_notes.signing import content_hash
except ImportError:  # not installed: the source tree this script sits in
    sys.path.append(str(Path(__file__).resolve().parent.parent))
    from ipt_notes.signing import content_hash

__all__ = [
    "KINDS",
    "SESSIONS",
    "CorpusError",
    "client_ids",
    "draft_of",
    "export_front_matter",
    "kind_of",
    "skipped_dir",
    "write_corpus",
]

SESSIONS = 16  # the planned sessions of every course
MAX_SESSIONS = 999  # sessions/NN.md takes two or three digits
INITIAL_LAST = 3  # sessions 1-3 are the initial phase
TERMINATION_FIRST = 14  # sessions 14-16 are termination
NOTE_MIN_BYTES = 2200
NOTE_MAX_BYTES = 4900
LONG_ADDENDUM_EVERY = 25  # in a long course, one addendum per this many signed, attended notes

KINDS = (
    "config",
    "course_settings",
    "client",
    "inventory",
    "formulation",
    "session",
    "addendum",
    "review",
    "cosignature",
)

CONFIG = """\
version: 1
clinician: T-01 <t01@clinic.example>
default_sessions: 16
time_zone: UTC
measures: [phq9, gad7]
phases:
  initial_sessions: 3
  termination_sessions: 3
rules:
  measure-cadence:
    every: 4
  draft-unsigned:
    days: 7
"""
# Every git command of the build runs without the user's or the system's git settings (a global
# core.hooksPath would take the hook elsewhere), and with no GIT_* variable of the caller's.
GIT_ISOLATION = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


class CorpusError(Exception):
    """The corpus cannot be written; the message says why."""


# ---------------------------------------------------------------------------------------------
# A small YAML writer: block mappings, flow lists for short enumerations and scores, and plain
# scalars wherever they read back as the same string under YAML 1.1 and 1.2 alike.
# ---------------------------------------------------------------------------------------------


class Flow(list):  # type: ignore[type-arg]
    """A list written in flow style: [a, b, c]."""


class FlowMap(dict):  # type: ignore[type-arg]
    """A mapping written in flow style: {date: 2026-01-12, ring: 2}."""


_AMBIGUOUS_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""})
_NUMBER_LIKE = re.compile(r"^[-+]?(\.?[0-9]|\.inf|\.nan)", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})?)?$")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")


def _plain_ok(text: str, *, in_flow: bool) -> bool:
    if text.lower() in _AMBIGUOUS_WORDS or text != text.strip() or "\n" in text:
        return False
    if _DATE_LIKE.match(text):
        # Dates and timestamps stay plain, as clinicians write them; ipt-notes and
        # check-jsonschema both read them as strings.
        return True
    if _NUMBER_LIKE.match(text) or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    return not (in_flow and any(c in text for c in ",[]{}"))


def _scalar(value: object, *, in_flow: bool = False) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _plain_ok(text, in_flow=in_flow):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value: object) -> str:
    if isinstance(value, FlowMap):
        return "{" + ", ".join(f"{k}: {_scalar(v, in_flow=True)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v, in_flow=True) for v in value) + "]"
    return _scalar(value)


def _emit(value: object, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict) and not isinstance(value, FlowMap):
        for key, item in value.items():
            if isinstance(item, (Flow, FlowMap)) or not isinstance(item, (dict, list)):
                out.append(f"{pad}{key}: {_flow(item)}")
            elif not item:
                out.append(f"{pad}{key}: {'{}' if isinstance(item, dict) else '[]'}")
            else:
                out.append(f"{pad}{key}:")
                _emit(item, indent + 2, out)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and not isinstance(item, FlowMap) and item:
                inner: list[str] = []
                _emit(item, indent + 2, inner)
                out.append(f"{pad}- {inner[0][indent + 2 :]}")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {_flow(item)}")
    else:
        raise TypeError(f"cannot write {type(value).__name__} at the top of a block")


def to_yaml(data: dict[str, object]) -> str:
    out: list[str] = []
    _emit(data, 0, out)
    return "\n".join(out) + "\n"


def markdown_note(front_matter: dict[str, object], body: str) -> str:
    return f"---\n{to_yaml(front_matter)}---\n{body}"


# ---------------------------------------------------------------------------------------------
# Word lists. Everything a note says is built from these.
# ---------------------------------------------------------------------------------------------

CLINICIANS = [f"T-{n:02d} <t{n:02d}@clinic.example>" for n in range(1, 9)]
SUPERVISORS = ["S-01 <s01@clinic.example>", "S-02 <s02@clinic.example>"]

PEOPLE = [
    ("P", "partner"),
    ("M", "mother"),
    ("F", "father"),
    ("S", "sister"),
    ("B", "brother"),
    ("K1", "eldest child"),
    ("K2", "younger child"),
    ("W", "colleague"),
    ("L", "line manager"),
    ("Fr1", "close friend"),
    ("Fr2", "friend from the old neighbourhood"),
    ("G", "grandmother"),
    ("N", "neighbour"),
    ("X", "former partner"),
    ("A", "aunt"),
    ("Fl", "flatmate"),
]

REFERRALS = [
    "Primary care",
    "Self-referral",
    "Occupational health",
    "Community mental health team",
    "University counselling service",
    "Perinatal team",
    "Hospital liaison team",
]

DIAGNOSES = [
    ("Major depressive disorder, single episode, mild", "F32.0"),
    ("Major depressive disorder, single episode, moderate", "F32.1"),
    ("Major depressive disorder, single episode, severe", "F32.2"),
    ("Recurrent depressive disorder, current episode mild", "F33.0"),
    ("Recurrent depressive disorder, current episode moderate", "F33.1"),
    ("Persistent depressive disorder", "F34.1"),
]

AREA_STORIES = {
    "grief": {
        "problem": "Low mood, poor sleep and loss of interest since the death of {who}",
        "event": "Death of {who} after a short illness.",
        "kind": "death",
        "goals": [
            "Facilitate mourning and talk through the relationship with {who} in full.",
            "Reconnect with people and activities given up since the death.",
            "Hold both the good and the difficult memories of {who}.",
        ],
        "work": [
            "We went over the weeks before the death of {who} in some detail",
            "The patient described the funeral and who had and had not been there",
            "We talked about what the patient misses most about {who}",
            "The patient brought photographs and spoke about an old holiday with {who}",
            "We looked at the anniversary coming up and how to mark it",
            "We explored the anger the patient feels towards {who} for not seeking help earlier",
            "The patient spoke about guilt over the last conversation with {who}",
        ],
        "techniques": [
            "nondirective_exploration",
            "identifying_emotions",
            "expressing_emotions",
            "addressing_past_issues",
            "clarification",
            "supportive_listening",
        ],
    },
    "role_dispute": {
        "problem": "Low mood and irritability tied to repeated arguments with {who}",
        "event": "First serious argument with {who} about money and time.",
        "kind": "dispute",
        "goals": [
            "Identify the dispute with {who} and the expectations on each side.",
            "Change the way requests are made so that they are heard.",
            "Decide together what can be renegotiated and what cannot.",
        ],
        "work": [
            "We did a communication analysis of the argument with {who} on Sunday",
            "The patient compared what each of them expects of the other",
            "We role-played a request to {who} made without blame",
            "The patient noticed that silence after an argument makes both of them angrier",
            "We weighed the options for the holiday plans that {who} keeps raising",
            "The patient reported a calmer conversation with {who} about the household",
            "We looked at what the patient wants from {who} and what can be offered in return",
        ],
        "techniques": [
            "communication_analysis",
            "role_play",
            "decision_analysis",
            "clarification",
            "expressing_emotions",
            "homework",
        ],
    },
    "role_transition": {
        "problem": "Low mood and withdrawal after {transition}",
        "event": "{Transition}.",
        "kind": "transition",
        "goals": [
            "Mourn the old role and accept its loss.",
            "See the new role in a more balanced light, with what it offers as well as what it costs.",
            "Build the skills and the support the new role needs.",
        ],
        "work": [
            "We listed what the patient misses about the old role and what is a relief to have left",
            "The patient described a first week at the new place with mixed feelings",
            "We looked at who could offer support in the new role",
            "The patient tried a new evening class and met two people there",
            "We talked about what the change means for the relationship with {who}",
            "The patient weighed whether to take on more responsibility at work",
            "We went over the skills the new role asks for and which ones are already there",
        ],
        "techniques": [
            "decision_analysis",
            "clarification",
            "identifying_emotions",
            "psychoeducation",
            "role_play",
            "homework",
        ],
    },
    "interpersonal_deficits": {
        "problem": "Low mood with long-standing isolation and few close relationships",
        "event": "Moved away from the only close friend, {who}.",
        "kind": "other",
        "goals": [
            "Reduce social isolation by starting and keeping up contact.",
            "Use the relationship with the therapist as a model for other relationships.",
            "Find one or two new settings in which to meet people.",
        ],
        "work": [
            "We reviewed past relationships and what ended them",
            "The patient noticed feeling let down when {who} did not reply at once",
            "We practised starting a conversation with a neighbour",
            "We talked about how the patient felt when the last session ran late",
            "The patient sent a message to {who} for the first time in a year",
            "We looked at a volunteering group the patient has been thinking about",
            "The patient described a lunch with a colleague that went better than expected",
        ],
        "techniques": [
            "use_of_therapeutic_relationship",
            "communication_analysis",
            "role_play",
            "supportive_listening",
            "nondirective_exploration",
            "homework",
        ],
    },
}

TRANSITIONS = [
    ("a move to a new city for work", "Moved city for a new job"),
    ("retirement from a long career", "Retired after many years at the same firm"),
    ("the birth of the first child", "Birth of the first child"),
    ("a separation from the partner", "Separated from the partner and moved out"),
    ("redundancy", "Made redundant after a restructuring"),
    ("starting university away from home", "Started university in another city"),
    ("the diagnosis of a chronic illness", "Diagnosed with a chronic illness"),
    ("the children leaving home", "Youngest child left home"),
]

FEELINGS = [
    "sad",
    "flat",
    "tired",
    "irritable",
    "tense",
    "tearful",
    "hopeful",
    "lighter",
    "calmer",
    "anxious",
    "guilty",
    "lonely",
    "relieved",
    "restless",
    "numb",
    "more settled",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ACTIVITIES = [
    "a walk in the park",
    "cooking a proper meal",
    "a swim",
    "an evening with a friend",
    "gardening",
    "a film at home",
    "a phone call with family",
    "a trip to the market",
    "reading in the library",
    "a bike ride",
    "a visit to the allotment",
    "choir practice",
]
SYMPTOMS = [
    "sleep",
    "appetite",
    "energy",
    "concentration",
    "interest in things",
    "motivation",
    "early waking",
    "worry at night",
]

INTERVAL = [
    "Since we last met the patient had a mixed week, with a low {day} and a better {day2}.",
    "The patient reported feeling {feeling} most of the week and {feeling2} after {activity}.",
    "Since the last session there was one difficult conversation with {who} and one easier one.",
    "The week was busy at work; the patient managed {activity} once and felt {feeling} afterwards.",
    "The patient said the week went better than expected and mentioned {activity} on {day}.",
    "Mood dipped on {day} after a quiet weekend alone, then lifted when {who} called.",
    "The patient kept to the plan most days and noticed feeling {feeling} on {day} evening.",
    "There was a setback on {day}, which the patient could link to a remark from {who}.",
]
MOOD = [
    "The patient rated mood as {n} out of ten, {direction} last week.",
    "{Symptom} is {better} than at the start; {symptom2} is still a problem on some days.",
    "We went through the PHQ-9 together; the total is {direction} last time.",
    "The patient links the lower mood on {day} to the argument, which is the kind of link we are looking for.",
    "Sleep is around {hours} hours a night, and {daytime} is worse at the end of the week.",
    "The patient described feeling {feeling} but said it no longer lasts the whole day.",
    "{Symptom} has improved and the patient has been able to manage {activity} again.",
    "The sick role was revisited: the patient is doing less at home for now and feels less guilty about it.",
]
LINKS = [
    "We connected the change in mood to what happened with {who}, as IPT asks.",
    "The patient could see that the low days follow the evenings spent alone.",
    "We noted again that mood improves on the days when the patient has contact with {who}.",
    "The patient described how the mood lifted after speaking up, and we named that link together.",
    "We linked the better week to the changes the patient has made in how requests are put to {who}.",
]
PSYCHOED = [
    "Depression was described as a medical illness that is common and treatable, and not the patient's fault.",
    "We talked about how mood and relationships affect each other in both directions.",
    "The structure of IPT was explained: {total} sessions in three phases, with a clear end.",
    "We discussed the sick role: a temporary permission to do less while recovering, "
    "with the duty to work on getting better.",
    "The patient asked about medication; we agreed the question stays open and will be revisited.",
]
INITIAL_WORK = [
    "We went through the symptoms one by one and named the diagnosis together.",
    "The interpersonal inventory was started with the people closest to the patient, beginning with {who}.",
    "We drew the closeness circle: {who} in the inner ring, others further out.",
    "The patient described the onset of the depression and what was happening at the time.",
    "We talked about which problem area best fits what the patient describes.",
    "The formulation was put to the patient in plain words, and the patient agreed it fits.",
    "We agreed a contract of {total} weekly sessions of fifty minutes.",
]
TERMINATION_WORK = [
    "We reviewed the gains since the start: mood, sleep and the relationship with {who} are all better.",
    "The patient attributed the improvement to asking for help directly and planning time with {who}.",
    "We talked about feelings about ending; the patient is sad to finish and also proud of the work.",
    "The warning signs of a relapse were listed together, with what to do if they appear.",
    "We discussed whether maintenance sessions would help and agreed a plan for the months ahead.",
    "The patient said the hardest part was the first weeks, and that the role plays helped the most.",
    "We compared the PHQ-9 scores from the first session and this one, and the patient was surprised by the change.",
]
MAINTENANCE_WORK = [
    "We reviewed the month since the last session: mood has held, with one low week after a quarrel with {who}.",
    "The warning signs agreed at the end of the acute phase were checked one by one; none has come back.",
    "The patient used the plan from the termination sessions when sleep got worse, and it helped within days.",
    "We went back over the problem area briefly: the patient keeps up the changes with {who}.",
    "The patient described {activity} on {day} as the best part of the month.",
    "We agreed that the next maintenance session stays at the usual interval.",
    "The patient wondered whether to stop maintenance; we agreed to weigh it again in three months.",
]
PLAN = [
    "Next session we will continue with the same focus.",
    "Next week we will look at how the planned conversation with {who} went.",
    "The patient will keep the mood diary and bring it next time.",
    "We will review the homework first thing next session.",
    "Next session we will go back to the problem area with a role play.",
    "The patient knows how to reach the service between sessions if needed.",
]
HOMEWORK = [
    "Notice when mood drops and what happened just before.",
    "Make the practised request to {who} once this week.",
    "Plan {activity} for {day} and note the mood before and after.",
    "Write down three things about {who} to bring to the next session.",
    "Call {who} once this week.",
    "Keep the mood diary every evening.",
    "Try {activity} twice before the next session.",
]
STRATEGIES = [
    "Communication analysis of the argument on {day}.",
    "Role play of a request to {who} without blame.",
    "Decision analysis of the options for the weekend.",
    "Encouraging the expression of feelings about {who}.",
    "Exploring what the old role gave and what the new one could give.",
    "Linking mood to the week's interpersonal events.",
    "Clarification of what the patient expects of {who}.",
]
CANCELLED = [
    "The session did not take place. The patient left a message on {day} morning to cancel because of {reason}.",
    "The patient did not attend and did not call. A message was left the same afternoon offering a new time.",
    "We spoke briefly by phone later that day. The patient sounded {feeling} and said there was nothing urgent.",
    "The patient was reminded of the number of sessions left and that missed sessions are not added at the end.",
    "No new risk was reported in the call. The patient agreed to come next week at the usual time.",
    "The absence is noted for the review of attendance at the end of the course.",
    "The clinician checked the last note: there was no positive risk screen at the previous session.",
    "A letter was sent with the date of the next appointment and the service's contact details.",
]
REASONS = [
    "a cold",
    "a child being unwell",
    "a late shift",
    "a train strike",
    "a hospital appointment",
    "a family visit",
    "car trouble",
]
RISK_NONE = [
    "Risk was asked about directly. The patient denied any thoughts of suicide or self-harm.",
    "The risk screen was negative; no thoughts of being better off dead since we last met.",
    "The patient reported no suicidal thoughts and no self-harm.",
]
RISK_POSITIVE = [
    "The patient described fleeting thoughts of not wanting to wake up on the worst evenings.",
    "We went through the safety plan line by line and the patient agreed to keep it on the phone.",
    "The patient agreed that {who} will be told about the safety plan.",
    "Protective factors include the children, a pet and the wish to see the course through.",
    "The GP will be informed with the patient's agreement.",
]
ADDENDUM_TEXT = [
    "The patient phoned the next day to add that the argument with {who} had been resolved.",
    "The PHQ-9 was scored on paper at the session and is now entered in the record.",
    "The date of the next session was left out of the note and is added here.",
    "The patient asked that the note record that {who} had been supportive that week.",
    "A correction: the homework was set for two evenings, not every evening.",
]
ADDENDUM_REASONS = {
    "addendum": "Information received after the note was signed.",
    "late_entry": "A detail of the session was left out of the signed note.",
    "correction": "The signed note recorded the homework wrongly.",
    "patient_amendment": "The patient asked for a statement to be added.",
}


Section = tuple[str, str, "list[str] | None", "str | None"]
"""A section of a note body: its heading, its text, the sentences it may grow by, and the problem
area those sentences are about (None when they are not about one)."""


RISK_ACTIONS = [
    "Risk assessed in full; GP informed with consent; session frequency increased to twice weekly for two weeks.",
    "Safety plan reviewed; {who} to be told with the patient's agreement; crisis line number given.",
    "Discussed with the supervisor the same day; follow-up call booked for {day}.",
    "Means restriction discussed; medication stored by {who}; review at the next session.",
]
RELAPSE_SIGNS = ["Withdrawing at weekends", "Sleeping late and skipping meals"]


class Writer:
    """Deterministic text for one client, from a seeded random generator and its cast."""

    def __init__(self, rng: random.Random, cast: list[str], total: int) -> None:
        self.rng = rng
        self.cast = cast
        self.total = total

    def fill(self, template: str) -> str:
        r = self.rng
        day, day2 = r.sample(DAYS, 2)
        feeling, feeling2 = r.sample(FEELINGS, 2)
        symptom, symptom2 = r.sample(SYMPTOMS, 2)
        text = template.format(
            who=r.choice(self.cast),
            day=day,
            day2=day2,
            feeling=feeling,
            feeling2=feeling2,
            activity=r.choice(ACTIVITIES),
            n=r.randint(2, 8),
            direction=r.choice(["up from", "down from", "about the same as", "a little better than"]),
            Symptom=symptom.capitalize(),
            symptom2=symptom2,
            better=r.choice(["better", "much better", "a little better", "no worse"]),
            hours=r.choice(["five", "six", "six and a half", "seven"]),
            daytime=r.choice(["appetite", "energy", "concentration", "motivation"]),
            total=self.total,
            reason=r.choice(REASONS),
        )
        return text

    def sentences(self, pool: list[str], count: int) -> str:
        chosen = self.rng.sample(pool, min(count, len(pool)))
        return " ".join(self.fill(s) for s in chosen)


# ---------------------------------------------------------------------------------------------
# One client.
# ---------------------------------------------------------------------------------------------


# Written first, then replaced by the real hash: the same length, so the note's size is final.
_HASH_PLACEHOLDER = "sha256:" + "0" * 64


def signed_markdown(front_matter: dict[str, object], body: str) -> str:
    """A signed Markdown note with its real content hash, set in `front_matter["content_hash"]` too.

    The hash leaves out the `content_hash:` line itself, so the note is rendered with a
    placeholder, hashed, and rendered again with the hash in its place.
    """
    front_matter["content_hash"] = _HASH_PLACEHOLDER
    draft = markdown_note(front_matter, body)
    front_matter["content_hash"] = content_hash(draft.encode("utf-8"))
    return markdown_note(front_matter, body)


def _scores(rng: random.Random, items: int, level: float) -> Flow:
    """Item scores around `level` (0-3), each kept in 0-3."""
    return Flow(max(0, min(3, round(level + rng.uniform(-1.0, 1.0)))) for _ in range(items))


def _signed_at(rng: random.Random, day: dt.date) -> str:
    hour = rng.randint(12, 19)
    minute = rng.randint(0, 59)
    zone = rng.choice(["Z", "Z", "+01:00", "+00:00", "+02:00"])
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00{zone}"


class Client:
    """One client's course, `sessions` notes long: 16 planned, then maintenance when there are more."""

    def __init__(self, number: int, seed: int, sessions: int = SESSIONS) -> None:
        self.id = f"C-{number:04d}"
        self.rng = rng = random.Random(f"ipt-notes-bench:{seed}:{number}")
        self.total = sessions
        long = sessions > SESSIONS
        self.clinician = rng.choice(CLINICIANS)
        self.supervisor = rng.choice(SUPERVISORS) if rng.random() < 0.12 else None
        if long:
            self.supervisor = self.supervisor or SUPERVISORS[0]  # a long course is supervised throughout
        # A long course started long ago, so that its weekly maintenance sessions are in the past.
        self.start = dt.date(2010 if long else 2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        self.frequency = "weekly" if rng.random() < 0.9 else "fortnightly"
        step = 7 if self.frequency == "weekly" else 14
        self.dates = [self.start]
        for _ in range(sessions - 1):
            gap = step + (7 if rng.random() < 0.06 else 0)  # the odd holiday
            self.dates.append(self.dates[-1] + dt.timedelta(days=gap))
        # The cast: 2-6 people from the list; the problem areas refer to them.
        people = rng.sample(PEOPLE, rng.randint(2, 6))
        self.people = people
        self.cast = [label for label, _ in people]
        areas = list(AREA_STORIES)
        self.primary = rng.choice(areas)
        self.areas = [self.primary]
        if rng.random() < 0.35:
            self.areas.append(rng.choice([a for a in areas if a != self.primary]))
        self.dispute_stage = rng.choice(["renegotiation", "renegotiation", "impasse", "dissolution"])
        self.transition = rng.choice(TRANSITIONS)
        self.key_person = {area: rng.choice(self.cast) for area in self.areas}
        self.measures = ["phq9", "gad7"] if rng.random() < 0.8 else ["phq9"]
        self.severity = rng.uniform(1.6, 2.6)  # mean PHQ-9 item score at the start
        self.writer = Writer(rng, self.cast, SESSIONS)
        # A finished course is signed throughout; an open one has its last notes in draft.
        self.closed = rng.random() < 0.9 and not long  # a long course is still in maintenance
        self.draft_from = sessions + 1 if self.closed else rng.randint(sessions - 1, sessions)
        self.stray_draft = rng.randint(4, 13) if rng.random() < 0.04 else None
        self.risk_sessions = set(rng.sample(range(1, sessions + 1), 2)) if rng.random() < 0.12 else set()
        self.missed = {rng.randint(4, 13): rng.choice(["cancelled", "no_show"])} if rng.random() < 0.25 else {}
        self.hashes: dict[int, str] = {}
        self.cosigned: list[str] = []
        """When the supervisor co-signed each signed note, in the order the notes are signed."""

    # -- the parts of a note ------------------------------------------------------------------

    def phase(self, n: int) -> str:
        if n <= INITIAL_LAST:
            return "initial"
        if n > SESSIONS:
            return "maintenance"
        if n >= TERMINATION_FIRST:
            return "termination"
        return "middle"

    def status(self, n: int) -> str:
        return "draft" if n >= self.draft_from or n == self.stray_draft else "signed"

    def level(self, n: int) -> float:
        """Severity falls over the course, not always smoothly."""
        progress = min(n - 1, SESSIONS - 1) / (SESSIONS - 1)
        return max(0.2, self.severity * (1 - 0.7 * progress) + self.rng.uniform(-0.3, 0.3))

    def fill(self, template: str | None, area: str | None = None) -> str | None:
        if template is None:
            return None
        if area is not None:
            return template.format(
                who=self.key_person[area], transition=self.transition[0], Transition=self.transition[1]
            )
        return self.writer.fill(template)

    def risk_block(self, n: int) -> tuple[dict[str, object], bool]:
        rng = self.rng
        if n not in self.risk_sessions:
            block: dict[str, object] = {"suicidal_ideation": "none"}
            if rng.random() < 0.5:
                block["self_harm"] = rng.choice(["none", "none", "none", "past"])
            return block, False
        level = rng.choice(["low", "low", "moderate", "high"])
        block = {
            "suicidal_ideation": "active" if level == "high" else "passive",
            "self_harm": rng.choice(["none", "past", "recent"]),
            "plan": level == "high",
            "intent": False,
            "level": level,
            "actions": self.fill(rng.choice(RISK_ACTIONS)),
        }
        if level in ("moderate", "high"):
            block["safety_plan"] = {
                "warning_signs": [self.fill("Lying awake after an argument with {who}"), "Staying in bed past noon"],
                "coping_strategies": [self.fill("Go for {activity}"), "Write the thoughts down and wait an hour"],
                "distractions": [self.fill("Phone {who}"), "Go to the library or a cafe"],
                "people_to_ask": [self.fill("{who}"), self.fill("{who}")],
                "professionals_and_crisis_lines": ["GP surgery, weekdays", "Crisis line, 24 hours"],
                "means_safety": self.fill("Medication kept by {who}; only a week's supply at home."),
            }
        block["notes"] = rng.choice([None, "Protective factors: the children and the wish to finish the course."])
        return block, True

    def techniques(self, n: int) -> Flow:
        rng = self.rng
        phase = self.phase(n)
        if phase == "initial":
            pool = [
                "supportive_listening",
                "psychoeducation",
                "direct_elicitation",
                "nondirective_exploration",
                "clarification",
            ]
        elif phase in ("termination", "maintenance"):
            pool = [
                "clarification",
                "expressing_emotions",
                "identifying_emotions",
                "supportive_listening",
                "use_of_therapeutic_relationship",
            ]
        else:
            pool = sorted({t for area in self.areas for t in AREA_STORIES[area]["techniques"]})
        return Flow(rng.sample(pool, rng.randint(1, min(4, len(pool)))))

    def session(self, n: int, homework_before: str | None) -> tuple[str, str | None]:
        rng = self.rng
        day = self.dates[n - 1]
        phase = self.phase(n)
        status = self.status(n)
        signed = status == "signed"
        attendance = self.missed.get(n, "attended")
        fm: dict[str, object] = {
            "client": self.id,
            "session": n,
            "date": day.isoformat(),
            "phase": phase,
            "attendance": attendance,
            "status": status,
        }
        remaining = self.total - n
        if attendance != "attended":
            fm.update(self._signature(day, signed))
            body = self._missed_body(n, remaining)
            return self._finish(n, fm, body), homework_before

        if signed:
            fm.update(self._signature(day, signed))
        fm["modality"] = rng.choice(["in_person", "in_person", "in_person", "video", "phone"])
        fm["duration_minutes"] = rng.choice([45, 50, 50, 50, 55, 60])
        if phase != "initial":
            fm["problem_areas"] = Flow(self.areas)
            if "role_dispute" in self.areas:
                fm["dispute_stage"] = self.dispute_stage
        fm["techniques"] = self.techniques(n) if signed or rng.random() < 0.5 else Flow()
        measures: dict[str, object] = {}
        risk, positive = self.risk_block(n)
        if n == 1 or n % 4 == 0 or n == self.total or positive or rng.random() < 0.5:
            level = self.level(n)
            phq9 = _scores(rng, 9, level)
            phq9[8] = rng.randint(1, 2) if positive else 0  # item 9 asks about thoughts of death
            measures["phq9"] = phq9
            if "gad7" in self.measures and rng.random() < 0.8:
                measures["gad7"] = _scores(rng, 7, level * 0.8)
        fm["measures"] = measures
        fm["risk"] = risk
        assigned: str | None = self.fill(rng.choice(HOMEWORK)) if n < self.total else None
        if phase == "initial":
            fm["initial"] = self._initial_tasks(n, signed)
        elif phase == "middle":
            fm["middle"] = self._middle_tasks(n, signed)
        elif phase == "termination":
            fm["termination"] = self._termination_tasks(n, signed)
        else:
            fm["maintenance"] = self._maintenance_tasks(signed)
        fm["homework"] = {"review": homework_before, "assigned": assigned}
        if n < self.total and rng.random() < 0.3:
            fm["next_session"] = self.dates[n].isoformat()
        body = self._session_body(n, remaining, positive)
        return self._finish(n, fm, body), assigned

    def _signature(self, day: dt.date, signed: bool) -> dict[str, object]:
        if not signed:
            return {}
        sig: dict[str, object] = {
            "signed_by": self.clinician,
            "signed_at": _signed_at(self.rng, day),
            "content_hash": "",  # filled in once the body is written
        }
        if self.supervisor is not None:
            # Co-signed some days later, in a file of its own beside the note (see `course_files`).
            self.cosigned.append(_signed_at(self.rng, day + dt.timedelta(days=self.rng.randint(1, 5))))
        return sig

    def _initial_tasks(self, n: int, signed: bool) -> dict[str, object]:
        # The tasks come from the session schema, in its order; by session 1, 2 and 3 the first
        # 4, 6 and all 8 of them are done.
        names = INITIAL_TASKS
        done = names[: {1: 4, 2: 6}.get(n, len(names))]
        if signed:
            return {name: name in done for name in names}
        return {name: (True if name in done and self.rng.random() < 0.5 else None) for name in names}

    def _middle_tasks(self, n: int, signed: bool) -> dict[str, object]:
        rng = self.rng
        strategies = [self.fill(s) for s in rng.sample(STRATEGIES, rng.randint(1, 3))]
        if not signed:
            return {
                "interval_review": self.fill(rng.choice(INTERVAL)) if rng.random() < 0.5 else None,
                "mood_linked_to_events": None,
                "sessions_remaining_stated": rng.choice([True, None]),
                "strategies": strategies[:1],
            }
        return {
            "interval_review": self.fill(rng.choice(INTERVAL)),
            "mood_linked_to_events": rng.random() < 0.9,
            "sessions_remaining_stated": rng.random() < 0.95,
            "strategies": strategies,
        }

    def _termination_tasks(self, n: int, signed: bool) -> dict[str, object]:
        rng = self.rng
        signs = rng.sample(
            [
                "Withdrawing at weekends",
                "Sleeping late and skipping meals",
                "Avoiding calls from friends",
                "Waking early with worry",
                "Arguments left unresolved for days",
                "Dropping the evening walks",
            ],
            rng.randint(1, 3),
        )
        decision = rng.choice(["no_maintenance", "no_maintenance", "maintenance", "referral", "undecided"])
        if not signed:
            return {
                "gains_reviewed": rng.choice([True, None]),
                "improvement_attribution": None,
                "ending_feelings_discussed": None,
                "relapse_warning_signs": signs[:1],
                "maintenance_decision": None,
            }
        return {
            "gains_reviewed": True,
            "improvement_attribution": self.fill(
                rng.choice(
                    [
                        "Asking for help directly; weekends planned with {who}.",
                        "Talking about {who} openly and going back to old activities.",
                        "Making requests without blame and meeting people at {activity}.",
                        "Accepting the new role and building support around it.",
                    ]
                )
            ),
            "ending_feelings_discussed": n >= SESSIONS - 1 or rng.random() < 0.6,
            "relapse_warning_signs": signs,
            "maintenance_decision": decision,
        }

    def _maintenance_tasks(self, signed: bool) -> dict[str, object]:
        if not signed:
            return {"interval_review": None, "warning_signs_checked": None}
        return {"interval_review": self.fill(self.rng.choice(INTERVAL)), "warning_signs_checked": True}

    def _session_body(self, n: int, remaining: int, positive: bool) -> list[Section]:
        w = self.writer
        rng = self.rng
        area = rng.choice(self.areas)
        work = " ".join(self.fill(s, area) + "." for s in rng.sample(AREA_STORIES[area]["work"], rng.randint(2, 3)))
        sections: list[Section] = [
            ("Since we last met", w.sentences(INTERVAL, rng.randint(2, 3)), INTERVAL, None),
            ("Mood and symptoms", w.sentences(MOOD, rng.randint(2, 3)), MOOD, None),
        ]
        phase = self.phase(n)
        if phase == "initial":
            sections.append(("Initial tasks", w.sentences(INITIAL_WORK, rng.randint(2, 4)), INITIAL_WORK, None))
            sections.append(("Psychoeducation", w.sentences(PSYCHOED, rng.randint(1, 3)), PSYCHOED, None))
        elif phase == "middle":
            more = [s + "." for s in AREA_STORIES[area]["work"]]
            sections.append(("Work on the problem area", work + " " + w.sentences(LINKS, 1), more, area))
        elif phase == "termination":
            sections.append(("Ending", w.sentences(TERMINATION_WORK, rng.randint(2, 4)), TERMINATION_WORK, None))
        else:
            sections.append(("Maintenance", w.sentences(MAINTENANCE_WORK, rng.randint(2, 4)), MAINTENANCE_WORK, None))
        if positive:
            sections.append(("Risk", w.sentences(RISK_POSITIVE, rng.randint(2, 4)), None, None))
        else:
            sections.append(("Risk", w.sentences(RISK_NONE, 1), None, None))
        sections.append(("Plan", w.sentences(PLAN, rng.randint(1, 2)), None, None))
        return sections

    def _missed_body(self, n: int, remaining: int) -> list[Section]:
        w = self.writer
        return [
            ("Attendance", w.sentences(CANCELLED, 3), CANCELLED, None),
            ("Follow-up", w.sentences(CANCELLED, 2), CANCELLED, None),
            ("Plan", w.sentences(PLAN, 1), None, None),
        ]

    def _finish(self, n: int, fm: dict[str, object], sections: list[Section]) -> str:
        """Render the note, adding sentences to its sections until it reaches its target size."""
        rng = self.rng
        remaining = SESSIONS - n
        if n > SESSIONS:
            title = f"# Session {n}: maintenance, after the {SESSIONS} planned"
        else:
            title = f"# Session {n} of {SESSIONS} ({remaining} remain{'s' if remaining == 1 else ''})"
        target = rng.randint(NOTE_MIN_BYTES + 100, NOTE_MAX_BYTES - 400)

        def rendered(section: Section) -> str:
            return f"## {section[0]}\n\n{_wrap(section[1])}\n\n"

        growable = [i for i, section in enumerate(sections) if section[2]]
        used: dict[int, set[str]] = {i: set() for i in growable}
        head_len = len(to_yaml(fm).encode()) + 8 + 71  # fences, and the content hash to come
        # The body's size is kept section by section, so that a sentence added re-wraps one section only.
        sizes = [len(rendered(section).encode()) for section in sections]
        while head_len + len(title.encode()) + 2 + sum(sizes) < target:
            index = rng.choice(growable)
            head, text, pool, area = sections[index]
            assert pool is not None
            fresh = [s for s in pool if s not in used[index]] or pool  # repeat only when all are used
            template = rng.choice(fresh)
            used[index].add(template)
            sentence = self.fill(template, area)
            sections[index] = (head, f"{text} {sentence}", pool, area)
            sizes[index] = len(rendered(sections[index]).encode())
        body = (title + "\n\n" + "".join(rendered(section) for section in sections)).rstrip("\n") + "\n"
        if "content_hash" in fm:
            text = signed_markdown(fm, body)
            self.hashes[n] = str(fm["content_hash"])
            return text
        return markdown_note(fm, body)

    # -- the other files ---------------------------------------------------------------------

    def client_yaml(self) -> str:
        rng = self.rng
        description, code = rng.choice(DIAGNOSES)
        area = self.primary
        data: dict[str, object] = {
            "client": self.id,
            "format": "ipt" if rng.random() < 0.85 else rng.choice(["ipt_brief", "ipt_adolescent"]),
            "age_group": rng.choice(["adult", "adult", "adult", "older_adult", "adolescent"]),
            "start_date": self.start.isoformat(),
            "end_date": self.dates[-1].isoformat() if self.closed else None,
            "course_status": "closed" if self.closed else "active",
            "clinician": self.clinician,
            "supervisor": self.supervisor,
            "referral_source": rng.choice(REFERRALS),
            "presenting_problem": self.fill(AREA_STORIES[area]["problem"], area) + ".",
            "diagnosis": {"description": description, "code": code, "recorded_on": self.start.isoformat()},
            "medication": {
                "evaluated": True,
                "notes": rng.choice(
                    [
                        "Not indicated at present; review if no response by session 8.",
                        "Already on an antidepressant from the GP; dose unchanged.",
                        "Declined medication; agreed to revisit at mid-point.",
                        None,
                    ]
                ),
            },
            "contract": {
                "sessions_planned": SESSIONS,
                "frequency": self.frequency,
                "session_minutes": 50,
                "agreed_on": self.dates[INITIAL_LAST - 1].isoformat(),
            },
            "measures": Flow(self.measures),
        }
        return to_yaml(data)

    def inventory_yaml(self) -> str:
        rng = self.rng
        people = []
        area_of = {who: area for area, who in self.key_person.items()}
        for label, relationship in self.people:
            ring = rng.randint(1, 3)
            closeness = [FlowMap(date=self.dates[1].isoformat(), ring=ring)]
            if rng.random() < 0.6:
                closeness.append(FlowMap(date=self.dates[-2].isoformat(), ring=max(1, ring - rng.randint(0, 1))))
            person: dict[str, object] = {
                "label": label,
                "relationship": relationship,
                "closeness": closeness,
                "contact": rng.choice(["daily", "weekly", "weekly", "monthly", "rarely"]),
                "positive": self.fill(
                    rng.choice(
                        [
                            "Supportive and practical.",
                            "Warm on the phone.",
                            "Good company at {activity}.",
                            "Reliable in a crisis.",
                            "Makes the patient laugh.",
                        ]
                    )
                ),
                "negative": self.fill(
                    rng.choice(
                        [
                            "Critical of the patient's choices.",
                            "Hard to reach.",
                            "Quick to anger.",
                            "Expects a lot and says little.",
                            None,
                        ]
                    )
                ),
                "expectations": {
                    "of_other": self.fill(
                        rng.choice(
                            ["Help at home.", "Encouragement.", "More time together.", "To listen without advice."]
                        )
                    ),
                    "of_patient": self.fill(
                        rng.choice(["Visit often.", "Be cheerful.", "Manage alone.", "Keep in touch."])
                    ),
                    "met": rng.choice(["yes", "partly", "partly", "no", "unknown"]),
                },
                "knows_about_depression": rng.choice([True, False, "unknown"]),
            }
            if label in area_of:
                person["conflicts"] = self.fill(
                    rng.choice(["Arguments about money and chores.", "Silence for days after a disagreement.", None])
                )
                person["changes_wanted"] = self.fill(
                    rng.choice(["More shared time.", "Fairer chores.", "Less criticism.", "Regular contact."])
                )
                person["problem_area"] = area_of[label]
            people.append(person)
        timeline = []
        for area in self.areas:
            when = self.start - dt.timedelta(days=rng.randint(60, 400))
            timeline.append(
                {
                    "date": when.isoformat(),
                    "event": self.fill(AREA_STORIES[area]["event"], area),
                    "kind": AREA_STORIES[area]["kind"],
                    "people": Flow([self.key_person[area]]),
                    "mood": rng.choice(["Low within weeks.", "Hopeful at first, low within weeks.", "Low", None]),
                }
            )
        timeline.sort(key=lambda e: str(e["date"]))
        return to_yaml({"client": self.id, "people": people, "timeline": timeline})

    def formulation_md(self) -> str:
        rng = self.rng
        chosen = []
        for area in self.areas:
            item: dict[str, object] = {"area": area, "primary": area == self.primary}
            if area == "role_dispute":
                item["dispute_stage"] = self.dispute_stage
            item["goals"] = [self.fill(g, area) for g in rng.sample(AREA_STORIES[area]["goals"], rng.randint(1, 3))]
            chosen.append(item)
        fm = {
            "client": self.id,
            "status": "agreed",
            "agreed_on": self.dates[INITIAL_LAST - 1].isoformat(),
            "problem_areas": chosen,
        }
        story = " ".join(self.fill(AREA_STORIES[a]["problem"], a) + "." for a in self.areas)
        body = (
            "# Formulation\n\n"
            + _wrap(story + " " + self.writer.sentences(LINKS, 2))
            + "\n\n"
            + _wrap(
                "We agreed to work on the "
                + self.primary.replace("_", " ")
                + " first. "
                + self.writer.sentences(PSYCHOED, 2)
            )
            + "\n"
        )
        return markdown_note(fm, body)

    def review_md(self) -> str:
        rng = self.rng
        day = self.dates[-1]
        if not self.closed:
            fm: dict[str, object] = {
                "client": self.id,
                "date": day.isoformat(),
                "status": "draft",
                "presenting_problem": self.fill(AREA_STORIES[self.primary]["problem"], self.primary) + ".",
                "problem_areas": [{"area": a} for a in self.areas],
                "risk_at_discharge": {"level": "none"},
            }
            return markdown_note(fm, "# End-of-therapy review\n")
        decision = rng.choice(["no_maintenance", "no_maintenance", "maintenance", "referral"])
        body = "# End-of-therapy review\n\n" + _wrap(self.writer.sentences(TERMINATION_WORK, 3)) + "\n"
        fm = {
            "client": self.id,
            "date": day.isoformat(),
            "status": "signed",
            "signed_by": self.clinician,
            "signed_at": _signed_at(rng, day),
            "content_hash": _HASH_PLACEHOLDER,  # the real one is set once the rest is written
            "presenting_problem": self.fill(AREA_STORIES[self.primary]["problem"], self.primary) + ".",
            "problem_areas": [
                {"area": a, "goals_outcome": rng.choice(["met", "met", "partly_met", "not_met"])} for a in self.areas
            ],
            "risk_at_discharge": {"level": "low" if self.risk_sessions else "none"},
            "relapse_warning_signs": RELAPSE_SIGNS[: rng.randint(1, 2)],
            "maintenance": {"decision": decision},
        }
        if decision == "referral":
            fm["maintenance"] = {"decision": decision, "referred_to": "Community psychology service"}
        return signed_markdown(fm, body)

    def addenda_md(self) -> list[tuple[str, str]]:
        """Addenda to signed, attended notes: one for about one client in ten, one per 25 notes in a long course."""
        rng = self.rng
        if self.total <= SESSIONS and rng.random() >= 0.1:
            return []
        candidates = sorted(n for n in self.hashes if n not in self.missed)
        if not candidates:
            return []
        if self.total <= SESSIONS:
            chosen = [rng.choice(candidates)]
        else:
            chosen = sorted(rng.sample(candidates, max(1, len(candidates) // LONG_ADDENDUM_EVERY)))
        return [self._addendum(n) for n in chosen]

    def _addendum(self, n: int) -> tuple[str, str]:
        rng = self.rng
        kind = rng.choice(list(ADDENDUM_REASONS))
        day = self.dates[n - 1] + dt.timedelta(days=rng.randint(1, 3))
        body = _wrap(self.writer.sentences(ADDENDUM_TEXT, rng.randint(1, 2))) + "\n"
        fm: dict[str, object] = {
            "client": self.id,
            "kind": kind,
            "amends": {
                "note": f"sessions/{n:02d}.md",
                "content_hash": self.hashes[n],
                # A placeholder: --git puts the id of the commit that signed the note here.
                "commit": hashlib.sha1(f"{self.id}:{n}".encode()).hexdigest(),
            },
            "author": self.clinician,
            "date": day.isoformat(),
            "reason": ADDENDUM_REASONS[kind],
            "status": "signed",
            "signed_by": self.clinician,
            "signed_at": _signed_at(rng, day),
            "content_hash": _HASH_PLACEHOLDER,
        }
        return f"{n:02d}.addendum-1.md", signed_markdown(fm, body)


def _wrap(text: str, width: int = 100) -> str:
    """Wrap prose at `width` columns, as an editor would."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# One client's files.
# ---------------------------------------------------------------------------------------------

# What `ipt-notes new-client` commits first: the repository's own files, the course settings and
# the intake files (here already as the course left them).
OPENING = (".gitignore", ".gitattributes", "course-settings.yaml", "client.yaml", "inventory.yaml", "formulation.md")


def course_files(number: int, seed: int, sessions: int, shared: dict[str, str]) -> tuple[Client, dict[str, str]]:
    """A client and its files (path inside its folder: text); `shared` are the files every client has."""
    client = Client(number, seed, sessions)
    files = dict(shared)
    # Written in the order a course produces them; the generator state follows that order.
    files["client.yaml"] = client.client_yaml()
    files["inventory.yaml"] = client.inventory_yaml()
    files["formulation.md"] = client.formulation_md()
    homework: str | None = None
    for n in range(1, sessions + 1):
        files[f"sessions/{n:02d}.md"], homework = client.session(n, homework)
    for name, text in client.addenda_md():
        files[f"sessions/{name}"] = text
    files["review.md"] = client.review_md()
    if client.supervisor is not None:
        for n, when in zip(sorted(client.hashes), client.cosigned, strict=False):
            files[f"sessions/{n:02d}.cosignature.yaml"] = to_yaml(
                {
                    "client": client.id,
                    "note": f"sessions/{n:02d}.md",
                    "content_hash": client.hashes[n],
                    "cosigned_by": client.supervisor,
                    "cosigned_at": when,
                }
            )
    return client, files


_SESSION = re.compile(r"[0-9]{2,3}\.md\Z")
_ADDENDUM = re.compile(r"[0-9]{2,3}\.addendum-[1-9][0-9]*\.md\Z")
_COSIGNATURE = re.compile(r"[0-9]{2,3}(?:\.addendum-[1-9][0-9]*)?\.cosignature\.yaml\Z")
_PLAIN = {
    "course-settings.yaml": "course_settings",
    "client.yaml": "client",
    "inventory.yaml": "inventory",
    "formulation.md": "formulation",
    "review.md": "review",
}


def kind_in_client(parts: tuple[str, ...]) -> str | None:
    """The kind of a file from its path inside a client folder."""
    if len(parts) == 1:
        return _PLAIN.get(parts[0])
    if len(parts) == 2 and parts[0] == "sessions":
        if _SESSION.match(parts[1]):
            return "session"
        if _ADDENDUM.match(parts[1]):
            return "addendum"
        if _COSIGNATURE.match(parts[1]):
            return "cosignature"
    return None


def kind_of(relative: Path) -> str | None:
    """The kind of a file of the corpus from its place in the layout (relative to the practice)."""
    parts = relative.parts
    if parts == ("ipt-notes.yaml",):
        return "config"
    if len(parts) >= 3 and parts[0] == "clients":
        return kind_in_client(parts[2:])
    return None


def skipped_dir(name: str) -> bool:
    """Folders that hold no notes: git's own, process notes, anything hidden."""
    return name.startswith(".") or name == "private"


def client_ids(practice: Path) -> list[str]:
    return sorted(p.name for p in (practice / "clients").iterdir() if p.is_dir() and not p.is_symlink())


# ---------------------------------------------------------------------------------------------
# One client's history.
# ---------------------------------------------------------------------------------------------

_FIELD = re.compile(r"^(date|status|signed_at): *(\S.*)$", re.MULTILINE)
_COSIGNED_AT = re.compile(r"^cosigned_at: *(\S+)$", re.MULTILINE)
_AMENDS_NOTE = re.compile(r"^  note: (sessions/[0-9]+\.md)$", re.MULTILINE)
_AMENDS_COMMIT = re.compile(r"^  commit: .*$", re.MULTILINE)
_OWN_HASH = re.compile(r"^content_hash: \S+$", re.MULTILINE)
# Signature lines a draft does not have yet: `ipt-notes sign` adds them.
_UNSIGNED_KEYS = ("signed_by:", "signed_at:", "content_hash:")


def front_matter(text: str) -> str:
    """The YAML between the opening and the closing `---` line of a Markdown note."""
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        raise ValueError("no front matter")
    match = re.search(r"^---[ \t]*\r?$", rest, re.MULTILINE)
    if match is None:
        raise ValueError("front matter not closed")
    return rest[: match.start()]


def _fields(text: str) -> dict[str, str]:
    """The few top-level fields a history is dated by."""
    return {key: value.strip().strip('"') for key, value in _FIELD.findall(front_matter(text))}


def _seconds(value: str) -> int:
    """A date or timestamp of the corpus in seconds since the epoch (a date counts from 09:00 UTC)."""
    if "T" not in value:
        value += "T09:00:00Z"
    return int(dt.datetime.fromisoformat(value).timestamp())


def _head_lines(signed: str, keep: Callable[[str], str | None]) -> str:
    """The note with each line of its front matter passed through `keep` (None drops the line)."""
    end = signed.index("\n---\n", 3) + 1
    lines = [kept for line in signed[:end].splitlines(keepends=True) if (kept := keep(line)) is not None]
    return "".join(lines) + signed[end:]


def draft_of(signed: str) -> str:
    """The note as it stood before `ipt-notes sign`: status draft, no signature lines."""

    def keep(line: str) -> str | None:
        if line.startswith(_UNSIGNED_KEYS):
            return None
        return "status: draft\n" if line == "status: signed\n" else line

    return _head_lines(signed, keep)


def link_addendum(text: str, commit: str) -> str:
    """The addendum with the id of the commit that signed its note, signed again over that id."""
    linked, count = _AMENDS_COMMIT.subn(f'  commit: "{commit}"', text, count=1)
    if count != 1:
        raise CorpusError("an addendum has no amends.commit line")
    return _OWN_HASH.sub(f"content_hash: {content_hash(linked.encode('utf-8'))}", linked, count=1)


@dataclass
class Step:
    """One commit of a client's history: when it is wanted, its message and author, the files it writes."""

    when: int
    message: str
    ident: str
    files: dict[str, str]
    signs: str | None = None
    """The note this commit signs: the commit an addendum to that note names."""
    amends: str | None = None
    """For an addendum's commits, the note it amends; `link` then makes the files from that note's signing commit."""
    link: Callable[[str], dict[str, str]] | None = None


def client_steps(client: Client, files: dict[str, str]) -> list[Step]:
    """The commits ipt-notes would have made of the course, in time order."""
    cid, ident = client.id, client.clinician
    # new-client a week before the first session, 09:00 UTC.
    steps = [Step(_seconds(client.dates[0].isoformat()) - 6 * 86400, f"new-client {cid}", ident, {})]
    steps[0].files = {name: files[name] for name in OPENING}
    for n in range(1, client.total + 1):
        path = f"sessions/{n:02d}.md"
        note = files[path]
        fields = _fields(note)
        drafted = _seconds(fields["date"]) - 3600  # scaffolded at 08:00 on the day of the session
        if fields["status"] != "signed":
            steps.append(Step(drafted, f"new-session {cid} {n}", ident, {path: note}))
            continue
        steps.append(Step(drafted, f"new-session {cid} {n}", ident, {path: draft_of(note)}))
        signed = max(_seconds(fields["signed_at"]), drafted + 60)
        steps.append(Step(signed, f"sign {cid} {n}", ident, {path: note}, signs=path))
        cosignature = f"sessions/{n:02d}.cosignature.yaml"
        if cosignature in files and client.supervisor is not None:
            at = _COSIGNED_AT.search(files[cosignature])
            assert at is not None
            cosigned = max(_seconds(at.group(1).strip('"')), signed + 60)
            steps.append(Step(cosigned, f"cosign {cid} {n}", client.supervisor, {cosignature: files[cosignature]}))
    for path, text in sorted(files.items()):
        if kind_in_client(tuple(path.split("/"))) != "addendum":
            continue
        fields = _fields(text)
        target = _AMENDS_NOTE.search(text)
        if target is None:
            raise CorpusError(f"{client.id}/{path} names no note it amends")
        n = int(Path(target.group(1)).stem)
        drafted = _seconds(fields["date"])

        def draft(commit: str, path: str = path, text: str = text) -> dict[str, str]:
            return {path: draft_of(link_addendum(text, commit))}

        def signed_version(commit: str, path: str = path, text: str = text) -> dict[str, str]:
            return {path: link_addendum(text, commit)}

        steps.append(Step(drafted, f"amend {cid} {n}", ident, {}, amends=target.group(1), link=draft))
        steps.append(
            Step(
                max(_seconds(fields["signed_at"]), drafted + 60),
                f"sign {cid} {n} addendum-1",
                ident,
                {},
                amends=target.group(1),
                link=signed_version,
            )
        )
    review = files["review.md"]
    fields = _fields(review)
    drafted = _seconds(fields["date"]) + 8 * 3600  # written by hand in the evening of the last session
    if fields["status"] != "signed":
        steps.append(Step(drafted, "Draft the end-of-therapy review", ident, {"review.md": review}))
    else:
        steps.append(Step(drafted, "Draft the end-of-therapy review", ident, {"review.md": draft_of(review)}))
        when = max(_seconds(fields["signed_at"]), drafted + 60)
        steps.append(Step(when, f"sign {cid} review", ident, {"review.md": review}))
    steps.sort(key=lambda step: step.when)  # stable: a note's draft stays before its signature
    return steps


@dataclass
class FastImport:
    """A `git fast-import` stream onto refs/heads/main, one commit at a time, dated by a clock that never goes back."""

    continues: bool
    """Whether the branch exists already: the first commit of the stream then starts from its tip."""
    clock: int = 0
    chunks: list[bytes] = field(default_factory=list)
    marks: int = 0

    def commit(self, message: str, ident: str, wanted: int, files: dict[str, str]) -> int:
        """Add a commit of `files` (path: text) at `wanted` or the second after the previous one; its mark."""
        self.clock = max(wanted, self.clock + 1)
        self.marks += 1
        msg = message.encode("utf-8")
        head = (
            f"commit refs/heads/main\nmark :{self.marks}\n"
            f"author {ident} {self.clock} +0000\ncommitter {ident} {self.clock} +0000\n"
            f"data {len(msg)}\n"
        )
        self.chunks += [head.encode("utf-8"), msg, b"\n"]
        if self.continues and self.marks == 1:
            self.chunks.append(b"from refs/heads/main^0\n")
        for path, text in files.items():
            data = text.encode("utf-8")
            self.chunks += [f"M 100644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        self.chunks.append(b"\n")
        return self.marks

    def run(self, repo: Path, *, marks: bool = False) -> dict[int, str]:
        """Feed the stream to one `git fast-import`; with `marks`, the commit id of every mark."""
        argv = ["git", "fast-import", "--quiet", "--done"]
        marks_file = repo / ".git" / "bench-fast-import-marks"  # fast-import writes it through a lock file
        if marks:
            argv.append(f"--export-marks={marks_file}")
        stream = b"".join([*self.chunks, b"done\n"])
        done = subprocess.run(argv, cwd=repo, input=stream, capture_output=True, check=False)
        if done.returncode != 0:
            raise CorpusError(f"git fast-import exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
        if not marks:
            return {}
        pairs = [line.split() for line in marks_file.read_text(encoding="utf-8").splitlines()]
        marks_file.unlink()
        return {int(mark[1:]): sha for mark, sha in pairs}


def import_history(repo: Path, steps: list[Step]) -> int:
    """Write `steps` as commits on main; how many `git fast-import` runs that took.

    An addendum must name the commit that signed its note, whose id is known only once it is
    imported: the stream is cut there, and the rest goes on from the branch in another run.
    """
    signing: dict[str, str] = {}  # note -> the id of the commit that signed it
    waiting: dict[str, int] = {}  # note -> the mark of that commit in the stream not yet imported
    stream = FastImport(continues=False)
    runs = 0
    for step in steps:
        files = step.files
        if step.link is not None:
            assert step.amends is not None
            if step.amends not in signing:
                if step.amends not in waiting:
                    raise CorpusError(f"{repo.name}: an addendum amends {step.amends}, signed by no commit before it")
                marks = stream.run(repo, marks=True)
                runs += 1
                signing.update({path: marks[mark] for path, mark in waiting.items()})
                waiting.clear()
                stream = FastImport(continues=True, clock=stream.clock)
            files = step.link(signing[step.amends])
        mark = stream.commit(step.message, step.ident, step.when, files)
        if step.signs is not None:
            waiting[step.signs] = mark
    stream.run(repo)
    return runs + 1


def _action(message: str) -> str:
    words = message.split()
    if words[0] == "sign" and words[-1] == "review":
        return "sign review"
    if words[0] == "sign" and words[-1].startswith("addendum-"):
        return "sign addendum"
    return words[0] if words[0] in ("new-client", "new-session", "sign", "cosign", "amend") else "by hand"


# ---------------------------------------------------------------------------------------------
# The practice.
# ---------------------------------------------------------------------------------------------


def _build_client(
    task: tuple[Path, int, int, int, dict[str, str], Path | None],
) -> tuple[dict[str, int], dict[str, int]]:
    """Write one client: its files, or (given the model's git folder) its repository with its history.

    Returns the files by kind and the commits by action.
    """
    out, number, seed, sessions, shared, model = task
    client, files = course_files(number, seed, sessions, shared)
    folder = out / "clients" / client.id
    counts = dict.fromkeys(KINDS, 0)
    for path in files:
        kind = kind_in_client(tuple(path.split("/")))
        if kind is not None:
            counts[kind] += 1
    (folder / "sessions").mkdir(parents=True)
    if model is None:
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return counts, {}
    # The repository as `git init` and `configure` made the model: its settings and its hook.
    shutil.copytree(model, folder / ".git", symlinks=True)
    steps = client_steps(client, files)
    commits: dict[str, int] = {"fast-import runs": import_history(folder, steps)}
    for step in steps:
        commits[_action(step.message)] = commits.get(_action(step.message), 0) + 1
    done = subprocess.run(["git", "reset", "--hard", "-q"], cwd=folder, capture_output=True, check=False)
    if done.returncode != 0:
        raise CorpusError(f"git reset --hard in {folder} exited with {done.returncode}: {done.stderr.decode()}")
    return counts, commits


def write_practice(out: Path) -> dict[str, str]:
    """The practice folder as `ipt-notes init` makes it, with the corpus's settings; the files every client has."""
    from ipt_notes.client_repository import repository_files
    from ipt_notes.commands.init import init_practice
    from ipt_notes.settings import course_settings_text, load_practice_settings

    out.mkdir(parents=True, exist_ok=True)
    (out / "ipt-notes.yaml").write_text(CONFIG, encoding="utf-8")
    init_practice(out)  # writes what is missing: .gitignore and clients/
    shared = {"course-settings.yaml": course_settings_text(load_practice_settings(out).course)}
    shared.update(repository_files(out))
    return shared


def model_repository(folder: Path) -> Path:
    """An empty repository as `ipt-notes new-client` sets one up (git init -b main, then its settings
    and hook, by ipt-notes' own `configure`); its git folder, which every client's starts as a copy of.

    Copying it costs a millisecond where the dozen git commands of `configure` cost 50.
    """
    from ipt_notes.client_repository import configure
    from ipt_notes.git import init_repository

    folder.mkdir(parents=True)
    repository = init_repository(folder)
    if configure(repository) is None:
        raise CorpusError("ipt-notes did not install its pre-commit hook in the model repository")
    return repository.git_dir


def write_corpus(
    out: Path, clients: int, seed: int, *, sessions: int = SESSIONS, git: bool = False, jobs: int = 2
) -> tuple[dict[str, int], dict[str, int]]:
    """Write the practice; return how many notes files of each kind, and (with `git`) commits of each action.

    With `git`, this process's environment loses its GIT_* variables and the user's git settings.
    """
    if git:
        for key in [key for key in os.environ if key.startswith("GIT_")]:
            del os.environ[key]
        os.environ.update(GIT_ISOLATION)
    umask = os.umask(0o077)  # as ipt-notes: files 0600, folders 0700
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix="make-corpus-") as tmp:
            shared = write_practice(out)
            model = model_repository(Path(tmp) / "model") if git else None
            tasks = [(out, number, seed, sessions, shared, model) for number in range(1, clients + 1)]
            if jobs <= 1 or clients < 2:
                results: Iterator[tuple[dict[str, int], dict[str, int]]] = map(_build_client, tasks)
                return _totals(results)
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                return _totals(pool.imap_unordered(_build_client, tasks, chunksize=4))
    finally:
        os.umask(umask)


def _totals(results: Iterator[tuple[dict[str, int], dict[str, int]]]) -> tuple[dict[str, int], dict[str, int]]:
    counts = dict.fromkeys(KINDS, 0)
    counts["config"] = 1
    commits: dict[str, int] = {}
    for files, made in results:
        for key, value in files.items():
            counts[key] += value
        for key, value in made.items():
            commits[key] = commits.get(key, 0) + value
    return counts, commits


def export_front_matter(corpus: Path, target: Path) -> dict[str, int]:
    """Write every notes file's YAML to `target/<kind>/<name>.yaml`; return counts by kind."""
    if target.exists():
        shutil.rmtree(target)
    counts = dict.fromkeys(KINDS, 0)
    for kind in KINDS:
        (target / kind).mkdir(parents=True)
    for current, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not skipped_dir(d))
        for name in sorted(files):
            path = Path(current) / name
            relative = path.relative_to(corpus)
            kind = kind_of(relative)
            if kind is None:
                continue
            text = path.read_text(encoding="utf-8")
            if name.endswith(".md"):
                text = front_matter(text)
                stem = name[: -len(".md")]
            else:
                stem = name[: -len(".yaml")]
            if kind == "config":
                flat = "ipt-notes"
            elif kind in ("session", "addendum", "cosignature"):
                flat = f"{relative.parts[1]}-{stem}"
            else:
                flat = relative.parts[1]
            (target / kind / f"{flat}.yaml").write_text(text, encoding="utf-8")
            counts[kind] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic ipt-notes practice for benchmarks.")
    parser.add_argument("out_dir", type=Path, help="the practice folder to write (created; must be empty or absent)")
    parser.add_argument("--clients", type=int, default=500, help="number of clients (default 500)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator (default 1)")
    parser.add_argument(
        "--sessions",
        type=int,
        default=SESSIONS,
        help=f"session notes per client (default {SESSIONS}; beyond {SESSIONS}, maintenance, up to {MAX_SESSIONS})",
    )
    parser.add_argument(
        "--git", action="store_true", help="make each client a git repository with its history, as ipt-notes would"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--front-matter-dir",
        type=Path,
        default=None,
        help="also write each file's YAML here, grouped by kind, for other validators",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or not SESSIONS <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--clients must be at least 1, --sessions from {SESSIONS} to {MAX_SESSIONS}")
    if args.out_dir.exists() and any(args.out_dir.iterdir()):
        parser.error(f"{args.out_dir} exists and is not empty")
    try:
        counts, commits = write_corpus(
            args.out_dir.absolute(), args.clients, args.seed, sessions=args.sessions, git=args.git, jobs=args.jobs
        )
    except CorpusError as error:
        print(f"make_corpus: {error}", file=sys.stderr)
        return 1
    total = sum(counts.values())
    print(f"wrote {total} notes files to {args.out_dir}: " + ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]))
    if commits:
        runs = commits.pop("fast-import runs")
        print(
            f"and {sum(commits.values())} commits in {args.clients} client repositories ({runs} git fast-import runs): "
            + ", ".join(f"{n} {action}" for action, n in sorted(commits.items()))
        )
    if args.front_matter_dir is not None:
        exported = export_front_matter(args.out_dir, args.front_matter_dir)
        print(f"wrote {sum(exported.values())} YAML files to {args.front_matter_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
