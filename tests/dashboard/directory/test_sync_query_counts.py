"""Database round trips per page are bounded, and an unchanged directory is not rewritten."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db import connection as database
from django.test.utils import CaptureQueriesContext

from dashboard.directory.models import DirectoryEntry, SyncRun
from tests.dashboard.directory.syncing import sync_now

pytestmark = pytest.mark.django_db

PAGE = 10
COLLECTIONS = r"^/xapi/v1/(Users|Groups|Contacts|Queues|RingGroups|Receptionists|Trunks|Parkings)$"
#: Look up what exists, insert new versions, retire old ones, references, change records,
#: progress, the cancel check, a transaction: a handful per page, however many pages.
QUERIES_PER_PAGE = 6
ENTRY_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?directory_directoryentry"?\b')


@dataclass
class Sync:
    run: SyncRun
    pages: int
    queries: int
    #: Writes to directory_directoryentry: INSERT statements, rows updated, rows deleted.
    entry_writes: dict[str, int] = field(default_factory=dict)


@contextmanager
def entry_writes_counted() -> Iterator[dict[str, int]]:
    """Count the writes to directory_directoryentry: any INSERT (SQLite reports no row count
    for INSERT ... RETURNING), and the rows UPDATE and DELETE statements touch (cleanups
    that match no row cost a statement, not a write)."""
    counts = {"inserts": 0, "rows updated": 0, "rows deleted": 0}

    def count(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        match = ENTRY_WRITE.match(sql)
        if match and match.group(1) == "INSERT INTO":
            counts["inserts"] += 1
        elif match:
            key = "rows updated" if match.group(1) == "UPDATE" else "rows deleted"
            counts[key] += max(context["cursor"].rowcount, 0)
        return result

    with database.execute_wrapper(count):
        yield counts


def measured_sync(server, connection) -> Sync:
    pages = server.simulator.request_count(COLLECTIONS)
    with CaptureQueriesContext(database) as queries, entry_writes_counted() as writes:
        run = sync_now(connection, page_size=PAGE)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return Sync(
        run=run,
        pages=server.simulator.request_count(COLLECTIONS) - pages,
        queries=len(queries),
        entry_writes=writes,
    )


@pytest.fixture
def small_and_large(make_simulator, connection_to):
    """Two servers alike but for their phonebook: 30 contacts (3 pages) and 300 (30 pages)."""
    small, large = make_simulator(contacts=30), make_simulator(contacts=300)
    return (small, connection_to(small, name="Small")), (large, connection_to(large, name="Large"))


def test_a_first_sync_costs_a_bounded_number_of_queries_per_page(small_and_large):
    (small_server, small), (large_server, large) = small_and_large
    few, many = measured_sync(small_server, small), measured_sync(large_server, large)
    assert many.pages - few.pages >= 27
    per_page = (many.queries - few.queries) / (many.pages - few.pages)
    assert per_page <= QUERIES_PER_PAGE, f"{per_page:.1f} queries per extra page"


def test_a_second_sync_of_an_unchanged_directory_writes_no_entry(small_and_large):
    (small_server, small), (large_server, large) = small_and_large
    measured_sync(small_server, small)
    measured_sync(large_server, large)
    entries = set(DirectoryEntry.objects.values_list("pk", "generation_added", "content_hash"))
    few, many = measured_sync(small_server, small), measured_sync(large_server, large)
    for unchanged in (few, many):
        assert (unchanged.run.added, unchanged.run.changed, unchanged.run.removed) == (0, 0, 0)
        assert unchanged.entry_writes == {"inserts": 0, "rows updated": 0, "rows deleted": 0}
    assert set(DirectoryEntry.objects.values_list("pk", "generation_added", "content_hash")) == (
        entries
    )
    per_page = (many.queries - few.queries) / (many.pages - few.pages)
    assert per_page <= QUERIES_PER_PAGE, f"{per_page:.1f} queries per extra page"
