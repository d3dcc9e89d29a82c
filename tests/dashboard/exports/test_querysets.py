"""A table read straight from a queryset: its rows in its order, each column typed by what
the database stores, read on a connection of its own that is always closed (inside a
transaction, on the caller's), leaving the caller's free for progress updates."""

from dataclasses import replace

import pytest
from django.db import DatabaseError

from dashboard.directory.models import DirectoryEntry, EntryKind
from dashboard.exports.models import Export
from dashboard.exports.querysets import QueryColumn, queryset_batches, queryset_table
from dashboard.exports.tables import CellType, Stored
from dashboard.exports.writers import csv_chunks
from tests.dashboard.exports.conftest import AWKWARD_NAMES

COLUMNS = [
    QueryColumn("Connection", "connection__name"),
    QueryColumn("3CX Id", "external_id", CellType.NUMBER),
    QueryColumn("Name", "name"),
    QueryColumn("Phone", "phone", CellType.PHONE),
    QueryColumn("Enabled", "enabled", CellType.BOOLEAN),
    QueryColumn("Connection id", "connection_id"),
    QueryColumn("Data", "data"),
]


def entries():
    return DirectoryEntry.objects.order_by("name", "pk")


def contacts_table():
    return queryset_table(queryset=entries(), columns=COLUMNS, title="Contacts", slug="contacts")


@pytest.fixture
def users(make_connection, add_entry):
    """A connection's users, enabled or not, with awkward names and phone numbers."""
    connection = make_connection()
    for index, name in enumerate(AWKWARD_NAMES):
        add_entry(
            connection,
            EntryKind.USER,
            name=name,
            phone=("+14155550107", " +14155550107", "-1", "")[index % 4],
            enabled=bool(index % 2),
        )
    return connection


# --- the table -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_column_is_typed_by_what_the_database_stores():
    stored = [column.stored for column in contacts_table().columns]
    assert stored == [
        Stored.TEXT,  # through the connection's key
        Stored.NUMBER,
        Stored.TEXT,
        Stored.TEXT,
        Stored.BOOLEAN,
        Stored.ANY,  # a UUID
        Stored.ANY,  # JSON
    ]


@pytest.mark.django_db
def test_it_holds_the_querysets_rows_in_its_order(users):
    table = contacts_table()
    expected = list(entries().values_list(*(column.field for column in COLUMNS)))
    assert list(table.rows()) == expected
    assert [row for batch in table.batches() for row in batch] == expected
    assert table.count() == len(AWKWARD_NAMES)


@pytest.mark.django_db
def test_its_csv_is_byte_for_byte_the_csv_written_cell_by_cell(users):
    table = contacts_table()
    by_batch = b"".join(csv_chunks(table))
    assert by_batch == b"".join(csv_chunks(replace(table, batches=None)))
    assert b"'=HYPERLINK" in by_batch and b"' +14155550107" in by_batch and b",yes," in by_batch


# --- where the rows are read -----------------------------------------------------------------


@pytest.mark.django_db
def test_inside_a_transaction_the_rows_are_read_on_the_callers_connection(users, other_connections):
    """The test's transaction is not committed: another connection would not see it."""
    batches = queryset_batches(entries().values_list("name"), size=4)
    assert [len(batch) for batch in batches] == [4, 4, 1]
    assert other_connections == []


@pytest.mark.django_db(transaction=True)
def test_rows_are_read_on_a_connection_of_their_own_which_is_closed(users, other_connections):
    batches = queryset_batches(entries().values_list("name"), size=4)
    first = next(batches)
    assert other_connections == [{"closed": False}]
    names = [name for batch in (first, *batches) for (name,) in batch]
    assert names == sorted(AWKWARD_NAMES)
    assert other_connections == [{"closed": True}]


@pytest.mark.django_db(transaction=True)
def test_the_callers_connection_stays_free_for_progress_while_rows_are_read(users):
    batches = queryset_batches(entries().values_list("name"), size=2)
    next(batches)
    assert Export.objects.update(rows_written=2) == 0  # a write between two batches
    assert sum(map(len, batches)) == len(AWKWARD_NAMES) - 2


@pytest.mark.django_db(transaction=True)
def test_reading_stopped_early_closes_its_connection(users, other_connections):
    batches = queryset_batches(entries().values_list("name"), size=1)
    assert next(batches) == [(sorted(AWKWARD_NAMES)[0],)]
    batches.close()  # as a streamed response does when its client goes away
    assert other_connections == [{"closed": True}]


@pytest.mark.django_db(transaction=True)
def test_an_error_while_reading_is_raised_and_its_connection_closed(users, other_connections):
    broken = entries().extra(where=["no_such_column = 1"]).values_list("name")
    with pytest.raises(DatabaseError):
        next(queryset_batches(broken))
    assert other_connections == [{"closed": True}]


@pytest.mark.django_db(transaction=True)
def test_nothing_to_read_opens_no_cursor(users, other_connections):
    assert list(queryset_batches(entries().none().values_list("name"))) == []
    assert all(connection["closed"] for connection in other_connections)


@pytest.mark.django_db(transaction=True)
def test_a_table_read_apart_writes_the_same_csv(users):
    table = contacts_table()
    assert b"".join(csv_chunks(table)) == b"".join(csv_chunks(replace(table, batches=None)))
