"""Hostile input for the fuzzers: what a browser never sends but a client can.

Every strategy here draws from all of Unicode (surrogates included), plus the values
that broke Chorus before issue 13: NUL bytes, lone surrogates, digits that
``str.isdigit()`` accepts but ``int()`` does not (``²``) or accepts from other scripts
(``١٢٣``), integers past Python's int-string limit (5,000 digits), JSON nested past the
recursion limit, NaN and Infinity, and strings of a megabyte.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

# Every character category, surrogates (Cs) included: st.characters() leaves them out.
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))
ANY_TEXT = st.text(alphabet=ANY_CHAR, max_size=40)

DEEP = 50_000  # far past Python's recursion limit (1,000)
SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "²",
    "¹²",
    "١٢٣",
    "\uff15",  # fullwidth 5
    "7" * 5000,
    "-" + "9" * 5000,
    "9" * 25,
    "-1",
    "+3",
    " 3 ",
    "1_000",
    "0x1f",
    "1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    "[" * DEEP,
    '{"a":' * DEEP,
    "A" * 1_000_000,
    "🙂" * 3000,
    "\u202e\u2066",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "{{ 7*7 }}",
]
HOSTILE_TEXT = st.one_of(st.sampled_from(SPECIAL_TEXT), ANY_TEXT)
HOSTILE_KEY = st.one_of(
    st.sampled_from(["\x00", "a\x00", "\ud800", "²", "\u0661", "9" * 5000, "", "[" * 100]), ANY_TEXT
)

# JSON values (as Python objects) that json.dumps can write: NaN and Infinity included
# (json.dumps writes them as bare NaN/Infinity tokens), huge and tiny numbers.
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 2**63, -(2**63) - 1, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_KEY, inner, max_size=4),
    max_leaves=12,
)
# Raw JSON documents no serializer writes: bare constants, deep nesting, huge numbers.
RAW_JSON = st.sampled_from(
    [
        "[" * DEEP + "]" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        "[" * DEEP,
        '{"x": NaN}',
        '{"x": Infinity}',
        '{"x": -Infinity}',
        '{"x": 1e400}',
        '{"x": ' + "9" * 5000 + "}",
        '{"x": "\\u0000"}',
        '{"\\u0000": 1}',
        '{"x": "\\ud800"}',
        '{"\\udfff": 1}',
        "",
        "null",
        "[]",
        '"text"',
        "{",
    ]
)


def dumps(value: Any) -> str:
    """JSON text of ``value``; NaN/Infinity become bare tokens (allow_nan)."""
    return json.dumps(value, allow_nan=True)


def replace_leaf(template: Any, path: list[Any], value: Any) -> Any:
    """A copy of ``template`` with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(template, dict):
        out = dict(template)
        out[head] = replace_leaf(template[head], rest, value)
        return out
    out_list = list(template)
    out_list[head] = replace_leaf(template[head], rest, value)
    return out_list


def leaf_paths(value: Any, prefix: list[Any] | None = None) -> list[list[Any]]:
    """Every path to a leaf, and to every container, of a JSON template."""
    prefix = prefix or []
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.extend(leaf_paths(inner, [*prefix, key]))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            paths.extend(leaf_paths(inner, [*prefix, n]))
    return paths


def mutated_json(template: Any) -> st.SearchStrategy[str]:
    """JSON bodies near ``template``: one value or key made hostile, or raw hostile text."""
    paths = leaf_paths(template)

    def replace(path: list[Any], value: Any) -> str:
        return dumps(replace_leaf(template, path, value))

    def add_key(key: str, value: Any) -> str:
        if not isinstance(template, dict):
            return dumps(template)
        return dumps({**template, key: value})

    one_value = st.builds(replace, st.sampled_from(paths), JSON_VALUE) if paths else st.nothing()
    return st.one_of(
        one_value,
        st.builds(add_key, HOSTILE_KEY, JSON_VALUE),
        JSON_VALUE.map(dumps),
        RAW_JSON,
    )


def encode(text: str) -> bytes:
    """UTF-8 bytes of ``text``, lone surrogates kept (as a hand-made client sends them)."""
    return text.encode("utf-8", errors="surrogatepass")


# Request bodies as bytes: hostile JSON text, or bytes that are not UTF-8 at all.
BINARY = st.one_of(st.binary(max_size=64), st.just(b"\xff\xfe\x00{"))


def near_valid_form(valid: dict[str, list[str]]) -> SearchStrategy[list[tuple[str, str]]]:
    """Every field with a valid value, then one or two of them (or a made-up field)
    given a hostile value: each example reaches the code behind the fields it keeps."""
    names = sorted(valid)
    base = st.fixed_dictionaries({name: st.sampled_from(v) for name, v in valid.items()})
    target = st.one_of(st.sampled_from(names), HOSTILE_KEY) if names else HOSTILE_KEY
    overrides = st.lists(st.tuples(target, HOSTILE_TEXT), min_size=1, max_size=2)

    def merge(fields: dict[str, str], bad: list[tuple[str, str]]) -> list[tuple[str, str]]:
        replaced = {name for name, _ in bad}
        return [*((k, v) for k, v in fields.items() if k not in replaced), *bad]

    return st.builds(merge, base, overrides)
