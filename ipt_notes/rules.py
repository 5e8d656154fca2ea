"""The course rules: IPT fidelity, safety and timeliness checked across one client's record.

Each rule has a stable id, a severity, a one-line rationale (listed in the README) and a check
that yields findings. A finding names a file and, where it can, the node in that file that
breaks the rule; where something is missing it names the file that lacks it. Rules see only the
files that pass their schema, so they can rely on the shape of what they read; a file with schema
errors is reported by the schema and is left out of the course until it is fixed.

A client's `course-settings.yaml` (seeded from the practice's `ipt-notes.yaml`) can turn a rule
off (`rules: {measure-cadence: false}`), change its severity (`{severity: warning}`) or set its
options (`{every: 6}`). Each option's default is declared once, with its rule.

Messages name sessions by number and fields by name. They never quote a value: no date, no text.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ipt_notes.course import Course, SessionNote
from ipt_notes.identity import email_of
from ipt_notes.layout import CLIENT_NAME, CLIENTS_DIR, FORMULATION_NAME, INVENTORY_NAME, REVIEW_NAME, in_practice
from ipt_notes.loader import NodePath
from ipt_notes.problems import INTERNAL_RULE_ERROR_ID, Severity
from ipt_notes.settings import CourseSettings
from ipt_notes.vocabulary import (
    addendum_kinds,
    areas,
    attendance,
    close_reasons,
    course_statuses,
    instrument,
    instruments,
    life_events,
    phases,
    statuses,
)

__all__ = [
    "INTERNAL_RULE_ERROR",
    "RULES",
    "Finding",
    "Rule",
    "RuleContext",
    "rule_option",
    "rule_settings_problems",
    "run_rules",
]


class Finding(NamedTuple):
    """Where a rule is broken and what it expects."""

    path: Path
    message: str
    at: NodePath = ()
    """The node in the file; () is the start of the document."""
    key: bool = False
    """Point at the key that holds the node rather than at its value."""


class RuleContext(NamedTuple):
    course: Course
    settings: CourseSettings
    today: dt.date
    rule_id: str

    def option(self, name: str) -> int:
        return rule_option(self.settings, self.rule_id, name)


Check = Callable[[RuleContext], Iterator[Finding]]


class Rule(NamedTuple):
    id: str
    severity: Severity
    rationale: str
    check: Check
    options: dict[str, int]
    """Each option's default."""


RULES: dict[str, Rule] = {}


def rule(id: str, severity: Severity, rationale: str, **options: int) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES[id] = Rule(id, severity, rationale, check, dict(options))
        return check

    return register


# Reading a course


def _notes(course: Course) -> list[tuple[SessionNote, dict[str, Any]]]:
    """The session notes that passed their schema, with their fields."""
    return [(note, note.data) for note in course.sessions if note.data is not None]


def _signed(data: dict[str, Any]) -> bool:
    return bool(data.get("status") == statuses().signed)


def _attended(data: dict[str, Any]) -> bool:
    return bool(data.get("attendance") == attendance().attended)


def _first_signed(course: Course, phase: str) -> tuple[SessionNote, dict[str, Any]] | None:
    """The first signed note of a phase: a session is on record once it is signed, and a draft
    scaffolded ahead of time must not make the rules about what comes before it fire."""
    for note, data in _notes(course):
        if data.get("phase") == phase and _signed(data):
            return note, data
    return None


def _scores(data: dict[str, Any], measure: str) -> list[int] | None:
    scores = (data.get("measures") or {}).get(measure)
    return scores if isinstance(scores, list) else None


# The rules of IPT.md, in its order


