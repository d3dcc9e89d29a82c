"""Connection pages' writes: saving connections and running background checks."""

from django.db import transaction
from django.utils import timezone

from dashboard.connections.models import ConnectionCheck
from dashboard.directory.models import DirectoryState
from dashboard.directory.services import sync_schedule_update
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
    *, connection: ThreeCXConnection, client_secret: str, sync_interval: str, actor, request=None
) -> ThreeCXConnection:
    created = connection._state.adding
    connection = connection_save(connection=connection, client_secret=client_secret)
    sync_schedule_update(connection=connection, interval=sync_interval)
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


def connection_check_request(*, connection: ThreeCXConnection, actor) -> ConnectionCheck:
    check = ConnectionCheck.objects.create(
        organization_id=connection.organization_id, connection=connection, requested_by=actor
    )
    from dashboard.connections.tasks import connection_check_task

    transaction.on_commit(lambda: connection_check_task.delay(str(check.pk)))
    return check


def connection_check_execute(*, check_id) -> ConnectionCheck:
    if not ConnectionCheck.objects.filter(pk=check_id, status=ConnectionCheck.Status.QUEUED).update(
        status=ConnectionCheck.Status.RUNNING
    ):
        return ConnectionCheck.objects.get(pk=check_id)
    check = ConnectionCheck.objects.select_related("connection").get(pk=check_id)
    outcome = connection_check(connection=check.connection)
    check.finished_at = timezone.now()
    if outcome.ok:
        check.status = ConnectionCheck.Status.SUCCEEDED
        check.result = {"version": outcome.version} | {
            key: outcome.status.get(key) for key in STATUS_FIELDS if key in outcome.status
        }
    else:
        check.status = ConnectionCheck.Status.FAILED
        check.error_title, check.error = outcome.error_title, outcome.error
    check.save()
    return check


def directory_state(connection: ThreeCXConnection) -> DirectoryState:
    return DirectoryState.objects.get_or_create(connection=connection)[0]
