"""The strict loader: what YAML means in a note, and every way a file is refused."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipt_notes.errors import LoadError
from ipt_notes.loader import MAX_FILE_BYTES, load_yaml, parse_document, yaml_positions


def refused(raw: bytes, *, front_matter: bool = False) -> LoadError:
    with pytest.raises(LoadError) as caught:
        parse_document(raw, front_matter=front_matter)
    return caught.value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2026-02-02", "2026-02-02"),
        ("2026-02-02T10:00:00Z", "2026-02-02T10:00:00Z"),
        ("no", "no"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("1:30", "1:30"),
        ("190:20:30", "190:20:30"),
        ("0755", "0755"),
        ("0o17", "0o17"),
        ("0x1F", "0x1F"),
        ("0", 0),
        ("-3", -3),
        ("+4", 4),
        ("12", 12),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1_000", "1_000"),
        (".inf", ".inf"),
        (".nan", ".nan"),
        ("~", None),
        ("null", None),
        ("", None),
        ("'5'", "5"),
        ('"true"', "true"),
        ("9" * 5000, "9" * 5000),
    ],
)
def test_plain_scalars_resolve_predictably(source: str, expected: object) -> None:
    assert load_yaml(f"value: {source}\n") == {"value": expected}


def test_keys_are_always_strings() -> None:
    assert load_yaml("1: a\ntrue: b\nnull: c\n2026-01-01: d\n") == {
        "1": "a",
        "true": "b",
        "null": "c",
        "2026-01-01": "d",
    }


def test_block_scalars_are_strings() -> None:
    assert load_yaml("a: |\n  12\nb: >\n  true\n") == {"a": "12\n", "b": "true\n"}


def test_front_matter_and_body_are_split_at_the_fences() -> None:
    document = parse_document(b"---\na: 1\n---\n# Body\n---\nmore\n", front_matter=True)
    assert document.data == {"a": 1}
    assert document.body == "# Body\n---\nmore\n"
    assert document.line_offset == 1


def test_front_matter_may_close_with_dots() -> None:
    assert parse_document(b"---\na: 1\n...\nbody", front_matter=True).data == {"a": 1}


def test_bom_and_crlf_are_accepted() -> None:
    document = parse_document(b"\xef\xbb\xbf---\r\na: 1\r\nb: [x, y]\r\n---\r\nbody\r\n", front_matter=True)
    assert document.data == {"a": 1, "b": ["x", "y"]}


@pytest.mark.parametrize(
    ("raw", "rule", "line", "col"),
    [
        (b"a: 1\nb: 2\na: 3\n", "yaml-duplicate-key", 3, 1),
        (b"a:\n  b: 1\n  b: 2\n", "yaml-duplicate-key", 3, 3),
        (b"- {x: 1, x: 2}\n", "yaml-duplicate-key", 1, 10),
        (b"a: &anchor 1\n", "yaml-anchor", 1, 4),
        (b"a: &anchor [1]\n", "yaml-anchor", 1, 4),
        (b"a: 1\nb: *alias\n", "yaml-alias", 2, 4),
        (b"a: !!str 1\n", "yaml-tag", 1, 4),
        (b"a: !local {}\n", "yaml-tag", 1, 4),
        (b"a: ! x\n", "yaml-tag", 1, 4),
        (b"? [a]\n: 1\n", "yaml-complex-key", 1, 3),
        (b"? {a: 1}\n: 1\n", "yaml-complex-key", 1, 3),
        (b"a: 1\n---\nb: 2\n", "yaml-multiple-documents", 2, 1),
        (b"a: [1, 2\n", "yaml-syntax", 2, 1),
        (b"a:\n\tb: 1\n", "yaml-syntax", 2, 1),
        (b"a: b: c\n", "yaml-syntax", 1, 5),
        (b"a: caf\xc3\n", "encoding", 1, 7),
        (b"ok: 1\nb: \xff\xfe\n", "encoding", 2, 4),
        (b"a: x\x07y\n", "yaml-character", 1, 5),
        (b"a: x\x00y\n", "yaml-character", 1, 5),
        (b"a: " + b"[" * 40 + b"]" * 40 + b"\n", "yaml-too-deep", 1, 35),
        (b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 40)), "yaml-too-deep", 33, 65),
        # libyaml scans ahead and stops at its own limit first.
        (b"a: " + b"[" * 2000 + b"]" * 2000, "yaml-too-deep", 1, 1003),
        (b"a: x\n" * (MAX_FILE_BYTES // 5 + 1), "file-too-large", 1, 1),
    ],
)
def test_refusals_carry_their_rule_and_place(raw: bytes, rule: str, line: int, col: int) -> None:
    error = refused(raw)
    assert (error.rule, error.line, error.col) == (rule, line, col)


def test_a_duplicate_key_names_both_lines() -> None:
    error = refused(b"---\nclient: a\nsession: 1\nclient: b\n---\n", front_matter=True)
    assert (error.line, error.col) == (4, 1)
    assert "line 2" in error.message


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"a: 1\n", "front-matter-missing"),
        (b"", "front-matter-missing"),
        (b"--- a\nb: 1\n---\n", "front-matter-missing"),
        (b"---\na: 1\n", "front-matter-unclosed"),
        (b"---", "front-matter-unclosed"),
        (b"---\na: 1\n----\n", "front-matter-unclosed"),
    ],
)
def test_front_matter_faults_point_at_the_opening_fence(raw: bytes, rule: str) -> None:
    error = refused(raw, front_matter=True)
    assert (error.rule, error.line, error.col) == (rule, 1, 1)


def test_front_matter_errors_count_lines_in_the_file() -> None:
    error = refused(b"---\na: 1\nb: [\n---\n", front_matter=True)
    assert error.rule == "yaml-syntax"
    assert error.line >= 4


def test_the_size_cap_is_on_the_whole_file_body_included() -> None:
    raw = b"---\na: 1\n---\n" + b"x" * MAX_FILE_BYTES
    assert refused(raw, front_matter=True).rule == "file-too-large"
    assert parse_document(raw[:MAX_FILE_BYTES], front_matter=True).data == {"a": 1}


def test_messages_never_quote_the_source() -> None:
    secret = "Zq9secret"
    sources = [
        f"a: *{secret}\n",
        f"a: &{secret} 1\n",
        f"a: !{secret} 1\n",
        f"{secret}: 1\n{secret}: 2\n",
        f"a: [{secret}\n",
        f"a: '{secret}\n",
        f'a: "{secret}\\q"\n',
        f"a: {secret}\n\t{secret}\n",
        f"{secret}\n: :\n",
        f"a: {secret}\x07\n",
    ]
    for source in sources:
        with pytest.raises(LoadError) as caught:
            load_yaml(source)
        assert secret not in str(caught.value), source


def test_positions_point_at_values_and_keys() -> None:
    text = "a: 1\nb:\n  c: [x, y]\n  d:\n    - e: 2\n"
    positions = yaml_positions(text, 1)
    assert positions.of_value(("a",)) == (2, 4)
    assert positions.of_key(("b",)) == (3, 1)
    assert positions.of_value(("b", "c", 1)) == (4, 10)
    assert positions.of_key(("b", "d", 0, "e")) == (6, 7)
    # A path that does not exist falls back to its nearest existing parent.
    assert positions.of_value(("b", "c", 7)) == (4, 6)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_fuzz_bytes_only_ever_give_data_or_a_load_error(raw: bytes) -> None:
    for front_matter in (False, True):
        with contextlib.suppress(LoadError):
            parse_document(raw, front_matter=front_matter)


YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-[]{},'\"&*!?|>#%@`~\n\t .01")) | st.characters(codec="utf-8"),
    max_size=400,
)


@settings(max_examples=600, deadline=None)
@given(YAMLISH)
def test_fuzz_yaml_like_text_only_ever_gives_data_or_a_load_error(text: str) -> None:
    try:
        load_yaml(text)
    except LoadError as error:
        assert error.line >= 1 and error.col >= 1


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * (MAX_FILE_BYTES - 1),
        b"a: " + b"x" * (MAX_FILE_BYTES - 10),
        b"- " * (MAX_FILE_BYTES // 2 - 1),
        b"{a: " * (MAX_FILE_BYTES // 4 - 1),
        b"\n".join(b"k%d: v" % i for i in range(90_000))[:MAX_FILE_BYTES],
        b"'" + b"x" * (MAX_FILE_BYTES - 2),
        b"a: |\n" + b"  line\n" * (MAX_FILE_BYTES // 7 - 1),
        b"? " * (MAX_FILE_BYTES // 2 - 1),
    ],
)
def test_inputs_at_the_size_cap_are_answered_quickly(raw: bytes) -> None:
    assert len(raw) <= MAX_FILE_BYTES
    started = time.perf_counter()
    with contextlib.suppress(LoadError):
        parse_document(raw, front_matter=False)
    # A generous bound on a shared machine: the point is no quadratic blow-up (which takes minutes).
    assert time.perf_counter() - started < 10


def test_errors_survive_the_trip_from_a_worker_process() -> None:
    import pickle

    from ipt_notes.errors import MissingLibyaml, PracticeNotFound, UnknownSchema

    original = LoadError(rule="yaml-alias", message="YAML aliases are not allowed in notes", line=3, col=9)
    copy = pickle.loads(pickle.dumps(original))
    assert (type(copy), copy.rule, copy.line, copy.col, str(copy)) == (LoadError, "yaml-alias", 3, 9, str(original))
    for error in (MissingLibyaml(), PracticeNotFound(start="/x"), UnknownSchema(name="n", known=["a"])):
        restored = pickle.loads(pickle.dumps(error))
        assert (type(restored), str(restored), restored.exit_code) == (type(error), str(error), error.exit_code)