@rule(
    "contract-before-middle",
    Severity.ERROR,
    "The treatment contract (number of sessions, frequency, focus) is agreed before the middle phase begins.",
)
def _contract_before_middle(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    first_middle = _first_signed(course, phases().middle)
    if first_middle is None or course.client is None:
        return
    note, data = first_middle
    contract = course.client["contract"]
    agreed = contract.get("agreed_on")
    if agreed is None:
        yield Finding(
            course.file(CLIENT_NAME),
            f"the contract has no agreed_on date, but session {note.number} is in the middle phase",
            ("contract",),
            key=True,
        )
    elif agreed > data["date"]:
        yield Finding(
            course.file(CLIENT_NAME),
            f"the contract was agreed after session {note.number}, the first of the middle phase",
            ("contract", "agreed_on"),
        )


@rule(
    "initial-phase-tasks",
    Severity.WARNING,
    "By the end of the initial phase the diagnosis is named, the sick role given and a baseline measure scored.",
)
def _initial_phase_tasks(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    notes = _notes(course)
    initial = [(note, data) for note, data in notes if data.get("phase") == phases().initial]
    if not initial or not any(note.number > initial[-1][0].number and _signed(data) for note, data in notes):
        return
    tasks = [data.get(phases().initial) or {} for _, data in initial]
    diagnosis = (course.client or {}).get("diagnosis") or {}
    missing = []
    if not diagnosis.get("description") and not any(task.get("diagnosis_discussed") for task in tasks):
        missing.append("the diagnosis")
    if not any(task.get("sick_role_given") for task in tasks):
        missing.append("the sick role")
    if not any(data.get("measures") for _, data in initial):
        missing.append("a baseline measure")
    if missing:
        last = initial[-1][0]
        yield Finding(
            last.path,
            f"the initial phase ended at session {last.number} without {', '.join(missing)} on record",
        )


@rule(
    "inventory-complete",
    Severity.WARNING,
    "The interpersonal inventory names at least one person, each with a closeness rating and expectations.",
)
def _inventory_complete(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    path = course.file(INVENTORY_NAME)
    if _first_signed(course, phases().middle) is None:
        return
    if course.inventory is None:
        if not course.has(INVENTORY_NAME):
            yield Finding(path, "the middle phase has begun but there is no interpersonal inventory")
        return
    people = course.inventory.get("people") or []
    if not people:
        yield Finding(path, "the inventory names no one, but the middle phase has begun", ("people",), key=True)
    for index, person in enumerate(people):
        lacking = [name for name in ("closeness", "expectations") if not person.get(name)]
        if lacking:
            yield Finding(path, f"this person has no {' and no '.join(lacking)}", ("people", index))


@rule(
    "formulation-agreed",
    Severity.ERROR,
    "The formulation names one or two problem areas, one of them primary, agreed with the patient by the "
    "first middle-phase session.",
)
def _formulation_agreed(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    first_middle = _first_signed(course, phases().middle)
    path = course.file(FORMULATION_NAME)
    if first_middle is None:
        return
    note, data = first_middle
    formulation = course.formulation
    if formulation is None:
        if not course.has(FORMULATION_NAME):
            yield Finding(path, f"session {note.number} is in the middle phase but there is no formulation")
        return
    chosen = formulation.get("problem_areas") or []
    if not chosen:
        yield Finding(path, "the formulation chooses no problem area", ("problem_areas",), key=True)
    elif sum(1 for entry in chosen if entry.get("primary") is True) != 1:
        yield Finding(path, "exactly one problem area must be primary", ("problem_areas",), key=True)
    agreed = formulation.get("agreed_on")
    if agreed is None:
        yield Finding(path, "the formulation has no agreed_on date: the patient's agreement is not recorded")
    elif agreed > data["date"]:
        yield Finding(
            path,
            f"the formulation was agreed after session {note.number}, the first of the middle phase",
            ("agreed_on",),
        )


@rule(
    "focus-problem-area",
    Severity.ERROR,
    "Every middle-phase session works at least one of the problem areas the formulation chose.",
)
def _focus_problem_area(ctx: RuleContext) -> Iterator[Finding]:
    chosen = set(ctx.course.problem_areas)
    for note, data in _notes(ctx.course):
        if data.get("phase") != phases().middle or not _signed(data) or not _attended(data):
            continue
        if not chosen & set(data.get("problem_areas") or []):
            yield Finding(
                note.path,
                "this session works none of the formulation's problem areas",
                ("problem_areas",),
                key=True,
            )


@rule(
    "dispute-stage-recorded",
    Severity.ERROR,
    "A session that addresses a role dispute records the dispute's stage (renegotiation, impasse, dissolution).",
)
def _dispute_stage_recorded(ctx: RuleContext) -> Iterator[Finding]:
    for note, data in _notes(ctx.course):
        if not _signed(data) or areas().role_dispute not in (data.get("problem_areas") or []):
            continue
        if "dispute_stage" not in data:
            yield Finding(note.path, "a role dispute is worked but its stage is not recorded", ("problem_areas",), True)


@rule(
    "measure-cadence",
    Severity.WARNING,
    "Each measure the practice scores (PHQ-9 by default) is scored at least every N attended sessions.",
    every=4,
)
def _measure_cadence(ctx: RuleContext) -> Iterator[Finding]:
    every = ctx.option("every")
    measures = (ctx.course.client or {}).get("measures") or ctx.settings.measures
    for measure in measures:
        unscored = 0
        for note, data in _notes(ctx.course):
            if not _attended(data):
                continue
            if _scores(data, measure) is not None:
                unscored = 0
                continue
            unscored += 1
            if unscored == every and _signed(data):
                yield Finding(
                    note.path,
                    f"{measure} has not been scored in the {every} attended sessions up to session {note.number}",
                    ("measures",),
                    key="measures" in data,
                )
                unscored = 0


@rule(
    "risk-block-required",
    Severity.ERROR,
    "A positive risk screen (PHQ-9 item 9 or EPDS item 10 above 0) requires a risk assessment in the same "
    "note: ideation, level and actions.",
)
def _risk_block_required(ctx: RuleContext) -> Iterator[Finding]:
    for measure_name in instruments():
        measure = instrument(measure_name)
        if measure.risk_item is None:
            continue
        for note, data in _notes(ctx.course):
            scores = _scores(data, measure_name)
            if scores is None or len(scores) < measure.risk_item or scores[measure.risk_item - 1] <= 0:
                continue
            risk = data.get("risk") or {}
            lacking = [name for name in ("suicidal_ideation", "level", "actions") if risk.get(name) is None]
            if lacking:
                yield Finding(
                    note.path,
                    f"item {measure.risk_item} of {measure_name} is above 0: the risk block needs "
                    + ", ".join(lacking),
                    ("risk",) if "risk" in data else ("measures", measure_name, measure.risk_item - 1),
                    key="risk" in data,
                )


@rule(
    "termination-discussed",
    Severity.WARNING,
    "Within the last planned sessions (phases.termination_sessions of the course settings) and after the "
    "initial phase, the notes discuss termination.",
)
def _termination_discussed(ctx: RuleContext) -> Iterator[Finding]:
    planned = ctx.course.planned
    if planned is None:
        return
    window = ctx.settings.phases.termination_sessions
    for note, data in _notes(ctx.course):
        remaining = planned - note.number
        if not 0 <= remaining < window or not _signed(data) or not _attended(data):
            continue
        if note.number <= ctx.settings.phases.initial_sessions:
            continue  # in a very short course the initial phase comes first, as new-session writes it
        if data.get("phase") != phases().termination and phases().termination not in data:
            yield Finding(
                note.path,
                f"{remaining} sessions remain after this one but termination is not discussed",
                ("phase",),
            )


@rule(
    "sessions-over-contract",
    Severity.WARNING,
    "A course holds no more sessions than its contract, unless the contract is amended or maintenance follows.",
)
def _sessions_over_contract(ctx: RuleContext) -> Iterator[Finding]:
    planned = ctx.course.planned
    if planned is None:
        return
    for note, data in _notes(ctx.course):
        if note.number > planned and data.get("phase") != phases().maintenance:
            yield Finding(
                note.path,
                f"session {note.number} is beyond the {planned} of the contract; amend the contract or "
                "record it as maintenance",
                ("session",),
            )


@rule(
    "final-review",
    Severity.ERROR,
    "A closed course has a final review. Once signed, it sets baseline against final PHQ-9 scores and names "
    "the warning signs of relapse (unless the course ended before it could: a dropout, a move), and records "
    "a maintenance decision or referral.",
)
def _final_review(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    client = course.client or {}
    if client.get("course_status") != course_statuses().closed:
        return
    client_file = course.file(CLIENT_NAME)
    review_file = course.file(REVIEW_NAME)
    if course.review is None:
        if not course.has(REVIEW_NAME):
            yield Finding(client_file, "the course is closed but has no review.md", ("course_status",))
        return
    # A draft review is the clinician's work in progress (close scaffolds one); the rule judges
    # what is signed.
    if course.review.get("status") != statuses().signed:
        return
    if not (course.review.get("maintenance") or {}).get("decision"):
        yield Finding(review_file, "the review records no maintenance decision or referral")
    reason = client.get("close_reason", close_reasons().completed)
    if reason not in (close_reasons().completed, close_reasons().referred):
        return  # the course ended early: the review records what is known
    scored = [note for note, data in _notes(course) if _scores(data, "phq9") is not None]
    if len(scored) < 2:
        yield Finding(
            review_file,
            "the course has fewer than two PHQ-9 scores, so the review cannot set baseline against final",
        )
    if not course.review.get("relapse_warning_signs"):
        yield Finding(review_file, "the review names no warning signs of relapse", ("relapse_warning_signs",))


@rule(
    "phase-matches-session",
    Severity.ERROR,
    "A note's phase agrees with its number, by the boundaries new-session uses (phases of the course "
    "settings): initial within the first sessions, termination within the last planned ones, maintenance "
    "only after the last planned session.",
)
def _phase_matches_session(ctx: RuleContext) -> Iterator[Finding]:
    planned = ctx.course.planned
    window = ctx.settings.phases.termination_sessions
    initial_last = ctx.settings.phases.initial_sessions
    phase = phases()
    for note, data in _notes(ctx.course):
        given = data.get("phase")
        problem = None
        if given == phase.initial and note.number > initial_last:
            problem = f"an initial-phase session comes no later than session {initial_last}"
        elif given == phase.termination and planned is not None and planned - note.number >= window:
            problem = f"termination takes the last {window} of the {planned} planned sessions"
        elif given == phase.maintenance and planned is not None and note.number <= planned:
            problem = f"maintenance comes after the {planned} planned sessions"
        if problem:
            yield Finding(note.path, problem, ("phase",))


@rule(
    "session-sequence",
    Severity.ERROR,
    "Session numbers match their file names and run from 1 without gaps, and no date goes back.",
)
def _session_sequence(ctx: RuleContext) -> Iterator[Finding]:
    expected = 1
    for note in ctx.course.sessions:
        if note.number != expected:
            missing = (
                f"session {expected} is"
                if note.number == expected + 1
                else f"sessions {expected} to {note.number - 1} are"
            )
            yield Finding(note.path, f"{missing} missing before session {note.number}")
        expected = note.number + 1
        data = note.data
        if data is None:
            continue
        if data.get("session") != note.number:
            yield Finding(note.path, f"the session number differs from the file name ({note.path.name})", ("session",))
    for note, date, before, earlier in _date_pairs(ctx.course):
        if date < earlier:
            yield Finding(note.path, f"the date is before the date of session {before.number}", ("date",))


def _date_pairs(course: Course) -> Iterator[tuple[SessionNote, str, SessionNote, str]]:
    """Each readable note with its date, beside the note before it and that note's date."""
    notes = _notes(course)
    for (before, earlier), (note, data) in itertools.pairwise(notes):
        yield note, data["date"], before, earlier["date"]


@rule(
    "same-day-sessions",
    Severity.WARNING,
    "Session dates strictly increase: two sessions on one day are usually a wrong date.",
)
def _same_day_sessions(ctx: RuleContext) -> Iterator[Finding]:
    for note, date, before, earlier in _date_pairs(ctx.course):
        if date == earlier:
            yield Finding(note.path, f"the date is the date of session {before.number}", ("date",))


@rule(
    "client-matches-folder",
    Severity.ERROR,
    "Every file of a client names the client of client.yaml, and in a practice the client's folder bears that ID.",
)
def _client_matches_folder(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    if in_practice(course.folder) and course.folder.name != course.client_id and course.client is not None:
        yield Finding(
            course.file(CLIENT_NAME),
            f"the client differs from the name of its folder in {CLIENTS_DIR}/ ({course.folder.name})",
            ("client",),
        )
    files: list[tuple[Path, dict[str, Any] | None]] = [
        (course.file(CLIENT_NAME), course.client),
        (course.file(INVENTORY_NAME), course.inventory),
        (course.file(FORMULATION_NAME), course.formulation),
        (course.file(REVIEW_NAME), course.review),
    ]
    files += [(note.path, note.data) for note in course.sessions]
    files += [(addendum.path, addendum.data) for addendum in course.addenda]
    files += [(cosignature.path, cosignature.data) for cosignature in course.cosignatures]
    for path, data in files:
        if data is not None and data.get("client") != course.client_id:
            yield Finding(path, f"the client differs from client.yaml's ({course.client_id})", ("client",))


@rule(
    "score-ranges",
    Severity.ERROR,
    "Every item score is within its instrument's range, item by item (HAM-D-17 items run to 2 or 4), and any "
    "stored total equals the sum of the items.",
)
def _score_ranges(ctx: RuleContext) -> Iterator[Finding]:
    for note, data in _notes(ctx.course):
        measures = data.get("measures") or {}
        for name, stored in (measures.get("totals") or {}).items():
            scores = measures.get(name)
            if scores is None:
                yield Finding(
                    note.path, f"a total of {name} is stored but its items are not", ("measures", "totals", name)
                )
            elif stored != instrument(name).total(scores):
                yield Finding(
                    note.path,
                    f"the stored total of {name} differs from the sum of its items",
                    ("measures", "totals", name),
                )
        for name, scores in measures.items():
            if name == "totals":
                continue
            measure = instrument(name)
            for item, score in enumerate(scores, start=1):
                if score > measure.maximum_of(item):
                    yield Finding(
                        note.path,
                        f"item {item} of {name} runs from 0 to {measure.maximum_of(item)}",
                        ("measures", name, item - 1),
                    )


# Further rules: timeliness, addenda, and the choice of problem area


@rule(
    "draft-unsigned",
    Severity.WARNING,
    "A note is signed within N days of its session (timeliness of the record).",
    days=7,
)
def _draft_unsigned(ctx: RuleContext) -> Iterator[Finding]:
    days = ctx.option("days")
    for note, data in _notes(ctx.course):
        if _signed(data):
            continue
        held = (ctx.today - dt.date.fromisoformat(data["date"])).days
        if held > days:
            yield Finding(
                note.path, f"session {note.number} is still a draft more than {days} days after it", ("status",)
            )


# One day either way: a note dated and signed in the course's time zone, checked on a machine in
# another, must not be reported for the hours between the two zones.
_ZONE_TOLERANCE = dt.timedelta(days=1)


@rule(
    "signed-in-future",
    Severity.ERROR,
    "A signed note records a session that has happened: it is not dated after today, nor signed before its date "
    "or after today.",
)
def _signed_in_future(ctx: RuleContext) -> Iterator[Finding]:
    for note, data in _notes(ctx.course):
        if not _signed(data):
            continue  # a draft scaffolded ahead of its session is normal
        date = dt.date.fromisoformat(data["date"])
        signed = ctx.settings.date_of(data["signed_at"]) if "signed_at" in data else None
        if date > ctx.today + _ZONE_TOLERANCE:
            yield Finding(note.path, f"session {note.number} is signed but dated after today", ("date",))
        elif signed is not None and signed > ctx.today + _ZONE_TOLERANCE:
            yield Finding(note.path, f"session {note.number} records a signing time after today", ("signed_at",))
        elif signed is not None and signed < date - _ZONE_TOLERANCE:
            yield Finding(note.path, f"session {note.number} was signed before the date of its session", ("signed_at",))


@rule(
    "signed-late",
    Severity.WARNING,
    "A note signed later than draft-unsigned's N days after its session carries a signed late_entry addendum "
    "saying why.",
)
def _signed_late(ctx: RuleContext) -> Iterator[Finding]:
    days = dt.timedelta(days=rule_option(ctx.settings, "draft-unsigned", "days")) + _ZONE_TOLERANCE
    explained = {
        addendum.session
        for addendum in ctx.course.addenda
        if addendum.data is not None
        and addendum.data.get("kind") == addendum_kinds().late_entry
        and _signed(addendum.data)
    }
    for note, data in _notes(ctx.course):
        if not _signed(data) or "signed_at" not in data or note.number in explained:
            continue
        if ctx.settings.date_of(data["signed_at"]) > dt.date.fromisoformat(data["date"]) + days:
            yield Finding(
                note.path,
                f"session {note.number} was signed more than {days.days - 1} days after it, and no late_entry "
                "addendum says why (ipt-notes amend --kind late_entry)",
                ("signed_at",),
            )


@rule(
    "addendum-target",
    Severity.ERROR,
    "An addendum amends a session note that exists and is signed, and is filed with it.",
)
def _addendum_target(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    for addendum in course.addenda:
        if addendum.data is None:
            continue
        target = addendum.data["amends"]["note"]
        number = int(Path(target).stem)
        note = course.session(number)
        if number != addendum.session:
            yield Finding(
                addendum.path,
                f"this addendum amends session {number} but is filed with session {addendum.session}",
                ("amends", "note"),
            )
        if note is None:
            yield Finding(
                addendum.path, f"session {number}, which this addendum amends, does not exist", ("amends", "note")
            )
        elif note.data is not None and not _signed(note.data):
            yield Finding(
                addendum.path,
                f"session {number} is not signed: a draft is corrected in place, not by an addendum",
                ("amends", "note"),
            )


@rule(
    "deficits-with-life-events",
    Severity.WARNING,
    "Interpersonal deficits is the area of last resort: choosing it while the record shows a death, a dispute or "
    "a transition deserves a second look.",
)
def _deficits_with_life_events(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    chosen = (course.formulation or {}).get("problem_areas") or []
    deficits = [i for i, entry in enumerate(chosen) if entry.get("area") == areas().interpersonal_deficits]
    if not deficits:
        return
    inventory = course.inventory or {}
    kinds = {event.get("kind") for event in inventory.get("timeline") or []}
    linked = {person.get("problem_area") for person in inventory.get("people") or []}
    others = {areas().grief, areas().role_dispute, areas().role_transition}
    events = life_events()
    if kinds & {events.death, events.dispute, events.transition} or linked & others:
        yield Finding(
            course.file(FORMULATION_NAME),
            "interpersonal deficits is chosen while the inventory records a death, a dispute or a transition",
            ("problem_areas", deficits[0], "area"),
        )


def _signed_notes(course: Course) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """Every signed note, addendum and review, with its path relative to the client folder."""
    notes: list[tuple[Path, dict[str, Any] | None]] = [(note.path, note.data) for note in course.sessions]
    notes += [(addendum.path, addendum.data) for addendum in course.addenda]
    notes.append((course.file(REVIEW_NAME), course.review))
    for path, data in notes:
        if data is not None and _signed(data):
            yield path.relative_to(course.folder).as_posix(), path, data


def _supervisor(course: Course) -> str | None:
    supervisor = (course.client or {}).get("supervisor")
    return supervisor if isinstance(supervisor, str) and supervisor else None


@rule(
    "cosign-pending",
    Severity.WARNING,
    "When client.yaml names a supervisor, every signed note awaits the supervisor's co-signature.",
)
def _cosign_pending(ctx: RuleContext) -> Iterator[Finding]:
    if _supervisor(ctx.course) is None:
        return
    cosigned = {cosignature.note for cosignature in ctx.course.cosignatures}
    for relative, path, _ in _signed_notes(ctx.course):
        if relative not in cosigned:
            yield Finding(path, "signed, and awaiting the supervisor's co-signature (ipt-notes cosign)", ("status",))


@rule(
    "cosignature-matches",
    Severity.ERROR,
    "A co-signature sits beside the signed note it names, repeats that note's content hash, and is the supervisor's.",
)
def _cosignature_matches(ctx: RuleContext) -> Iterator[Finding]:
    course = ctx.course
    signed = {relative: data for relative, _, data in _signed_notes(course)}
    supervisor = _supervisor(course)
    clinician = (course.client or {}).get("clinician")
    address = email_of(clinician) if isinstance(clinician, str) else ""
    if supervisor is not None and address and address == email_of(supervisor):
        yield Finding(
            course.file(CLIENT_NAME),
            "the supervisor is the clinician: a co-signature is a second person's",
            ("supervisor",),
        )
    for cosignature in course.cosignatures:
        data = cosignature.data
        if data is None:
            continue
        note = signed.get(cosignature.note)
        if data["note"] != cosignature.note:
            yield Finding(cosignature.path, "it names another note than the one whose name it carries", ("note",))
        elif note is None:
            what = "is not signed" if course.folder / cosignature.note in course.present else "does not exist"
            yield Finding(cosignature.path, f"the note it co-signs {what}", ("note",))
        elif data["content_hash"] != note.get("content_hash"):
            yield Finding(
                cosignature.path, "its content hash is not the note's: it co-signs another text", ("content_hash",)
            )
        if supervisor is not None and data["cosigned_by"] != supervisor:
            yield Finding(cosignature.path, "it is not by the supervisor client.yaml names", ("cosigned_by",))


# Running them


def rule_settings_problems(rules: Mapping[str, Any]) -> Iterator[Finding]:
    """What is wrong in a `rules:` mapping of settings: an unknown rule, an unknown option, or an
    option that is not a whole number from 1. The schema cannot know the rules; the registry does.

    Findings carry no path of their own (the caller's file), and never repeat a key as typed.
    """
    here = Path()
    for rule_id, configured in rules.items():
        if rule_id.startswith("x-"):
            continue
        if rule_id not in RULES:
            yield Finding(here, "no course rule has this id (the README lists them)", ("rules", rule_id), key=True)
            continue
        if not isinstance(configured, dict):
            continue
        known = RULES[rule_id].options
        for option, value in configured.items():
            if option in ("enabled", "severity") or option.startswith("x-"):
                continue
            if option not in known:
                options = ", ".join(known) or "none"
                message = f"{rule_id} has no such option (its options: {options})"
                yield Finding(here, message, ("rules", rule_id, option), key=True)
            elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
                yield Finding(here, f"{rule_id}'s {option} is a whole number from 1", ("rules", rule_id, option))


def rule_option(settings: CourseSettings, rule_id: str, option: str) -> int:
    """A rule's numeric option (e.g. measure-cadence's `every`) as the course sets it, or its default."""
    default = RULES[rule_id].options[option]
    configured = settings.rules.get(rule_id)
    value = configured.get(option, default) if isinstance(configured, dict) else default
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _configured(rule_: Rule, settings: CourseSettings) -> tuple[bool, Severity]:
    configured = settings.rules.get(rule_.id)
    if configured is False:
        return False, rule_.severity
    if not isinstance(configured, dict):
        return True, rule_.severity
    enabled = configured.get("enabled", True) is not False
    severity = Severity(configured["severity"]) if configured.get("severity") else rule_.severity
    return enabled, severity


def run_rules(
    course: Course, settings: CourseSettings, today: dt.date | None = None
) -> Iterator[tuple[Rule, Severity, Finding]]:
    """Every finding of every enabled rule over one course, with the severity it is reported at.

    `today` defaults to the date in the course's time zone.
    """
    today = settings.today() if today is None else today
    for rule_ in RULES.values():
        enabled, severity = _configured(rule_, settings)
        if not enabled:
            continue
        context = RuleContext(course=course, settings=settings, today=today, rule_id=rule_.id)
        try:
            # Collected before they are yielded, so that a rule that fails part-way is reported once.
            findings = list(rule_.check(context))
        except Exception as error:  # noqa: BLE001 - one rule's defect must not hide the others' findings
            yield INTERNAL_RULE_ERROR, Severity.ERROR, _internal_error(course, rule_, error)
            continue
        for finding in findings:
            yield rule_, severity, finding


INTERNAL_RULE_ERROR = Rule(
    INTERNAL_RULE_ERROR_ID,
    Severity.ERROR,
    "A course rule failed on this record: a defect in ipt-notes, reported so that the other rules still run.",
    lambda _context: iter(()),
    {},
)


def _internal_error(course: Course, rule_: Rule, error: Exception) -> Finding:
    # The exception's type only: its text could quote a value from the record.
    return Finding(
        course.file(CLIENT_NAME),
        f"the rule {rule_.id} failed on client {course.client_id} ({type(error).__name__}); the other rules were "
        "checked. Please report this with the rule's name",
    )
