"""Storage browsing's writes: a Get Directory Info question, asked on the worker."""

from typing import Any

from django.conf import settings
from django.db import transaction

from dashboard.jobs.runner import JobFailed, job_run
from dashboard.limits import per_minute_counted
from dashboard.storage.models import StorageBrowse
from dashboard.tenants.activity import activity_record
from integrations.threecx import crypto, errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection


class BrowseLimitReached(Exception):
    """Too many questions in the last minute, by this user or on this connection."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@transaction.atomic
def storage_browse_request(
    *,
    connection: ThreeCXConnection,
    actor,
    filesystem: str,
    path: str = "",
    root: str = "",
    raw_parameters: str = "",
    request=None,
) -> StorageBrowse:
    """Record the question; the worker asks the PBX once the row is committed.

    Raises BrowseLimitReached, recording nothing, when the user or the connection has asked
    its share of questions this minute: every question makes the PBX list a folder.
    """
    _limit_consume(connection=connection, actor=actor)
    browse = StorageBrowse.objects.create(
        organization_id=connection.organization_id,
        connection=connection,
        requested_by=actor,
        filesystem=filesystem,
        path=path,
        root=root,
        raw_parameters=crypto.encrypt(raw_parameters) if raw_parameters else "",
    )
    activity_record(
        organization=connection.organization,
        actor=actor,
        action="storage.browsed",
        target=connection,
        # Never the Advanced JSON: its "Json" may hold a storage location's credentials.
        details={"filesystem": filesystem, "path": path, "advanced": bool(raw_parameters)},
        request=request,
    )
    from dashboard.storage.tasks import storage_browse_task

    transaction.on_commit(lambda: storage_browse_task.delay(str(browse.pk)))
    return browse


def storage_browse_execute(
    *, browse_id, client: ThreeCXClient | None = None, worker: str = ""
) -> StorageBrowse:
    """Ask the PBX and record its answer, or the client's error, on the row.

    Runs once per row: a row no longer queued (a task delivered twice) is returned untouched.
    """

    def ask(browse: StorageBrowse) -> dict[str, Any]:
        try:
            answer = (client or ThreeCXClient.for_connection(browse.connection)).get_directory_info(
                browse.parameters_typed() or storage_browse_body(browse)
            )
        except errors.ThreeCXError as exc:
            raise JobFailed(exc.title, exc.message) from exc
        found = {"result": answer}
        if not browse.path and not browse.root:
            found["root"] = answer.get("Path") or ""
        return found

    return job_run(StorageBrowse, browse_id, ask, worker=worker)


def storage_browse_body(browse: StorageBrowse) -> dict[str, Any]:
    """The Parameters of a plain browse (no Advanced JSON): file system and path."""
    return {"Filesystem": browse.filesystem, "Path": browse.path}


def _limit_consume(*, connection: ThreeCXConnection, actor) -> None:
    if actor is not None and not per_minute_counted(
        "storage-browse", f"user:{actor.pk}", settings.STORAGE_BROWSE_PER_USER
    ):
        raise BrowseLimitReached(
            f"You have opened {settings.STORAGE_BROWSE_PER_USER} folders in the last minute, "
            "as many as one person may: each one makes the PBX work. Wait a minute, then "
            "try again."
        )
    if not per_minute_counted(
        "storage-browse", f"connection:{connection.pk}", settings.STORAGE_BROWSE_PER_CONNECTION
    ):
        raise BrowseLimitReached(
            f"{connection.name} has been asked for {settings.STORAGE_BROWSE_PER_CONNECTION} "
            "folders in the last minute, by everyone together: as many as it is asked for, to "
            "spare the PBX. Wait a minute, then try again."
        )
