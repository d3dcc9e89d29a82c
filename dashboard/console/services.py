"""The XAPI console's writes: a call recorded, then sent to the PBX on the worker.

Every write (an operation that may change the PBX) is written to the organisation's activity
log when it ends, with its request (secrets masked) and the answer's status or the error.
Reads are not: there would be one entry per look, and the connection's call history already
lists them (who, when, what, how it went).
"""

import json
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from dashboard.console.models import XapiCall
from dashboard.jobs.runner import JobFailed, job_run
from dashboard.limits import per_minute_counted
from dashboard.tenants.activity import activity_record, client_ip
from dashboard.tenants.models import Organization
from integrations.threecx import crypto, errors
from integrations.threecx.client import OperationAnswer, ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.operations.catalogue import Operation, operation_get
from integrations.threecx.operations.masking import secrets_mask
from integrations.threecx.operations.requests import InvalidRequest, request_prepare

#: The window the per-minute limits (settings.XAPI_CALLS_PER_*) count in.
#: A write's masked body goes into the activity log up to this size (as JSON text); a bigger
#: one is summarised there, and stays in the call's history.
ACTIVITY_BODY_MAX_CHARS = 10_000
INVALID_TITLE = "Invalid request"


class WritesDisabled(Exception):
    """The organisation turned writes through the console off: only reads may be sent."""

    def __init__(self, organization: Organization) -> None:
        self.message = (
            f"Writes through the XAPI console are turned off for {organization.name} "
            "(Organisation settings)."
        )
        super().__init__(self.message)


