"""The project's JSON encoder: what it converts, what it refuses, and that every
JSONField uses it. No database."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import torch
from django.apps import apps
from django.db import models

from config.jsonutil import JSONEncoder, to_jsonable

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class _Cfg:
    lr: float = 1e-3
    where: Path = Path("/tmp/x")
    tags: tuple[str, ...] = ("a", "b")
    extra: dict[str, object] = field(default_factory=lambda: {"n": np.int64(2)})


class _Colour(models.TextChoices):
    RED = "red", "Red"


def _exact(value):
    """``value`` with every type spelled out, so 1 == 1.0 == True cannot hide a mix-up."""
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return (type(value).__name__, value)


def test_numpy_and_torch_scalars_in_nested_containers_become_plain_json():
    metrics = {
        "val_loss": np.float32(0.25),
        "steps": np.int64(12),
        "promoted": np.bool_(True),
        "kl": torch.tensor(1.5),
        "curve": [[np.int64(1), np.float32(0.5)], (2, np.float64(0.75))],
        "by_group": {"18-24": {"n": np.int32(3), "accuracy": np.float16(0.5)}},
        "array": np.array([[1, 2], [3, 4]], dtype=np.int16),
        "vector": torch.tensor([0.5, 1.0], dtype=torch.bfloat16),
        "plain": [1, 2.5, "x", None, False],
    }
    out = to_jsonable(metrics, path="metrics")
    assert _exact(out) == _exact(
        {
            "val_loss": 0.25,
            "steps": 12,
            "promoted": True,
            "kl": 1.5,
            "curve": [[1, 0.5], [2, 0.75]],
            "by_group": {"18-24": {"n": 3, "accuracy": 0.5}},
            "array": [[1, 2], [3, 4]],
            "vector": [0.5, 1.0],
            "plain": [1, 2.5, "x", None, False],
        }
    )
    # The encoder gives the same document, and it parses back.
    assert json.loads(json.dumps(metrics, cls=JSONEncoder)) == out


def test_paths_dates_decimals_sets_dataclasses_enums_and_keys():
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    out = to_jsonable(
        {
            "folder": Path("/models/refits/x"),
            "at": when,
            "day": dt.date(2026, 1, 2),
            "took": dt.timedelta(seconds=90),
            "price": Decimal("1.25"),
            "ids": {3, 1, 2},
            "mixed": frozenset({"a"}),
            "pair": (1, (2, 3)),
            "cfg": _Cfg(),
            "colour": _Colour.RED,
            "uid": uid,
            np.int64(7): "numpy key",
            4: "int key",
        }
    )
    assert out == {
        "folder": "/models/refits/x",
        "at": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "took": 90.0,
        "price": 1.25,
        "ids": [1, 2, 3],
        "mixed": ["a"],
        "pair": [1, [2, 3]],
        "cfg": {"lr": 1e-3, "where": "/tmp/x", "tags": ["a", "b"], "extra": {"n": 2}},
        "colour": "red",
        "uid": str(uid),
        7: "numpy key",
        4: "int key",
    }
    assert type(out["colour"]) is str and type(next(k for k in out if k == 7)) is int
    assert json.loads(json.dumps(out, cls=JSONEncoder))["7"] == "numpy key"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"val_loss": float("nan")},
            "metrics.val_loss is NaN; JSON fields cannot store NaN",
        ),
        (
            {"val_loss": np.float32("nan")},
            "metrics.val_loss is NaN; JSON fields cannot store NaN",
        ),
        (
            {"curves": {"train_loss": [[1, 0.5], [2, torch.tensor(float("nan"))]]}},
            "metrics.curves.train_loss[1][1] is NaN",
        ),
        ({"kl": float("inf")}, "metrics.kl is Infinity; JSON fields cannot store Infinity"),
        ({"kl": -np.inf}, "metrics.kl is -Infinity"),
        ({"x": np.array([1.0, np.nan])}, "metrics.x[1] is NaN"),
        ({"x": Decimal("NaN")}, "metrics.x is NaN"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_key(value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        to_jsonable(value, path="metrics")


def test_the_encoder_refuses_nan_too_where_json_dumps_would_write_a_bare_token():
    assert json.dumps({"x": math.nan}) == '{"x": NaN}'  # what Django did: not JSON
    with pytest.raises(ValueError, match=r"^val_loss is NaN"):
        json.dumps({"val_loss": math.nan}, cls=JSONEncoder)
    with pytest.raises(ValueError, match=r"^the value is NaN"):
        json.dumps(math.nan, cls=JSONEncoder)
    # json.dump streams through iterencode: the same walk.
    with pytest.raises(ValueError, match=r"^a\[0\] is Infinity"):
        json.dump({"a": [math.inf]}, io.StringIO(), cls=JSONEncoder)


def test_unknown_types_and_cycles_are_refused_with_the_path():
    with pytest.raises(TypeError, match=r"^metrics\.blob: object of type bytes"):
        to_jsonable({"blob": b"\x00"}, path="metrics")
    with pytest.raises(TypeError, match="complex"):
        to_jsonable([np.complex64(1 + 2j)])
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        to_jsonable({"loop": loop})
    # The same object twice is not a cycle.
    shared = [1]
    assert to_jsonable({"a": shared, "b": shared}) == {"a": [1], "b": [1]}


def test_to_jsonable_never_imports_torch_or_numpy():
    """Web processes must not load torch: the encoder only looks at modules already
    imported (an object cannot be a tensor otherwise)."""
    code = (
        "import sys; from config.jsonutil import to_jsonable, JSONEncoder; import json;"
        "json.dumps(to_jsonable({'a': [1.5, {'b': (2,)}]}), cls=JSONEncoder);"
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_every_json_field_of_the_project_uses_the_encoder():
    ours = [
        f
        for m in apps.get_models()
        if m._meta.app_label in {"annotate", "modelserve"}
        for f in m._meta.get_fields()
        if isinstance(f, models.JSONField)
    ]
    assert len(ours) >= 20
    assert [f for f in ours if f.encoder is not JSONEncoder] == []


class _Level(int, __import__("enum").Enum):
    LOW = 1


class _Ratio(float):
    pass


_PLAIN_DOCS = [
    {"choice": "A", "strength": -2, "chosen": 3, "reason": 'é \u2028 "q"', "ok": True},
    [3, 1, 2],
    {"nested": {"a": [1.5, None, {"b": ()}]}, 1: "int key", None: "none key"},
    {"colour": _Colour.RED, _Colour.RED: 1, "level": _Level.LOW, "r": _Ratio(0.25)},
    {"np": np.float64(0.5), "t": (1, 2)},
    "plain string",
    7,
    None,
]
_OPTIONS = [{}, {"sort_keys": True, "indent": 2}, {"ensure_ascii": False}]


@pytest.mark.parametrize(
    ("doc", "options"),
    [
        (doc, options)
        for doc in _PLAIN_DOCS
        for options in _OPTIONS
        # Keys of mixed types cannot be sorted by either path.
        if not (options.get("sort_keys") and doc == _PLAIN_DOCS[2])
    ],
)
def test_plain_documents_are_written_as_the_converting_path_writes_them(doc, options):
    # The encoder writes plain documents with the C encoder at once (issue 14); the
    # result must be what converting first and then encoding gives.
    expected = json.dumps(to_jsonable(doc), allow_nan=False, **options)
    assert json.dumps(doc, cls=JSONEncoder, **options) == expected


def test_a_document_the_c_encoder_refuses_is_converted_not_refused():
    doc = {"when": dt.date(2026, 12, 3), "tags": {"b", "a"}, "n": np.int64(4)}
    assert json.loads(json.dumps(doc, cls=JSONEncoder)) == {
        "when": "2026-12-03",
        "tags": ["a", "b"],
        "n": 4,
    }
