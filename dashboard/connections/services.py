"""Connection pages' writes: saving connections and running background checks."""

from typing import Any

from django.db import transaction

from dashboard.connections.models import ConnectionCheck
from dashboard.directory.models import DirectoryState
from dashboard.directory.services import sync_review_threshold_update, sync_schedule_update
from dashboard.jobs.runner import JobFailed, job_run
from dashboard.tenants.activity import activity_record
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_check, connection_save

#: What a check shows from SystemStatus, with the labels people read.
STATUS_FIELDS = {
    "FQDN": "FQDN",
    "Version": "Version",
    "ExpirationDate": "Licence expires",
    "ExtensionsTotal": "Extensions",
    "ExtensionsRegistered": "Extensions registered",
    "TrunksTotal": "Trunks",
    "TrunksRegistered": "Trunks registered",
    "Activated": "Licence activated",
}


@transaction.atomic
def connection_store(
    *,
    connection: ThreeCXConnection,
    client_secret: str,
    sync_interval: str,
    removal_review: tuple[int | None, int | None] = (None, None),
    actor,
    request=None,
) -> ThreeCXConnection:
    created = connection._state.adding
    connection = connection_save(connection=connection, client_secret=client_secret)
    sync_schedule_update(connection=connection, interval=sync_interval)
    percent, count = removal_review
    sync_review_threshold_update(connection=connection, percent=percent, count=count)
    activity_record(
        organization=connection.organization,
        actor=actor,
        action="connection.created" if created else "connection.updated",
        target=connection,
        details={"base_url": connection.base_url, "secret_changed": bool(client_secret)},
        request=request,
    )
    return connection


@transaction.atomic
def connection_delete(*, connection: ThreeCXConnection, actor, request=None) -> None:
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(name=f"directory-sync-{connection.pk}").delete()
    activity_record(
        organization=connection.organization,
        actor=actor,
        action="connection.deleted",
        target=connection,
        details={"base_url": connection.base_url},
        request=request,
    )
    connection.delete()


@transaction.atomic
def connection_check_request(
    *, connection: ThreeCXConnection, actor, request=None
) -> ConnectionCheck:
    """Record a check of the connection; the worker carries it out once committed."""
    check = ConnectionCheck.objects.create(
        organization_id=connection.organization_id, connection=connection, requested_by=actor
    )
    activity_record(
        organization=connection.organization,
        actor=actor,
        action="connection.tested",
        target=connection,
        request=request,
    )
    from dashboard.connections.tasks import connection_check_task

    transaction.on_commit(lambda: connection_check_task.delay(str(check.pk)))
    return check


def connection_check_execute(*, check_id, worker: str = "") -> ConnectionCheck:
    """Carry out a queued check (once, however often the task is delivered).

    connection_check records the outcome on the connection too: a success clears its
    "Last error", a failure sets it.
    """
    return job_run(ConnectionCheck, check_id, _check, worker=worker)


def _check(check: ConnectionCheck) -> dict[str, Any]:
    outcome = connection_check(connection=check.connection)
    if not outcome.ok:
        raise JobFailed(outcome.error_title, outcome.error)
    return {
        "result": {"version": outcome.version}
        | {key: outcome.status.get(key) for key in STATUS_FIELDS if key in outcome.status}
    }


def directory_state(connection: ThreeCXConnection) -> DirectoryState:
    return DirectoryState.objects.get_or_create(connection=connection)[0]
