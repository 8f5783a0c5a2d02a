"""The input boundary's rules (annotate.input.checks): pure functions, no database."""

from __future__ import annotations

import math

import pytest

from annotate.input.checks import (
    MAX_JSON_DEPTH,
    InputError,
    check_json,
    check_text,
    loads_json,
    parse_float,
    parse_int,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (" -3 ", -3), ("+7", 7), ("007", 7), (5, 5), (4.0, 4), ("9" * 18, int("9" * 18))],
)
def test_whole_numbers_accepted(raw, expected):
    assert parse_int(raw, field="n") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "²",
        "\u0661\u0662",
        "\uff11",
        "1_000",
        "0x10",
        "1.5",
        1.5,
        "",
        " ",
        "1e3",
        True,
        None,
        "9" * 19,
        "9" * 5000,
        "-" + "9" * 5000,
        2**63,
        math.inf,
        math.nan,
        [],
        "NaN",
    ],
)
def test_whole_numbers_refused_name_the_field(raw):
    with pytest.raises(InputError) as info:
        parse_int(raw, field="ratings.5.helpfulness")
    assert info.value.field == "ratings.5.helpfulness"
    assert str(info.value).startswith("ratings.5.helpfulness: ")


def test_ranges_are_inclusive_and_said():
    assert parse_int("7", field="x", min_value=1, max_value=7) == 7
    with pytest.raises(InputError, match="between 1 and 7"):
        parse_int("8", field="x", min_value=1, max_value=7)
    with pytest.raises(InputError, match="at least 1"):
        parse_int("0", field="x", min_value=1)
    with pytest.raises(InputError, match="at most 3"):
        parse_float("3.5", field="x", max_value=3)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-Infinity", "1e400", math.nan, "²", "1,5"])
def test_numbers_must_be_finite_ascii(raw):
    with pytest.raises(InputError):
        parse_float(raw, field="x")


def test_text_refuses_nul_and_surrogates_and_counts_length():
    assert check_text("fine ✓ 🙂", field="t", max_length=10) == "fine ✓ 🙂"
    with pytest.raises(InputError, match="NUL"):
        check_text("a\x00b", field="t")
    with pytest.raises(InputError, match="surrogate"):
        check_text("a\ud800", field="t")
    with pytest.raises(InputError, match="At most 3 characters"):
        check_text("abcd", field="t", max_length=3)


def test_json_paths_name_the_bad_place():
    doc = {"items": [{"metadata": {"ok": 1, "bad\x00": 2}}]}
    with pytest.raises(InputError) as info:
        check_json(doc, field="")
    assert info.value.field == "items[0].metadata" and "key" in info.value.message
    with pytest.raises(InputError) as info:
        check_json({"a": [1, {"b": math.inf}]}, field="body")
    assert info.value.field == "body.a[1].b"


def test_json_depth_limit_without_recursion():
    deep: object = 1
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    with pytest.raises(InputError, match=f"more than {MAX_JSON_DEPTH} levels"):
        check_json(deep, field="x")
    ok: object = 1
    for _ in range(MAX_JSON_DEPTH - 1):
        ok = [ok]
    assert check_json(ok, field="x") is ok


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 50_000 + "]" * 50_000, "levels"),
        ('{"x": NaN}', "x: must be a finite"),
        ('{"x": -Infinity}', "x: must be a finite"),
        ('{"x": 1e400}', "x: must be a finite"),
        ('{"x": [' + "1" * 5000 + "]}", "x[0]: an integer of 5,000 digits"),
        ('{"x": 99999999999999999999}', "x: an integer of 20 digits"),
        ('{"\\u0000": 1}', "a key: contains a nul"),
        ('{"x": "\\ud800"}', "x: contains an unpaired surrogate"),
        ("{", "invalid json"),
        (b"\xff{}", "utf-8"),
    ],
)
def test_loads_json_refuses_with_a_sentence(text, words):
    with pytest.raises(InputError) as info:
        loads_json(text, field="")
    assert words in str(info.value).lower()


def test_loads_json_size_limit_and_a_normal_document():
    assert loads_json('{"a": [1, 2.5, "x", null, true]}', field="") == {
        "a": [1, 2.5, "x", None, True]
    }
    assert loads_json(b'\xef\xbb\xbf{"bom": 1}', field="") == {"bom": 1}
    with pytest.raises(InputError, match="larger than 10 bytes"):
        loads_json('{"a": "0123456789"}', field="", max_bytes=10)