class CallLimitReached(Exception):
    """Too many calls in the last minute, by this user or to this connection."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@transaction.atomic
def xapi_call_request(
    *,
    connection: ThreeCXConnection,
    actor,
    operation: Operation,
    params: dict[str, str],
    body: str | None,
    request=None,
    enqueue: bool = True,
    rate_limited: bool = False,
) -> XapiCall:
    """Check the request against the spec and record it; the worker sends it once the row
    is committed (when `enqueue`; the shell sends it itself).

    Raises InvalidRequest (every problem, each naming its field) or WritesDisabled, recording
    nothing. Who may call is the caller's to decide (views: the member's role; the shell is
    trusted). `request`, when there is one, says where the call came from. `rate_limited`
    (the pages) also counts the call against the per-minute limits and raises
    CallLimitReached over them.
    """
    prepared = request_prepare(operation, params=params, body=body)
    organization = connection.organization
    if not prepared.is_read and not organization.xapi_writes_enabled:
        raise WritesDisabled(organization)
    if rate_limited:
        _limit_consume(connection=connection, actor=actor)
    typed_body = body if body and body.strip() else ""
    call = XapiCall.objects.create(
        organization=organization,
        connection=connection,
        requested_by=actor if getattr(actor, "pk", None) else None,
        operation_id=operation.id,
        method=prepared.method,
        path=prepared.path,
        query=dict(prepared.query),
        params={name: value for name, value in params.items() if value != ""},
        body_encrypted=crypto.encrypt(typed_body) if typed_body else "",
        body_masked=secrets_mask(prepared.body) if prepared.body is not None else None,
        is_write=not prepared.is_read,
        requested_from=client_ip(request) if request is not None else None,
    )
    if enqueue:
        from dashboard.console.tasks import xapi_call_task

        transaction.on_commit(lambda: xapi_call_task.delay(str(call.pk)))
    return call


def xapi_call_execute(
    *, call_id, client: ThreeCXClient | None = None, worker: str = ""
) -> XapiCall:
    """Send the call and record the answer (status, headers, time, JSON with secrets masked)
    or the client's error, whose HTTP status is kept too. A write is then written to the
    activity log, however it ended.

    Runs once per row: a row no longer queued (a task delivered twice) is returned untouched.
    """
    claimed: list[XapiCall] = []  # the row as this run carried it out, if it did

    def send(call: XapiCall) -> dict[str, Any]:
        claimed.append(call)
        prepared = _prepared_again(call)
        started = time.monotonic()
        try:
            answer = (client or ThreeCXClient.for_connection(call.connection)).operation_call(
                prepared
            )
        except errors.ThreeCXError as exc:
            elapsed_ms = getattr(exc, "elapsed_ms", None)
            call.response_status = exc.status
            call.elapsed_ms = elapsed_ms if elapsed_ms is not None else _elapsed_ms(started)
            XapiCall.objects.filter(pk=call.pk).update(
                response_status=call.response_status, elapsed_ms=call.elapsed_ms
            )
            raise JobFailed(exc.title, exc.message) from exc
        return _answer_fields(answer, operation_id=call.operation_id)

    try:
        job_run(XapiCall, call_id, send, worker=worker)
    finally:
        if claimed:
            _write_record(claimed[0])
    return XapiCall.objects.get(pk=call_id)  # as it ended, the failed answer's status included


def _prepared_again(call: XapiCall):
    """The request as it was checked when recorded, from what was typed."""
    try:
        operation = operation_get(call.operation_id)
        return request_prepare(operation, params=call.params, body=call.body_typed() or None)
    except (KeyError, InvalidRequest) as exc:
        # Only a spec changed between recording and sending could get here.
        raise JobFailed(INVALID_TITLE, str(exc)) from exc


def _answer_fields(answer: OperationAnswer, *, operation_id: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "response_status": answer.status,
        "response_headers": dict(answer.headers),
        "elapsed_ms": answer.elapsed_ms,
        "answer_bytes": answer.size,
        "answer": None,
        "answer_note": "",
    }
    limit = settings.XAPI_ANSWER_MAX_BYTES
    if answer.size > limit:
        fields["answer_note"] = (
            f"The answer ({filesizeformat(answer.size)}) is bigger than the "
            f"{filesizeformat(limit)} the console keeps, so it was not kept. Ask for less: "
            "$select fewer properties, $filter, or page with $top and $skip."
        )
    elif answer.data is not None:
        fields["answer"] = secrets_mask(answer.data, operation_id=operation_id)
    elif answer.size:
        fields["answer_note"] = (
            f"The answer is not JSON ({answer.content_type or 'no content type'}, "
            f"{filesizeformat(answer.size)}): the console shows JSON answers only."
        )
    return fields


def _write_record(call: XapiCall) -> None:
    """The write's entry in the activity log: what was sent and how it ended."""
    if not call.is_write:
        return
    details: dict[str, Any] = {
        "operation": call.operation_id,
        "method": call.method,
        "path": call.path,
        "query": call.query,
        "status": call.response_status,
        "outcome": call.status,
    }
    body_text = json.dumps(call.body_masked, ensure_ascii=False)
    if call.body_masked is None or len(body_text) <= ACTIVITY_BODY_MAX_CHARS:
        details["body"] = call.body_masked
    else:
        details["body_note"] = (
            f"{len(body_text):,} characters of JSON, too long for the log: see the call in the "
            "connection's XAPI history."
        )
    if call.error_title:
        details["error"] = f"{call.error_title}: {call.error}"
    activity_record(
        organization=call.organization,
        actor=call.requested_by,
        action="xapi.write",
        target=call.connection,
        target_label=f"{call.method} {call.path} on {call.connection.name}",
        details=details,
        # Written by the worker, without the request: from where the page's request came.
        ip_address=call.requested_from,
    )


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _limit_consume(*, connection: ThreeCXConnection, actor) -> None:
    if actor is not None and not per_minute_counted(
        "xapi-call", f"user:{actor.pk}", settings.XAPI_CALLS_PER_USER
    ):
        raise CallLimitReached(
            f"You have sent {settings.XAPI_CALLS_PER_USER} calls in the last minute, as many "
            "as one person may: each one makes the PBX work. Wait a minute, then try again."
        )
    if not per_minute_counted(
        "xapi-call", f"connection:{connection.pk}", settings.XAPI_CALLS_PER_CONNECTION
    ):
        raise CallLimitReached(
            f"{connection.name} has been sent {settings.XAPI_CALLS_PER_CONNECTION} calls in the "
            "last minute, by everyone together: as many as it takes, to spare the PBX. Wait a "
            "minute, then try again."
        )
