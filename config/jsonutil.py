"""The one JSON encoder for everything the project stores in a ``JSONField``.

Every ``models.JSONField`` of the project is declared with ``encoder=JSONEncoder``, and
code that builds a document from computed values (training metrics, curves, configs)
calls ``to_jsonable`` on it first, so that a bad value fails where it was made, with the
key path in the message, rather than deep in a database adapter.

What ``to_jsonable`` converts (recursively; the result is plain dict/list/str/int/float/
bool/None):

- numpy scalars (``np.float32``, ``np.int64``, ``np.bool_``...) and arrays (to lists);
- torch tensors, 0-d or not (``.tolist()``): torch is looked up in ``sys.modules`` and
  never imported here, because web processes must not pay for (or depend on) torch; an
  object can only be a tensor if something already imported torch. numpy is treated the
  same way;
- ``Path`` to ``str``; ``datetime``/``date``/``time`` to ISO 8601; ``timedelta`` to
  seconds (a float); ``UUID`` and lazy translation strings to ``str``;
- ``Decimal`` to ``float`` (a JSON number: exactness beyond a double is not kept);
- tuples and lists to lists, sets and frozensets to sorted lists (sorted when the items
  allow it, so documents that feed a hash stay deterministic);
- dataclass instances to a dict of their fields; enum members to their value;
- mapping keys: ``str`` stays, ``int``/``float``/``bool``/``None`` (numpy ones included)
  are left for ``json`` to write as strings, as it always does.

What it refuses:

- NaN and +/-Infinity, with a ``ValueError`` naming the key path, e.g. ``metrics.val_loss
  is NaN; JSON fields cannot store NaN``. ``json.dumps`` would write the bare tokens
  ``NaN``/``Infinity``, which are not JSON and which PostgreSQL's ``jsonb`` rejects (or a
  reader chokes on later). A value that is undefined (a metric on empty data) should be
  ``None`` at its source, with a comment saying why; a NaN anywhere else is a bug or a
  diverged training run, and storing it silently would hide that;
- anything else (bytes, complex, arbitrary objects) with a ``TypeError`` naming the path;
- circular containers, with a ``ValueError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import json
import math
import sys
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.utils.functional import Promise

__all__ = ["JSONEncoder", "to_jsonable"]

_KEY_SCALARS = (str, int, float, bool, type(None))


def to_jsonable(obj: Any, *, path: str = "") -> Any:
    """``obj`` as plain JSON types (see the module docstring). ``path`` names ``obj`` in
    error messages (``"metrics"`` gives ``metrics.val_loss``, ``metrics.curve[3]``)."""
    return _convert(obj, path, set())


def _child(path: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    name = key if isinstance(key, str) else repr(key)
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return path or "the value"


def _float(value: float, path: str) -> float:
    if math.isnan(value):
        raise ValueError(f"{_where(path)} is NaN; JSON fields cannot store NaN")
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        raise ValueError(f"{_where(path)} is {sign}Infinity; JSON fields cannot store Infinity")
    return float(value)


def _convert(obj: Any, path: str, active: set[int]) -> Any:
    # Order matters: bool before int (bool is an int), numpy before float (np.float64 is
    # a float), enums and str subclasses down to their plain value.
    if obj is None or type(obj) in (str, bool, int):
        return obj
    if type(obj) is float:
        return _float(obj, path)
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.ndarray):
            return _convert(obj.tolist(), path, active)
        if isinstance(obj, np.bool_ | np.number):
            return _convert(obj.item(), path, active)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return _convert(obj.detach().cpu().tolist(), path, active)
    if isinstance(obj, enum.Enum):
        return _convert(obj.value, path, active)
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return _float(float(obj), path)
    if isinstance(obj, Decimal):
        return _float(float(obj), path)  # NaN, Infinity and 1e400 are refused
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dt.date | dt.time):  # datetime is a date
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, uuid.UUID | Promise):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping | list | tuple | set | frozenset):
        if id(obj) in active:
            raise ValueError(f"{_where(path)} contains itself; JSON cannot store a cycle")
        active.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                return {_key(k, path): _convert(v, _child(path, k), active) for k, v in obj.items()}
            items = list(obj)
            if isinstance(obj, set | frozenset):
                with contextlib.suppress(TypeError):  # mixed types: keep iteration order
                    items.sort()
            return [_convert(v, _child(path, i), active) for i, v in enumerate(items)]
        finally:
            active.discard(id(obj))
    raise TypeError(f"{_where(path)}: object of type {type(obj).__name__} is not JSON serializable")


def _key(key: Any, path: str) -> Any:
    if type(key) in _KEY_SCALARS:
        return key
    key = _convert(key, _child(path, key), set())
    if not isinstance(key, _KEY_SCALARS):
        raise TypeError(f"{_child(path, key)}: a JSON object key must be a string or a scalar")
    return key


class JSONEncoder(json.JSONEncoder):
    """``json.JSONEncoder`` that runs ``to_jsonable`` over the whole document first, and
    never writes NaN/Infinity. Pass it as ``models.JSONField(encoder=JSONEncoder)``:
    Django hands it to ``json.dumps`` for saves, queryset ``.update()`` and lookups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_nan"] = False  # a backstop; to_jsonable already refused, with a path
        super().__init__(*args, **kwargs)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        # encode() and dump() both come through here (encode() short-cuts plain str only).
        # Most documents (a label's payload, an assignment's order) are plain JSON types
        # already: the C encoder writes them at once, with no default() to fall back on and
        # NaN refused, so anything to_jsonable would convert or refuse makes it raise, and
        # the document then takes the converting path, which names the bad key (issue 14:
        # to_jsonable's walk was most of a submit's JSON cost).
        plain = json.JSONEncoder(
            skipkeys=self.skipkeys,
            ensure_ascii=self.ensure_ascii,
            check_circular=self.check_circular,
            allow_nan=False,
            sort_keys=self.sort_keys,
            indent=self.indent,
            separators=(self.item_separator, self.key_separator),
        )
        try:
            return iter((plain.encode(o),))
        except (TypeError, ValueError):
            return super().iterencode(to_jsonable(o), _one_shot)
