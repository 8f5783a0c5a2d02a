"""What analytics reads from a label, kept as plain columns beside its JSON (issue 14).

Loading 1M labels spent most of its time in PostgreSQL's JSON operators (payload ->
choice / response_ids / strength, flags -> gold_correct). These values are now derived
once, when the annotation row is written, by ``label_values`` below, and stored in real
columns that the analytics loader reads with no JSON at all. The JSON stays the source
of truth; the columns are a copy of what it says.

``LabelValueField`` subclasses fill themselves in ``pre_save``, which Django calls for
every write path that goes through a model field: ``save()``/``create()``,
``bulk_create`` and ``annotate.services.bulk.bulk_insert``. Writers that bypass the
fields (raw SQL such as bench/bench_export.py's POPULATE, ``QuerySet.update`` of payload
or flags) must set the columns themselves; migration 0019 holds the same rules in SQL
(its backfill), and a test checks that both agree on awkward JSON.

The rules, on the JSON as stored (numbers exact, as PostgreSQL's numeric keeps them):
- ``choice``: payload "choice" "A" -> +1, "tie" -> 0, "B" -> -1; anything else null.
- ``shown_a``/``shown_b``: payload "response_ids"[0]/[1] (ids in the order shown) when
  an integral number or a string of digits within bigint; else null.
- ``strength``: payload "strength" when a number within a double's range; else null.
- ``gold_correct``: flags "gold_correct": null when absent or null; true for true, a
  number equal to 1, or a string "true"/"1" in any case; false for anything else.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import models

from config.jsonutil import JSONEncoder

CHOICE_CODES = {"A": 1, "tie": 0, "B": -1}
_INT_TEXT = re.compile(r"-?[0-9]+")
_INT8 = (-(2**63), 2**63 - 1)
# A double's range, with room: PostgreSQL refuses to cast a numeric out of it (or one so
# small it would underflow), so both sides leave such a value out.
_FLOAT_MAX, _FLOAT_MIN = Decimal("1e308"), Decimal("1e-300")


class LabelValues(NamedTuple):  # field names = the Annotation columns
    choice: int | None
    shown_a: int | None
    shown_b: int | None
    strength: float | None
    gold_correct: bool | None


LABEL_VALUE_FIELDS = LabelValues._fields


def _json(value: Any) -> str:
    """The value as its JSON column will hold it (encoded as Django writes it)."""
    return json.dumps(value, cls=JSONEncoder)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _int8(value: Any) -> int | None:
    num = _number(value)
    if num is None and isinstance(value, str) and _INT_TEXT.fullmatch(value):
        num = Decimal(value)
    if num is None or num != num.to_integral_value() or not _INT8[0] <= num <= _INT8[1]:
        return None
    return int(num)


def _float8(value: Any) -> float | None:
    num = _number(value)
    # Comparisons only: Decimal arithmetic (abs() too) would round to 28 digits.
    if num is None or not -_FLOAT_MAX <= num <= _FLOAT_MAX:
        return None
    if num != 0 and -_FLOAT_MIN <= num <= _FLOAT_MIN:
        return None
    return float(num)


def _truth(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    num = _number(value)
    return num is not None and num == 1


def label_values(payload: Any, flags: Any) -> LabelValues:
    """The analytics columns of one label, from its payload and flags (see the rules)."""
    return label_values_from_json(_json(payload), _json(flags))


def label_values_from_json(payload_json: str, flags_json: str) -> LabelValues:
    """``label_values`` of the JSON texts as stored, read with exact numbers (``Decimal``)
    so that ``2.0`` and ``1e400`` mean what they mean to PostgreSQL's numeric."""
    payload = json.loads(payload_json, parse_float=Decimal)
    flags = json.loads(flags_json, parse_float=Decimal)
    payload = payload if isinstance(payload, dict) else {}
    flags = flags if isinstance(flags, dict) else {}
    choice = payload.get("choice")
    shown = payload.get("response_ids")
    shown = shown if isinstance(shown, list) else []
    return LabelValues(
        choice=CHOICE_CODES.get(choice) if isinstance(choice, str) else None,
        shown_a=_int8(shown[0]) if len(shown) > 0 else None,
        shown_b=_int8(shown[1]) if len(shown) > 1 else None,
        strength=_float8(payload.get("strength")),
        gold_correct=_truth(flags.get("gold_correct")),
    )


class LabelValueField(models.Field):
    """A column whose value ``label_values`` derives from the row's payload and flags
    each time the row is written (the way ``auto_now`` fills a date)."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # A model's save() may derive the values once for all its label columns.
        values = getattr(model_instance, "_label_values", None) or label_values(
            getattr(model_instance, "payload", None), getattr(model_instance, "flags", None)
        )
        value = getattr(values, self.name)
        setattr(model_instance, self.attname, value)
        return value


class LabelSmallIntegerField(LabelValueField, models.SmallIntegerField):
    pass


class LabelBigIntegerField(LabelValueField, models.BigIntegerField):
    pass


class LabelFloatField(LabelValueField, models.FloatField):
    pass


class LabelBooleanField(LabelValueField, models.BooleanField):
    pass
