"""Set-wise writes for tens of thousands of rows: COPY on PostgreSQL, bulk_create elsewhere (the SQLite demo)."""

import json
import re
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, JSONField, Model, Q
from django.db.models.expressions import RawSQL

_NEEDS_QUOTING = re.compile(r'[\s,{}"\\\']')


def rows_insert(*, model: type[Model], columns: list[str], rows: list[tuple], ids: bool = False) -> list[int]:
    """Insert `rows` (tuples of values in `columns` order, foreign keys as "order_id") without model instances.

    With `ids`, the new primary keys come back in row order (taken from the table's sequence first).
    On PostgreSQL one COPY writes them all: Django's bulk_create builds and quotes every value in
    Python and is several times slower at the sizes a brokering run writes. Runs in the caller's
    transaction; no signals, no save().
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=500)
        return [obj.pk for obj in objects] if ids else []
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    json_at = [index for index, field in enumerate(fields) if isinstance(field, JSONField)]
    if json_at:
        rows = [_json_encoded(row, json_at) for row in rows]
    names = [field.column for field in fields]
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = [row[0] for row in cursor.fetchall()]
            names = [meta.pk.column, *names]
            rows = [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)]
        quoted = ", ".join(connection.ops.quote_name(name) for name in names)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return new_ids


def _json_encoded(row: tuple, positions: list[int]) -> tuple:
    values = list(row)
    for index in positions:
        values[index] = json.dumps(values[index])
    return tuple(values)


def pg_array(values) -> str:
    """A PostgreSQL array literal of plain values (integers, timestamps, codes; None as NULL).

    Sent as one string and cast in SQL (`%s::bigint[]`): much cheaper than quoting a Python list
    element by element. Refuses text that would need quoting inside an array.
    """
    items = []
    for value in values:
        kind = type(value)
        if kind is int:
            items.append(str(value))
        elif value is None:
            items.append("NULL")
        elif isinstance(value, datetime):
            items.append(value.isoformat())
        elif value == "":
            items.append('""')
        else:
            text = str(value)
            if _NEEDS_QUOTING.search(text) or text.upper() == "NULL":
                raise ValueError(f"{text!r} cannot go into an array literal unquoted")
            items.append(text)
    return "{" + ",".join(items) + "}"


def ids_in(model: type[Model], field_name: str, ids) -> Q | RawSQL:
    """A filter for `field_name IN ids` (integer ids) that costs the same for a thousand ids as for one.

    On PostgreSQL `= ANY('{…}'::bigint[])` with the ids as one array literal: Django's `__in` makes one
    parameter per id, each resolved and quoted in Python, which a brokering run pays on every batch.
    Elsewhere (the SQLite demo) the plain `__in`.
    """
    if connection.vendor != "postgresql":
        return Q(**{f"{field_name}__in": list(ids)})
    meta = model._meta
    field = meta.pk if field_name == "pk" else meta.get_field(field_name)
    quote = connection.ops.quote_name
    return RawSQL(f"{quote(meta.db_table)}.{quote(field.column)} = ANY(%s::bigint[])", [pg_array(ids)],
                  output_field=BooleanField())
