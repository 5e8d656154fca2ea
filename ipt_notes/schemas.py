"""The packaged JSON Schemas: loading, the local reference registry, and bundling.

Schemas refer to each other with relative `$ref`s (`definitions.schema.json#/$defs/phase`).
They resolve through a `referencing` registry built from the packaged files alone, so a
reference never reaches the network: an unknown one is an error.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from ipt_notes.errors import UnknownSchema
from ipt_notes.resources import schemas_dir

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from referencing import Registry

__all__ = [
    "ANNOTATIONS",
    "bundle",
    "combined",
    "load_schema",
    "reference_validator",
    "registry",
    "schema_names",
]

_SUFFIX = ".schema.json"
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default", "x-instrument"})
"""Keywords that describe and never constrain (x-instrument holds the facts of a measure)."""


@cache
def schema_names() -> tuple[str, ...]:
    return tuple(sorted(p.name[: -len(_SUFFIX)] for p in schemas_dir().glob("*" + _SUFFIX)))


@cache
def _load(name: str) -> dict[str, Any]:
    if name not in schema_names():
        raise UnknownSchema(name=name, known=list(schema_names()))
    loaded: dict[str, Any] = json.loads((schemas_dir() / f"{name}{_SUFFIX}").read_text(encoding="utf-8"))
    return loaded


def load_schema(name: str) -> dict[str, Any]:
    """The schema as packaged, with its cross-file references. Callers must not mutate it."""
    return _load(name)


@cache
def registry() -> Registry[Any]:
    """Every packaged schema under its `$id`; nothing is ever retrieved from elsewhere."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in (_load(name) for name in schema_names())
    ]
    return Registry().with_resources(resources).crawl()


@cache
def reference_validator(name: str) -> Validator:
    """The jsonschema validator for a schema: complete, and the reference for every result."""
    from jsonschema import Draft202012Validator

    validator: Validator = Draft202012Validator(_load(name), registry=registry())
    return validator


def _file_of(ref: str) -> str | None:
    target = ref.split("#", 1)[0]
    if not target:
        return None
    if not target.endswith(_SUFFIX):
        raise ValueError(f"a reference outside the packaged schemas: {ref}")
    return target[: -len(_SUFFIX)]


def _rewrite_refs(node: Any, files: set[str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                other = _file_of(value)
                if other is not None:
                    files.add(other)
                    value = "#" + value.split("#", 1)[1]
                out[key] = value
            else:
                out[key] = _rewrite_refs(value, files)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, files) for item in node]
    return node


_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _strip_annotations(node: Any) -> Any:
    """The schema without its annotations (keys under `properties` and the like are names)."""
    if isinstance(node, list):
        return [_strip_annotations(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ANNOTATIONS:
            continue
        if key in _NAME_MAPS and isinstance(value, dict):
            out[key] = {name: _strip_annotations(schema) for name, schema in value.items()}
        else:
            out[key] = _strip_annotations(value)
    return out


def bundle(name: str, *, annotations: bool = True) -> dict[str, Any]:
    """The schema made self-contained: other files' definitions join its own `$defs`.

    References to `other.schema.json#/$defs/X` become `#/$defs/X`, which every JSON Schema tool
    understands (editors through yaml-language-server, check-jsonschema, code generators).
    Definition names are unique across the packaged schemas, so nothing is renamed.
    """
    files: set[str] = set()
    root = _rewrite_refs(_load(name), files)
    defs: dict[str, Any] = root.setdefault("$defs", {})
    done: set[str] = {name}
    while files - done:
        other = sorted(files - done)[0]
        done.add(other)
        for key, definition in _load(other).get("$defs", {}).items():
            if key in defs:
                raise ValueError(f"definition {key!r} of {other} clashes with one in {name}")
            defs[key] = _rewrite_refs(definition, files)
    result: dict[str, Any] = root if annotations else _strip_annotations(root)
    return result


COMBINED_ID = "https://ipt-notes.invalid/schemas/all.schema.json"


def combined(kinds: list[str], *, annotations: bool = True) -> dict[str, Any]:
    """Every packaged schema in one document: each kind's root is the definition `#/$defs/<kind>`.

    Code generated from it has one function per definition, which all kinds share.
    """
    files: set[str] = set()
    defs: dict[str, Any] = {}

    def add(key: str, definition: Any) -> None:
        if key in defs:
            raise ValueError(f"definition {key!r} is defined twice across the packaged schemas")
        defs[key] = definition

    for name in schema_names():
        schema = _rewrite_refs(_load(name), files)
        for key, definition in schema.pop("$defs", {}).items():
            add(key, definition)
        if name in kinds:
            add(name, {key: value for key, value in schema.items() if key not in ("$schema", "$id")})
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": COMBINED_ID,
        "$defs": defs,
        "anyOf": [{"$ref": f"#/$defs/{kind}"} for kind in kinds],
    }
    result: dict[str, Any] = root if annotations else _strip_annotations(root)
    return result
