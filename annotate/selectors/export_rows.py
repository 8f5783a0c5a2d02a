"""The PostgreSQL read path of exports: Django builds the SQL, psycopg runs it bare.

Issue 14 measured exports at 27.6k rows/s, and a profile put most of the Python time in
Django's per-value converters (``JSONField.from_db_value`` -> ``json.loads`` for every
payload and prompt), in compiling ``item_id IN (5,000 parameters)`` for every chunk and in
loading timestamps nobody reads. Here:

- the querysets are the same as the ORM path's (filters, joins, keyset bounds), compiled
  by Django (``query.sql_with_params()``) and executed on a plain cursor, so rows are the
  tuples psycopg's C loaders produce, and JSON (text: Django registers a text loader for
  jsonb) is decoded with orjson;
- the chunk's responses are selected with ``item_id = ANY(<one array>)`` instead of
  ``IN (<one parameter per item>)``;
- a prompt's messages are decoded once per item, not once per response.

Rows are identical to the ORM path's (annotate.selectors.exports), which SQLite uses and
the tests compare against.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from django.db import connection
from django.db.models import BooleanField, Lookup, QuerySet

# 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float
# (10**20 -> 1e+20) where json (and so the ORM path) keeps it exact.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def loads(text: Any) -> Any:
    """A jsonb value read as text; SQL NULL stays None. orjson, and the json module where
    orjson would lose precision or fails."""
    if text is None:
        return None
    if _LONG_DIGITS.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits
        return json.loads(text)


def fetch(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset without Django's converters (one query)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


class AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as one array parameter (PostgreSQL).

    Used as ``filter(AnyOf(F("item_id"), ids))``: unlike ``IN (%s, %s, ...)`` the SQL
    does not grow with the list, so psycopg does not re-parse 5,000 placeholders per chunk,
    and the planner picks index lookups instead of hashing a whole table.
    """

    lookup_name = "any_of"
    prepare_rhs = False
    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, list(self.rhs)]


def json_positions(names: Iterable[str], json_names: set[str]) -> list[int]:
    return [i for i, name in enumerate(names) if name in json_names]


def decode(rows: list[tuple[Any, ...]], positions: list[int]) -> list[list[Any]]:
    """Rows with the JSON columns at ``positions`` decoded."""
    out = []
    for row in rows:
        values = list(row)
        for i in positions:
            values[i] = loads(values[i])
        out.append(values)
    return out


def responses_by_item(
    rows: QuerySet[Any], prompt_keys: list[str], label: Any
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]]]:
    """(responses per item, prompt facts per item) from the items' ``values_list``.

    Columns: item_id, position, response_id, text, source, endpoint_id, policy_id,
    language, then the prompt facts in ``prompt_keys`` order (messages, second, is JSON
    text). An item without responses is one row whose response columns are NULL: it gets
    its prompt facts and no response.
    """
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    prompts: dict[int, dict[str, Any]] = {}
    for item_id, position, rid, text, source, endpoint_id, policy_id, language, *prompt in fetch(
        rows
    ):
        if item_id not in prompts:
            facts = dict(zip(prompt_keys, prompt, strict=True))
            facts["messages"] = loads(facts["messages"])
            prompts[item_id] = facts
        if rid is None:
            continue
        out[item_id].append(
            {
                "id": rid,
                "position": position,
                "text": text,
                "source": source,
                "model": label(endpoint_id, policy_id, source),
                "language": language,
            }
        )
    return out, prompts
