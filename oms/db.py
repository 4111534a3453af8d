"""Set-wise writes for tens of thousands of rows: COPY on PostgreSQL, bulk_create elsewhere (the SQLite demo)."""

import json
import re
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
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
        rows = [tuple(json.loads(value) if isinstance(value, JsonText) else value for value in row) for row in rows]
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


class JsonText(str):
    """A JSON document already encoded (json.dumps), for a JSONField column given to rows_insert."""


def _json_encoded(row: tuple, positions: list[int]) -> tuple:
    values = list(row)
    for index in positions:
        value = values[index]
        values[index] = value if isinstance(value, JsonText) else json.dumps(value)
    return tuple(values)


class Alongside:
    """`with Alongside(work):` runs `work` (statements on this thread's connection) in a helper thread while the
    block runs, and waits for it at the end of the block, raising what it raised.

    For a statement whose result nobody needs, next to Python work that needs no database: the database and
    Python each use a core. The block must not use the database (the connection is the helper's meanwhile);
    statements run in the order they would one after the other. Without PostgreSQL `work` simply runs first.
    """

    def __init__(self, work: Callable[[], object]):
        self.work = work
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "Alongside":
        if connection.vendor != "postgresql":
            self.work()
            return self
        wrapper = connections[DEFAULT_DB_ALIAS]
        wrapper.inc_thread_sharing()
        self.thread = threading.Thread(target=self._run, args=(wrapper,), name="statement-alongside", daemon=True)
        self.thread.start()
        return self

    def _run(self, wrapper) -> None:
        connections[DEFAULT_DB_ALIAS] = wrapper  # this thread works on the caller's connection and transaction
        try:
            self.work()
        except BaseException as exc:  # raised in the caller's thread by __exit__
            self.error = exc

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.thread is None:
            return
        self.thread.join()
        connections[DEFAULT_DB_ALIAS].dec_thread_sharing()
        if self.error is not None and exc is None:
            raise self.error


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
