"""Rows written once for all the tests of a module that only read them.

`module_transaction` opens a transaction that stays open while the module's tests run and
is rolled back after the last one. Each test (`django_db`, not transactional) runs in a
savepoint inside it, so whatever a test writes is gone before the next test, as always:
Django's `TestCase.setUpTestData`, for pytest. It is for rows that take a sync or a thousand
inserts to make and that every test of a module reads.

Never use it in a module with transactional tests (`transaction=True`, `live_server`, a
worker process): they commit, then empty every table. The objects a fixture hands out are
shared too: a test may change rows in the database, never those objects in memory.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from django.db import transaction


@contextmanager
def module_transaction(django_db_blocker) -> Iterator[Callable[[], AbstractContextManager]]:
    """For a module-scoped fixture: yields `writing`, inside which the rows are written.

    @pytest.fixture(scope="module")
    def _synced(django_db_setup, django_db_blocker):
        with module_transaction(django_db_blocker) as writing:
            with writing():
                connection = ...
            yield connection
    """
    atomic = transaction.atomic()
    with django_db_blocker.unblock():
        atomic.__enter__()
    try:
        yield django_db_blocker.unblock
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
