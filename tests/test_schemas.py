"""The packaged schemas: sound, self-contained, offline, the one home of the vocabularies, and
implemented identically by the compiled validators and by jsonschema."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from ipt_notes.checks import _passes_fast
from ipt_notes.codegen import schemas_digest
from ipt_notes.errors import LoadError
from ipt_notes.layout import FileKind, kind_of
from ipt_notes.loader import read_document
from ipt_notes.resources import schemas_dir
from ipt_notes.schemas import ANNOTATIONS, bundle, load_schema, reference_validator, registry, schema_names
from tests.helpers import INVALID, VALID

PACKAGE = Path(__file__).parents[1] / "ipt_notes"
VOCABULARIES = ("phase", "problem_area", "dispute_stage", "technique", "instrument", "attendance")
# Keywords that fastjsonschema's generated code and jsonschema implement the same way for these
# schemas; anything else must first be shown to agree.
SUPPORTED_KEYWORDS = {
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "type",
    "enum",
    "const",
    "properties",
    "patternProperties",
    "additionalProperties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "allOf",
    "anyOf",
    "if",
    "then",
    "propertyNames",
} | ANNOTATIONS
NAME_MAPS = {"properties", "patternProperties", "$defs"}


def schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every subschema of a schema (values of name maps are schemas, their keys are not)."""
    if isinstance(node, list):
        for item in node:
            yield from schema_nodes(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in NAME_MAPS and isinstance(value, dict):
                for sub in value.values():
                    yield from schema_nodes(sub)
            elif key not in ANNOTATIONS and key not in ("enum", "const", "required"):
                yield from schema_nodes(value)


@pytest.mark.parametrize("name", schema_names())
def test_every_schema_passes_the_2020_12_metaschema(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://ipt-notes.invalid/schemas/{name}.schema.json"
    Draft202012Validator.check_schema(schema)
    Draft202012Validator.check_schema(bundle(name))


def test_there_is_a_schema_for_every_file_kind() -> None:
    assert set(schema_names()) == {kind.value for kind in FileKind} | {"definitions"}


@pytest.mark.parametrize("name", schema_names())
def test_bundled_schemas_are_self_contained(name: str) -> None:
    bundled = bundle(name)
    for node in schema_nodes(bundled):
        ref = node.get("$ref")
        if ref is not None:
            assert ref.startswith("#/$defs/"), ref
            assert ref.split("/")[-1] in bundled["$defs"], ref


@pytest.mark.parametrize("name", schema_names())
def test_schemas_keep_to_the_keywords_both_validators_share(name: str) -> None:
    for node in schema_nodes(load_schema(name)):
        assert set(node) <= SUPPORTED_KEYWORDS, set(node) - SUPPORTED_KEYWORDS
        if "$ref" in node:
            # A $ref's siblings are ignored by draft-07 code generators: they must only annotate.
            assert set(node) - {"$ref"} <= ANNOTATIONS, node


def test_references_resolve_only_from_the_package() -> None:
    packaged = {load_schema(name)["$id"] for name in schema_names()}
    resolver = registry().resolver()
    for uri in packaged:
        assert resolver.lookup(uri).contents == load_schema(uri.rsplit("/", 1)[1][: -len(".schema.json")])
    with pytest.raises(Unresolvable):
        resolver.lookup("https://json-schema.example/remote.json")


def test_each_vocabulary_is_defined_once_in_the_definitions() -> None:
    definitions = load_schema("definitions")["$defs"]
    vocabularies = {name: set(definitions[name]["enum"]) for name in VOCABULARIES}
    for name in schema_names():
        for node in schema_nodes(load_schema(name)):
            if "enum" not in node or any(node is definitions[v] for v in VOCABULARIES):
                continue
            for vocabulary, words in vocabularies.items():
                # One shared word can be chance ("maintenance" is a phase and a decision); more is a copy.
                assert len(set(node["enum"]) & words) < 2, f"{name} repeats the {vocabulary} vocabulary"


def test_the_code_repeats_no_vocabulary() -> None:
    definitions = load_schema("definitions")["$defs"]
    field_names = {
        key for name in schema_names() for node in schema_nodes(load_schema(name)) for key in node.get("properties", {})
    }
    # A term that is also a field name ("homework") may be named as the field.
    words = {
        word
        for name in VOCABULARIES
        for word in definitions[name]["enum"]
        if ("_" in word or len(word) > 5) and word not in field_names
    }
    for source in PACKAGE.glob("*.py"):
        if source.name == "compiled_validators.py":
            continue  # generated from the schemas, so it holds them by design
        text = source.read_text()
        for word in words:
            assert not re.search(rf"[\"']{word}[\"']", text), f"{source.name} names {word!r}"


def test_compiled_validators_are_generated_from_the_current_schemas() -> None:
    from ipt_notes import compiled_validators

    assert schemas_digest() == compiled_validators.SCHEMAS_SHA256, "run: python -m ipt_notes.codegen"
    assert set(compiled_validators.VALIDATORS) == {kind.value for kind in FileKind}


def example_documents() -> Iterator[tuple[str, FileKind, object]]:
    for root in (VALID, INVALID):
        for path in sorted(root.rglob("*")):
            kind = kind_of(path)
            if kind is None:
                continue
            try:
                document = read_document(path, front_matter=kind.has_front_matter)
            except LoadError:
                continue
            yield str(path.relative_to(root.parent)), kind, document.data


def mutations(data: object) -> Iterator[object]:
    """Documents one step away from `data`: each field removed, or replaced by a value of another type."""
    yield data
    if not isinstance(data, dict):
        return
    for key in data:
        without = dict(data)
        del without[key]
        yield without
        for replacement in (None, "text", 7, -1, 2.5, True, [], ["x"], {}, {"x": 1}):
            changed = dict(data)
            changed[key] = replacement
            yield changed
        inner = data[key]
        if isinstance(inner, dict):
            for sub in mutations(inner):
                changed = dict(data)
                changed[key] = sub
                yield changed


@pytest.mark.slow
def test_compiled_and_reference_validators_agree_on_every_example_and_its_mutations() -> None:
    checked = 0
    for where, kind, data in example_documents():
        reference = reference_validator(kind.value)
        for mutated in mutations(copy.deepcopy(data)):
            expected = not any(True for _ in reference.iter_errors(mutated))
            assert _passes_fast(kind, mutated) is expected, (where, json.dumps(mutated)[:300])
            checked += 1
    assert checked > 3000


def test_the_bundled_schema_finds_what_the_reference_finds() -> None:
    for where, kind, data in example_documents():
        reference = sorted(e.json_path for e in reference_validator(kind.value).iter_errors(data))
        bundled = sorted(e.json_path for e in Draft202012Validator(bundle(kind.value)).iter_errors(data))
        assert bundled == reference, where


MINIMAL_DRAFTS: dict[FileKind, dict[str, object]] = {
    FileKind.COSIGNATURE: {
        "client": "C-0001",
        "note": "sessions/01.md",
        "content_hash": "sha256:" + "0" * 64,
        "cosigned_by": "S-01 <s01@clinic.example>",
        "cosigned_at": "2026-01-05T10:00:00Z",
    },
    FileKind.CONFIG: {"version": 1},
    FileKind.REGISTER: {"version": 1},
    FileKind.COURSE_SETTINGS: {"version": 1},
    FileKind.CLIENT: {"client": "C-1", "contract": {"sessions_planned": 16}},
    FileKind.INVENTORY: {"client": "C-1", "people": [], "timeline": []},
    FileKind.FORMULATION: {"client": "C-1", "status": "draft", "problem_areas": [], "agreed_on": None},
    FileKind.SESSION: {
        "client": "C-1",
        "session": 1,
        "date": "2026-01-05",
        "phase": "initial",
        "attendance": "attended",
        "status": "draft",
    },
    FileKind.ADDENDUM: {
        "client": "C-1",
        "kind": "correction",
        "amends": {"note": "sessions/01.md", "content_hash": "sha256:" + "0" * 64},
        "date": "2026-01-06",
        "status": "draft",
        "reason": None,
    },
    FileKind.REVIEW: {"client": "C-1", "status": "draft"},
}


@pytest.mark.parametrize("kind", list(FileKind))
def test_a_minimal_draft_is_valid(kind: FileKind) -> None:
    assert list(reference_validator(kind.value).iter_errors(MINIMAL_DRAFTS[kind])) == []
    assert _passes_fast(kind, MINIMAL_DRAFTS[kind])


def test_signing_a_minimal_draft_demands_the_signature() -> None:
    signed = dict(MINIMAL_DRAFTS[FileKind.SESSION], status="signed")
    messages = {e.message for e in reference_validator("session").iter_errors(signed)}
    assert {"'signed_by' is a required property", "'initial' is a required property"} <= messages


def test_schemas_are_valid_json_files_with_a_trailing_newline() -> None:
    for path in schemas_dir().glob("*.schema.json"):
        text = path.read_text()
        json.loads(text)
        assert text.endswith("\n"), path.name


def test_vocabulary_hints_in_templates_match_the_schemas() -> None:
    from ipt_notes.resources import templates_dir

    vocabularies = {
        frozenset(node["enum"]) for name in schema_names() for node in schema_nodes(load_schema(name)) if "enum" in node
    }
    hints = 0
    for template in templates_dir().iterdir():
        for line in template.read_text().splitlines():
            for found in re.findall(r"#\s*(?:[\w ]+:\s*)?((?:[a-z0-9_]+ \| )+[a-z0-9_]+)", line):
                words = frozenset(word.strip() for word in found.split("|"))
                assert words in vocabularies, (template.name, line)
                hints += 1
    assert hints >= 10


def test_each_vocabulary_binding_names_its_terms() -> None:
    from ipt_notes import vocabulary

    bound = [
        vocabulary.phases(),
        vocabulary.statuses(),
        vocabulary.attendance(),
        vocabulary.areas(),
        vocabulary.course_statuses(),
        vocabulary.life_events(),
    ]
    for terms in bound:
        assert list(terms._fields) == list(terms), type(terms).__name__
