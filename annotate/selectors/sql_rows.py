"""Model instances from hand-written SQL, for the few statements of the submit path.

Issue 14: under load, building and compiling an ORM query (joins, select_related, locks)
cost the server more CPU than PostgreSQL spent running it: about 2 ms for the submit's
first SELECT alone. The hottest statements are therefore written once as SQL, and their
rows are turned into the same model instances the ORM would give (every concrete field,
the database's own converters applied: JSON parsed, SQLite's booleans and datetimes), with
the joined relations cached as select_related would cache them.

Only fixed-shape statements belong here; anything with optional filters stays ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models.expressions import Col


@dataclass(frozen=True)
class Columns:
    """A model's concrete columns in field order, and how to turn a row slice back into
    an instance."""

    model: type[models.Model]
    attnames: tuple[str, ...]
    column_names: tuple[str, ...]
    # (position in the slice, converters) for the fields whose raw value needs one.
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Col], ...]

    def select(self, alias: str = "") -> str:
        """``"alias"."col", ...`` for a SELECT list (bare names without ``alias``, as
        in a RETURNING clause)."""
        return _select(self.column_names, alias, connection.vendor)

    def __len__(self) -> int:
        return len(self.attnames)

    def build(self, row: Sequence[Any], offset: int = 0) -> models.Model:
        values = list(row[offset : offset + len(self.attnames)])
        for i, funcs, col in self.converters:
            for func in funcs:
                values[i] = func(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def _select(column_names: tuple[str, ...], alias: str, vendor: str) -> str:
    qn = connection.ops.quote_name
    prefix = f"{qn(alias)}." if alias else ""
    return ", ".join(f"{prefix}{qn(c)}" for c in column_names)


def columns(model: type[models.Model]) -> Columns:
    """The model's Columns for the database in use (converters differ by backend)."""
    return _columns(model, connection.vendor)


@cache
def _columns(model: type[models.Model], vendor: str) -> Columns:
    fields = [f for f in model._meta.concrete_fields]
    converters = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        funcs = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if funcs:
            converters.append((i, funcs, col))
    return Columns(
        model=model,
        attnames=tuple(f.attname for f in fields),
        column_names=tuple(f.column for f in fields),
        converters=tuple(converters),
    )


def lock_clause(*aliases: str) -> str:
    """``FOR UPDATE OF a, b`` where the database has row locks (PostgreSQL), else ''
    (SQLite, in embedded mode, serialises writers instead)."""
    if not connection.features.has_select_for_update:
        return ""
    qn = connection.ops.quote_name
    if connection.features.has_select_for_update_of:
        return " FOR UPDATE OF " + ", ".join(qn(a) for a in aliases)
    return " FOR UPDATE"


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def fetch_one(sql: str, params: Sequence[Any], shapes: Sequence[Columns]) -> list[Any] | None:
    """Run ``sql`` (its SELECT list is ``shapes``' columns in order) and build one
    instance per shape from the first row; None when there is no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone()
    if row is None:
        return None
    return _build(row, shapes)


def _build(row: Sequence[Any], shapes: Sequence[Columns]) -> list[Any]:
    out, offset = [], 0
    for shape in shapes:
        out.append(shape.build(row, offset))
        offset += len(shape)
    return out


def fetch_all(sql: str, params: Sequence[Any], shapes: Sequence[Columns]) -> list[list[Any]]:
    """Like fetch_one, for every row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    return [_build(row, shapes) for row in rows]


def placeholders(n: int) -> str:
    """``%s, %s, ...`` for an IN list of ``n`` values."""
    return ", ".join(["%s"] * n)


def cache_related(instance: models.Model, name: str, value: models.Model) -> None:
    """Cache a forward relation the way select_related does, so reading it costs no
    query."""
    instance._meta.get_field(name).set_cached_value(instance, value)  # type: ignore[union-attr]
