"""Fast multi-row inserts: PostgreSQL ``COPY`` with ids reserved up front.

``bulk_create`` sends one INSERT with every value inlined; for an import of thousands of
items that is most of the time, on both sides of the connection (the 2,312-pair HH-RLHF
import spent ~6x longer in INSERTs than the same rows take through COPY). ``bulk_insert``
keeps bulk_create's contract (objects come back with their pks set, Python defaults and
``auto_now_add`` applied, FK ids taken from related objects) and falls back to
``bulk_create`` on other databases (SQLite in embedded mode).

The column values come from each model field's own ``pre_save``/``get_db_prep_save``, so
a field another feature adds to a model is written like Django would write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def bulk_insert(objs: Sequence[M], *, using: str = DEFAULT_DB_ALIAS) -> list[M]:
    """Insert ``objs`` (all of one model, not yet saved); return them with pks set.

    Must run inside a transaction (the caller's ``atomic``): reserved ids of a rolled
    back import are simply skipped, like any rolled back INSERT.
    """
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model._default_manager.using(using).bulk_create(objs)
    meta = model._meta
    assert meta.pk is not None
    fields = [f for f in meta.concrete_fields if not getattr(f, "generated", False)]
    for obj in objs:
        # Same check bulk_create makes: FK ids from related objects saved meanwhile.
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")  # type: ignore[attr-defined]
    quote = connection.ops.quote_name
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor: COPY is not in Django's API
        missing = [obj for obj in objs if obj.pk is None]
        if missing:
            wrapper.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(missing)],
            )
            for obj, (new_id,) in zip(missing, wrapper.fetchall(), strict=True):
                obj.pk = new_id
        columns = ", ".join(quote(f.column) for f in fields)
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
    return objs
