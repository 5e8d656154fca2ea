#!/usr/bin/env python3
"""Write a synthetic notes repository for benchmarking `ipt-notes validate`.

    python benchmarks/make_corpus.py OUT_DIR [--clients 500] [--seed 1] [--front-matter-dir DIR]

OUT_DIR receives `ipt-notes.yaml` and, for each client `C-0001`, `C-0002`, ...:

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
files, and each client depends only on the seed and its number.

With --front-matter-dir DIR, the YAML of every file is also written on its own, grouped by kind
(`DIR/session/C-0001-01.yaml`, `DIR/client/C-0001.yaml`, ...), so that a generic JSON Schema
validator such as check-jsonschema can read the same data `ipt-notes validate` checks. For a
Markdown note that is its front matter only.

Every signed file (session note, addendum, review) carries its real content hash, and every
addendum the real hash of the note it amends, as `ipt-notes validate` and `ipt-notes verify`
check them; the hash is computed by ipt-notes itself (`ipt_notes.signing.content_hash`), so it
has one definition. The addendum's `amends.commit` is a placeholder: a commit id only means
something in a history, which bench_verify.py builds and fills in. Apart from ipt_notes.signing,
only the standard library is used. Run it with the interpreter of a virtual environment that
has ipt-notes installed; from a source tree it falls back to the ipt_notes package next to
this folder.
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
import sys
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

__all__ = ["KINDS", "export_front_matter", "kind_of", "write_corpus"]

SESSIONS = 16
INITIAL_LAST = 3  # sessions 1-3 are the initial phase
TERMINATION_FIRST = 14  # sessions 14-16 are termination
NOTE_MIN_BYTES = 2200
NOTE_MAX_BYTES = 4900

KINDS = ("config", "client", "inventory", "formulation", "session", "addendum", "review")

CONFIG = """\
version: 1
clinician: T-01 <t01@clinic.example>
default_sessions: 16
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
    def __init__(self, number: int, seed: int) -> None:
        self.id = f"C-{number:04d}"
        self.rng = rng = random.Random(f"ipt-notes-bench:{seed}:{number}")
        self.clinician = rng.choice(CLINICIANS)
        self.supervisor = rng.choice(SUPERVISORS) if rng.random() < 0.12 else None
        self.start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        self.frequency = "weekly" if rng.random() < 0.9 else "fortnightly"
        step = 7 if self.frequency == "weekly" else 14
        self.dates = [self.start]
        for _ in range(SESSIONS - 1):
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
        self.closed = rng.random() < 0.9
        self.draft_from = SESSIONS + 1 if self.closed else rng.randint(15, 16)
        self.stray_draft = rng.randint(4, 13) if rng.random() < 0.04 else None
        self.risk_sessions = set(rng.sample(range(1, SESSIONS + 1), 2)) if rng.random() < 0.12 else set()
        self.missed = {rng.randint(4, 13): rng.choice(["cancelled", "no_show"])} if rng.random() < 0.25 else {}
        self.hashes: dict[int, str] = {}

    # -- the parts of a note ------------------------------------------------------------------

    def phase(self, n: int) -> str:
        if n <= INITIAL_LAST:
            return "initial"
        if n >= TERMINATION_FIRST:
            return "termination"
        return "middle"

    def status(self, n: int) -> str:
        return "draft" if n >= self.draft_from or n == self.stray_draft else "signed"

    def level(self, n: int) -> float:
        """Severity falls over the course, not always smoothly."""
        return max(0.2, self.severity * (1 - 0.7 * (n - 1) / (SESSIONS - 1)) + self.rng.uniform(-0.3, 0.3))

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
        elif phase == "termination":
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
        remaining = SESSIONS - n
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
        if n == 1 or n % 4 == 0 or n == SESSIONS or positive or rng.random() < 0.5:
            level = self.level(n)
            phq9 = _scores(rng, 9, level)
            phq9[8] = rng.randint(1, 2) if positive else 0  # item 9 asks about thoughts of death
            measures["phq9"] = phq9
            if "gad7" in self.measures and rng.random() < 0.8:
                measures["gad7"] = _scores(rng, 7, level * 0.8)
        fm["measures"] = measures
        fm["risk"] = risk
        assigned: str | None = self.fill(rng.choice(HOMEWORK)) if n < SESSIONS else None
        if phase == "initial":
            fm["initial"] = self._initial_tasks(n, signed)
        elif phase == "middle":
            fm["middle"] = self._middle_tasks(n, signed)
        else:
            fm["termination"] = self._termination_tasks(n, signed)
        fm["homework"] = {"review": homework_before, "assigned": assigned}
        if n < SESSIONS and rng.random() < 0.3:
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
            sig["cosigned_by"] = self.supervisor
            sig["cosigned_at"] = _signed_at(self.rng, day + dt.timedelta(days=self.rng.randint(1, 5)))
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
        else:
            sections.append(("Ending", w.sentences(TERMINATION_WORK, rng.randint(2, 4)), TERMINATION_WORK, None))
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
        title = f"# Session {n} of {SESSIONS} ({remaining} remain{'s' if remaining == 1 else ''})"
        target = rng.randint(NOTE_MIN_BYTES + 100, NOTE_MAX_BYTES - 400)

        def render(parts: list[Section]) -> str:
            return title + "\n\n" + "".join(f"## {head}\n\n{_wrap(text)}\n\n" for head, text, _, _ in parts)

        growable = [i for i, section in enumerate(sections) if section[2]]
        used: dict[int, set[str]] = {i: set() for i in growable}
        head_len = len(to_yaml(fm).encode()) + 8 + 71  # fences, and the content hash to come
        while head_len + len(render(sections).encode()) < target:
            index = rng.choice(growable)
            head, text, pool, area = sections[index]
            assert pool is not None
            fresh = [s for s in pool if s not in used[index]] or pool  # repeat only when all are used
            template = rng.choice(fresh)
            used[index].add(template)
            sentence = self.fill(template, area)
            sections[index] = (head, f"{text} {sentence}", pool, area)
        body = render(sections).rstrip("\n") + "\n"
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

    def addendum_md(self) -> tuple[str, str] | None:
        """An addendum to one signed, attended note, for about one client in ten."""
        rng = self.rng
        if rng.random() >= 0.1:
            return None
        candidates = sorted(n for n in self.hashes if n not in self.missed)
        if not candidates:
            return None
        n = rng.choice(candidates)
        kind = rng.choice(list(ADDENDUM_REASONS))
        day = self.dates[n - 1] + dt.timedelta(days=rng.randint(1, 3))
        body = _wrap(self.writer.sentences(ADDENDUM_TEXT, rng.randint(1, 2))) + "\n"
        fm: dict[str, object] = {
            "client": self.id,
            "kind": kind,
            "amends": {
                "note": f"sessions/{n:02d}.md",
                "content_hash": self.hashes[n],
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
# The repository.
# ---------------------------------------------------------------------------------------------


def write_corpus(out: Path, clients: int, seed: int) -> dict[str, int]:
    """Write the notes repository; return how many files of each kind were written."""
    counts = dict.fromkeys(KINDS, 0)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ipt-notes.yaml").write_text(CONFIG, encoding="utf-8")
    counts["config"] += 1
    for number in range(1, clients + 1):
        client = Client(number, seed)
        folder = out / "clients" / client.id
        sessions = folder / "sessions"
        sessions.mkdir(parents=True, exist_ok=True)
        # Written in the order a course produces them; the generator state follows that order.
        files = {
            "client.yaml": client.client_yaml(),
            "inventory.yaml": client.inventory_yaml(),
            "formulation.md": client.formulation_md(),
        }
        homework: str | None = None
        for n in range(1, SESSIONS + 1):
            text, homework = client.session(n, homework)
            files[f"sessions/{n:02d}.md"] = text
        addendum = client.addendum_md()
        if addendum is not None:
            files[f"sessions/{addendum[0]}"] = addendum[1]
            counts["addendum"] += 1
        files["review.md"] = client.review_md()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        counts["client"] += 1
        counts["inventory"] += 1
        counts["formulation"] += 1
        counts["session"] += SESSIONS
        counts["review"] += 1
    return counts


_SESSION = re.compile(r"[0-9]{2,3}\.md\Z")
_ADDENDUM = re.compile(r"[0-9]{2,3}\.addendum-[1-9][0-9]*\.md\Z")
_PLAIN = {
    "client.yaml": "client",
    "inventory.yaml": "inventory",
    "formulation.md": "formulation",
    "review.md": "review",
}


def kind_of(relative: Path) -> str | None:
    """The kind of a file of the corpus from its place in the layout."""
    parts = relative.parts
    if parts == ("ipt-notes.yaml",):
        return "config"
    if len(parts) == 3 and parts[0] == "clients":
        return _PLAIN.get(parts[2])
    if len(parts) == 4 and parts[0] == "clients" and parts[2] == "sessions":
        if _SESSION.match(parts[3]):
            return "session"
        if _ADDENDUM.match(parts[3]):
            return "addendum"
    return None


def front_matter(text: str) -> str:
    """The YAML between the opening and the closing `---` line of a Markdown note."""
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        raise ValueError("no front matter")
    match = re.search(r"^---[ \t]*\r?$", rest, re.MULTILINE)
    if match is None:
        raise ValueError("front matter not closed")
    return rest[: match.start()]


def export_front_matter(corpus: Path, target: Path) -> dict[str, int]:
    """Write every notes file's YAML to `target/<kind>/<name>.yaml`; return counts by kind."""
    if target.exists():
        shutil.rmtree(target)
    counts = dict.fromkeys(KINDS, 0)
    for kind in KINDS:
        (target / kind).mkdir(parents=True)
    for current, dirs, files in os.walk(corpus):
        dirs.sort()
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
            elif kind in ("session", "addendum"):
                flat = f"{relative.parts[1]}-{stem}"
            else:
                flat = relative.parts[1]
            (target / kind / f"{flat}.yaml").write_text(text, encoding="utf-8")
            counts[kind] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic ipt-notes repository for benchmarks.")
    parser.add_argument("out_dir", type=Path, help="the notes repository to write (created; must be empty or absent)")
    parser.add_argument("--clients", type=int, default=500, help="number of clients (default 500)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator (default 1)")
    parser.add_argument(
        "--front-matter-dir",
        type=Path,
        default=None,
        help="also write each file's YAML here, grouped by kind, for other validators",
    )
    args = parser.parse_args(argv)
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if args.out_dir.exists() and any(args.out_dir.iterdir()):
        parser.error(f"{args.out_dir} exists and is not empty")
    counts = write_corpus(args.out_dir, args.clients, args.seed)
    total = sum(counts.values())
    print(f"wrote {total} notes files to {args.out_dir}: " + ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]))
    if args.front_matter_dir is not None:
        exported = export_front_matter(args.out_dir, args.front_matter_dir)
        print(f"wrote {sum(exported.values())} YAML files to {args.front_matter_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
