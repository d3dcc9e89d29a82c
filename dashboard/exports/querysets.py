"""Tables read straight from a queryset's columns, fetched while they are being written.

`queryset_table` makes an `ExportTable` whose rows are the queryset's `values_list` tuples:
no model instance per row, and each column typed by the database column it is read from, so
that the CSV writer decides once per column what its cells may need. `queryset_batches`
reads those rows in batches on a database connection of the export's own, streamed on
PostgreSQL: the server keeps sending while this process writes, where fetching and writing
by turns left each waiting for the other.
"""

from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Field, QuerySet
from django.db.models.constants import LOOKUP_SEP
from psycopg import capabilities

from dashboard.exports.tables import CellType, ExportColumn, ExportTable, Stored

__all__ = ["BATCH_ROWS", "QueryColumn", "queryset_batches", "queryset_table"]

#: Rows fetched from the database at a time and handed to the writer at a time.
BATCH_ROWS = 2000


@dataclass(frozen=True)
class QueryColumn:
    header: str
    #: A field of the queryset's model, a lookup through its relations ("connection__name")
    #: or one of its annotations.
    field: str
    type: CellType = CellType.TEXT


def queryset_table(
    *,
    queryset: QuerySet,
    columns: Sequence[QueryColumn],
    title: str,
    slug: str,
    filters: str = "",
) -> ExportTable:
    """`queryset`'s rows (its filters and order) as a table of `columns`, each read from the
    database as it is stored."""
    found = queryset.values_list(*(column.field for column in columns))
    export_columns = [
        ExportColumn(column.header, itemgetter(index), column.type, _stored(queryset, column.field))
        for index, column in enumerate(columns)
    ]

    def batches() -> Iterator[list[tuple]]:
        return queryset_batches(found)

    def rows() -> Iterator[tuple]:
        with closing(batches()) as read:
            yield from chain.from_iterable(read)

    return ExportTable(
        title=title,
        slug=slug,
        columns=export_columns,
        rows=rows,
        count=queryset.count,
        filters=filters,
        batches=batches,
    )


def queryset_batches(queryset: QuerySet, *, size: int | None = None) -> Iterator[list[Any]]:
    """`queryset`'s rows in lists of up to `size` (BATCH_ROWS), read on a database
    connection of their own, which is closed when the rows run out, on an error, and when
    the caller stops early (closing this iterator, as a streamed response does when its
    client goes away). The caller's connection stays free for progress updates.

    On PostgreSQL the rows are streamed: the server sends them without waiting to be asked
    for each batch, and what it sends while this process writes waits in the operating
    system's socket buffers (a few megabytes at most, whatever the row count). Elsewhere
    they are fetched a batch at a time.

    Inside a transaction the rows are read on the caller's connection instead, a batch at a
    time: another connection would not see what this one has not committed.
    """
    size = size or BATCH_ROWS
    if not connections[queryset.db].in_atomic_block:
        yield from _read_apart(queryset, size)
        return
    with closing(queryset.iterator(chunk_size=size)) as rows:
        while batch := list(islice(rows, size)):
            yield batch


# --- helpers ---------------------------------------------------------------------------------

#: Database columns whose values every backend returns as one Python type.
_STORED_BY_FIELD = {
    **dict.fromkeys(("CharField", "TextField", "EmailField", "SlugField", "URLField"), Stored.TEXT),
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
            "FloatField",
            "DecimalField",
        ),
        Stored.NUMBER,
    ),
    "BooleanField": Stored.BOOLEAN,
}


def _stored(queryset: QuerySet, name: str) -> Stored:
    """What the values of `name` are, from the field or annotation it reads; ANY when a
    field turns what is stored into something else (`from_db_value`)."""
    field = _field(queryset, name)
    if field is None or hasattr(field, "from_db_value"):
        return Stored.ANY
    return _STORED_BY_FIELD.get(field.get_internal_type(), Stored.ANY)


def _field(queryset: QuerySet, name: str) -> Field | None:
    if name in queryset.query.annotations:
        return queryset.query.annotations[name].output_field
    model, field = queryset.model, None
    for part in name.split(LOOKUP_SEP):
        if field is not None:
            if not field.is_relation:
                return None  # a transform ("name__lower"): whatever it returns
            model = field.related_model
        field = model._meta.get_field(part)
    if field.is_relation:
        # A foreign key ("connection", "connection_id") holds its target's value.
        return field.target_field if field.concrete else None
    return field


def _read_apart(queryset: QuerySet, size: int) -> Iterator[list[tuple]]:
    """The queryset's rows in lists of `size`, as `values_list` gives them (Django's
    converters applied), read on a new connection that is closed once they have been read or
    the reading stopped."""
    connection = connections.create_connection(queryset.db)
    try:
        compiler = queryset.query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return
        with closing(_fetched(connection, compiler, sql, params, size)) as fetched:
            for rows in fetched:
                yield list(compiler.results_iter([rows], tuple_expected=True))
    finally:
        connection.close()


def _fetched(
    connection: Any, compiler: Any, sql: str, params: Sequence[Any], size: int
) -> Iterator[list[Sequence[Any]]]:
    """The query's rows in lists of `size`: streamed on PostgreSQL, fetched elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own call (Django's cursor has none), its errors made Django's. Chunks
            # of `size` rows need libpq 17; row by row otherwise.
            chunk = size if capabilities.has_stream_chunked() else 1
            with (
                connection.wrap_database_errors,
                closing(cursor.cursor.stream(sql, params, size=chunk)) as stream,
            ):
                while rows := list(islice(stream, size)):
                    yield _selected(rows, compiler)
            return
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield _selected(rows, compiler)


def _selected(rows: list[Sequence[Any]], compiler: Any) -> list[Sequence[Any]]:
    """The rows without the columns that are only there to order by (they come last)."""
    if not compiler.has_extra_select:
        return rows
    return [row[: compiler.col_count] for row in rows]
