"""Turn jsonschema's errors into problems that name the place and the rule, never the content.

jsonschema's own messages quote the offending value, so none of them is used: each message is
built from the schema alone (the allowed values, the bounds, the description of a pattern).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

    from ipt_notes.loader import NodePath

__all__ = ["SchemaFinding", "describe"]

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
_RULE_IDS = {"additionalProperties": "schema-unknown-field"}


@dataclass(frozen=True)
class SchemaFinding:
    """One schema problem: where it is and what the schema expects."""

    path: NodePath
    at_key: bool
    """Point at the key that holds `path` rather than at its value."""
    rule: str
    message: str


def _rule_id(keyword: str) -> str:
    return _RULE_IDS.get(keyword) or "schema-" + re.sub(r"(?<!^)([A-Z])", r"-\1", keyword).lower()


def _literal(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "empty"
    return str(value)


def _pattern_phrase(schema: dict[str, Any]) -> str:
    description = schema.get("description")
    if isinstance(description, str) and description:
        return description.rstrip(".")[0].lower() + description.rstrip(".")[1:]
    return "in the required form"


def _phrase(error: ValidationError) -> str | None:
    """What the value must be, as a noun phrase, for the keywords that allow one."""
    keyword, expected = str(error.validator), cast(Any, error.validator_value)
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        return " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    if keyword == "enum":
        return "one of: " + ", ".join(_literal(v) for v in expected)
    if keyword == "const":
        return _literal(expected)
    if keyword == "pattern" and isinstance(error.schema, dict):
        return _pattern_phrase(error.schema)
    return None


def _message(error: ValidationError) -> str:
    keyword, expected = str(error.validator), cast(Any, error.validator_value)
    phrase = _phrase(error)
    if phrase is not None:
        return f"must be {phrase}"
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "maximum":
        return f"must be at most {expected}"
    if keyword == "minItems":
        return "must not be empty" if expected == 1 else f"must have at least {expected} items"
    if keyword == "maxItems":
        return f"must have at most {expected} items"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"must have at least {expected} characters"
    if keyword == "maxLength":
        return f"must have at most {expected} characters"
    if keyword == "uniqueItems":
        return "must not list the same item twice"
    return f"does not meet the schema's {keyword} rule"


def _signed_note_context(error: ValidationError, document: object) -> str:
    if "then" in error.absolute_schema_path and isinstance(document, dict) and document.get("status") == "signed":
        return " (a signed note must be complete)"
    return ""


def describe(error: ValidationError, document: object) -> Iterator[SchemaFinding]:
    """The findings one jsonschema error stands for (a `required` error may name several fields)."""
    path: NodePath = tuple(error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    expected = cast(Any, error.validator_value)
    if keyword == "required" and isinstance(instance, dict):
        context = _signed_note_context(error, document)
        for name in expected:
            if name not in instance:
                yield SchemaFinding(path, True, "schema-required", f"missing required field '{name}'{context}")
        return
    if keyword == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
        known = error.schema.get("properties", {})
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for name in instance:
            if name not in known and not any(p.search(name) for p in patterns):
                # The key itself may be anything the clinician typed, so it is never repeated:
                # the line and column say which one it is.
                yield SchemaFinding(
                    (*path, name),
                    True,
                    _rule_id(keyword),
                    "unknown field: not part of this file's schema (fields of your own start with x-)",
                )
        return
    if keyword in ("anyOf", "oneOf") and error.context:
        alternatives = [sub for sub in error.context if not sub.relative_path]
        phrases = [_phrase(sub) for sub in alternatives]
        if alternatives and len(alternatives) == len(error.context) and all(phrases):
            unique = list(dict.fromkeys(p for p in phrases if p))
            yield SchemaFinding(path, False, _rule_id(keyword), "must be " + " or ".join(unique))
            return
        from jsonschema.exceptions import best_match

        yield from describe(best_match(error.context), document)
        return
    message = _message(error)
    if "propertyNames" in error.absolute_schema_path:
        # The offending key is not named (it could be anything typed); the mapping is pointed at.
        message = "each key here " + message
    yield SchemaFinding(path, False, _rule_id(keyword), message + _signed_note_context(error, document))
