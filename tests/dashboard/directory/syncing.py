"""Running syncs in tests and looking at what they left in the directory tables."""

import time
from collections import Counter
from collections.abc import Callable

from dashboard.directory.models import DirectoryEntry, DirectoryRelation, DirectoryState, SyncRun
from dashboard.directory.services import sync_run_request
from dashboard.directory.sync import sync_run_execute
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.transport import RetryPolicy

#: Retries as in production, only with delays short enough for tests.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=1)


def fast_client_factory(**overrides) -> Callable[..., ThreeCXClient]:
    """A `client_factory` for sync_run_execute: the connection's client with FAST_RETRY."""

    def build(connection) -> ThreeCXClient:
        return ThreeCXClient.for_connection(connection, **{"retry": FAST_RETRY, **overrides})

    return build


def run_created(connection, *, trigger: str = SyncRun.Trigger.MANUAL, **fields) -> SyncRun:
    """A queued run, created directly (no task is sent)."""
    return SyncRun.objects.create(
        organization_id=connection.organization_id,
        connection=connection,
        trigger=trigger,
        **fields,
    )


def sync_now(connection, *, client_factory=None, **client_options) -> SyncRun:
    """Create a run and carry it out in this process; returns the finished run."""
    run = run_created(connection)
    factory = client_factory or fast_client_factory(**client_options)
    return sync_run_execute(run_id=run.pk, worker="tests", client_factory=factory)


def visible(connection, kind: str | None = None):
    entries = DirectoryEntry.objects.visible().filter(connection=connection)
    return entries.filter(kind=kind) if kind else entries


def quiet_users(connection, count: int) -> list[DirectoryEntry]:
    """Visible users nothing routes to: changing one changes that user's entry only."""
    referenced = DirectoryRelation.objects.filter(connection=connection).values("target_number")
    users = visible(connection, "user").exclude(number__in=referenced).order_by("-external_id")
    return list(users[:count])


def snapshot(connection) -> set[tuple[str, int, str]]:
    """What users see: (kind, external id, content hash) of every visible entry."""
    return set(visible(connection).values_list("kind", "external_id", "content_hash"))


def leftovers(connection) -> int:
    """Rows that are not part of the visible directory (an unfinished run's work)."""
    generation = DirectoryState.objects.get(connection=connection).generation
    return (
        DirectoryEntry.objects.filter(connection=connection)
        .exclude(generation_added__lte=generation, generation_removed__isnull=True)
        .count()
    )


def duplicates(connection) -> dict[tuple[str, int], int]:
    """(kind, external id) pairs seen more than once among the visible entries."""
    counts = Counter(visible(connection).values_list("kind", "external_id"))
    return {key: count for key, count in counts.items() if count > 1}


def run_wait(run: SyncRun, *, until: Callable[[SyncRun], bool], timeout: float = 30) -> SyncRun:
    """Poll the run's row until `until(run)` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if until(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(
                f"Sync {run.pk} is {run.status} with progress {run.progress} "
                f"after {timeout} s; error: {run.error!r}"
            )
        time.sleep(0.05)


def requested(connection) -> SyncRun:
    """A new run, queued through the service (its task goes to the broker on commit)."""
    run, created = sync_run_request(connection=connection)
    assert created, f"a sync was already {run.status}"
    return run


def synced_by_worker(connection, *, timeout: float = 60) -> SyncRun:
    """Request a sync and wait for a worker to finish it; it must succeed."""
    run = run_wait(requested(connection), until=finished, timeout=timeout)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def finished(run: SyncRun) -> bool:
    return not run.is_active


def fetched(kind: str, at_least: int = 1) -> Callable[[SyncRun], bool]:
    """A run_wait condition: the run has fetched `at_least` items of `kind` and is running."""

    def check(run: SyncRun) -> bool:
        if not run.is_active:
            raise AssertionError(f"Sync {run.pk} ended {run.status} too early: {run.error!r}")
        return (run.progress.get(kind) or {}).get("fetched", 0) >= at_least

    return check


def on_page(entity_set: str, number: int, action: Callable[[], None], **client_options):
    """A client factory whose client calls `action()` as page `number` of `entity_set`
    arrives, before the sync writes it: to cancel, kill or stall a run at a known point."""
    build = fast_client_factory(**client_options)

    def factory(connection) -> ThreeCXClient:
        client = build(connection)
        collection = client.collection

        def hooked(name: str, **options):
            paged = collection(name, **options)
            if name == entity_set:

                def arrived(paged, items) -> None:
                    if paged.pages_read == number:
                        action()

                paged.on_page = arrived
            return paged

        client.collection = hooked
        return client

    return factory


class WorkerKilled(BaseException):
    """Raised from a page hook: the run stops dead, as if its process had been SIGKILLed
    (a BaseException, so the sync's own error handling does not see it)."""
