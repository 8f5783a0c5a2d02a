"""One-row INSERTs with the statement built once per model, not at every save.

Every submit inserts an Annotation and leases the next task with an Assignment. Django
builds each INSERT afresh (an InsertQuery, its compiler, a placeholder per field, the
RETURNING clause): about as much CPU as the round trip itself (issue 14). The mixin
below keeps ``Model.save()`` as it is (signals, ``pre_save``, ``update_fields``, the
adding state) and replaces only its last step, ``_do_insert``: the SQL text for a model's
field list is built once per connection, and each save only computes the values, with
each field's own ``pre_save``/``get_db_prep_save``, as Django's compiler does.

Anything the fixed statement cannot express goes the ORM's way: a value that is an
expression (``F()``, ``Now()``), a field with its own placeholder, a backend that cannot
return columns from an INSERT, a raw save.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]
_Statement = tuple[str, list[tuple[Any, list[Converter]]]]

_statements: dict[tuple[Any, ...], _Statement | None] = {}


def _statement(
    model: type[Model], fields: Sequence[Field], returning: Sequence[Field], using: str
) -> _Statement | None:
    connection = connections[using]
    key = (model, tuple(fields), tuple(returning), using, connection.vendor)
    if key in _statements:
        return _statements[key]
    statement: _Statement | None = None
    features, ops = connection.features, connection.ops
    if (
        fields
        and (not returning or features.can_return_columns_from_insert)
        and not any(hasattr(f, "get_placeholder") for f in fields)
    ):
        table = model._meta.db_table
        columns = ", ".join(ops.quote_name(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {ops.quote_name(table)} ({columns}) VALUES ({placeholders})"
        converters: list[tuple[Any, list[Converter]]] = []
        if returning:
            returning_sql, returning_params = ops.return_insert_columns(returning)
            if not returning_params:
                sql = f"{sql} {returning_sql}"
                for f in returning:
                    col = f.get_col(table)
                    converters.append(
                        (col, ops.get_db_converters(col) + col.get_db_converters(connection))
                    )
                statement = (sql, converters)
        else:
            statement = (sql, converters)
    _statements[key] = statement
    return statement


class FastInsertMixin(Model):
    class Meta:
        abstract = True

    def _do_insert(
        self,
        manager: Any,
        using: str,
        fields: Sequence[Field],
        returning_fields: Sequence[Field],
        raw: bool,
    ) -> list[tuple[Any, ...]] | None:
        statement = None if raw else _statement(type(self), fields, returning_fields, using)
        if statement is None:
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        values = [f.pre_save(self, True) for f in fields]
        if any(hasattr(v, "resolve_expression") for v in values):
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        connection = connections[using]
        params = [
            f.get_db_prep_save(v, connection=connection)
            for f, v in zip(fields, values, strict=True)
        ]
        sql, converters = statement
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if not returning_fields:
                return None
            row = list(cursor.fetchone())
        for i, (col, funcs) in enumerate(converters):
            for convert in funcs:
                row[i] = convert(row[i], col, connection)
        return [tuple(row)]
