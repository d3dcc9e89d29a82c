"""manage.py xapi_call CONNECTION_ID OPERATION_ID [--param NAME=VALUE ...] [--body JSON|@file]
[--yes]: one XAPI operation from the shell, as the console sends it."""

import difflib
import json
import os
import socket
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.console.models import XapiCall
from dashboard.console.services import WritesDisabled, xapi_call_execute, xapi_call_request
from integrations.threecx.management.arguments import connection_from_argument
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.operations.catalogue import (
    Operation,
    UnknownOperation,
    operation_get,
    operations,
)
from integrations.threecx.operations.masking import secrets_mask
from integrations.threecx.operations.requests import (
    InvalidRequest,
    PreparedRequest,
    request_prepare,
)
from integrations.threecx.operations.versions import operation_availability

YES = {"y", "yes"}


class Command(BaseCommand):
    help = (
        "Call one XAPI operation on a 3CX connection, as the XAPI console does: the request "
        "is checked against the spec, recorded in the connection's call history (and writes "
        "in the activity log), and sent from this process. The answer is printed as JSON on "
        "standard output, secrets masked; the status and time go to standard error. Writes "
        "show the request and ask first unless --yes. Exits non-zero when the request is "
        "invalid, refused or cancelled, or the call fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection_id", help="the connection's id (a UUID)")
        parser.add_argument(
            "operation_id", help="the operation's id, such as ListUser (see xapi_operations)"
        )
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a path or query parameter, such as Id=5 or '$top=10'; repeat for each",
        )
        parser.add_argument(
            "--body",
            metavar="JSON|@FILE",
            help="the request body: JSON text, @FILE to read it from a file, @- from stdin",
        )
        parser.add_argument("--yes", action="store_true", help="send a write without asking")

    def handle(self, *args, **options) -> None:
        connection = connection_from_argument(options["connection_id"])
        operation = _operation_get(options["operation_id"])
        params = _params_parse(options["param"])
        body = _body_read(options["body"])
        try:
            prepared = request_prepare(operation, params=params, body=body)
        except InvalidRequest as exc:
            raise CommandError(_invalid_message(operation, exc)) from None
        self._warn_if_absent(operation, connection)
        if not prepared.is_read:
            if not connection.organization.xapi_writes_enabled:
                # Refused before asking, not after a "yes"; xapi_call_request refuses too.
                raise CommandError(WritesDisabled(connection.organization).message)
            if not options["yes"]:
                self._confirm(prepared, connection)
        try:
            call = xapi_call_request(
                connection=connection,
                actor=None,
                operation=operation,
                params=params,
                body=body,
                enqueue=False,
            )
        except WritesDisabled as exc:
            raise CommandError(exc.message) from None
        worker = f"manage.py xapi_call on {socket.gethostname()} pid {os.getpid()}"
        xapi_call_execute(call_id=call.pk, worker=worker)
        # Read back: a failed call's HTTP status is recorded apart from the row returned.
        self._print_result(XapiCall.objects.get(pk=call.pk))

    def _note(
        self, text: str, *, style_func: Callable[[str], str] | None = None, ending: str = "\n"
    ) -> None:
        """Write to stderr, in plain text unless `style_func` says otherwise: on a terminal
        Django colours all of stderr as errors."""
        self.stderr.write(text, style_func=style_func or _plain, ending=ending)

    def _warn_if_absent(self, operation: Operation, connection: ThreeCXConnection) -> None:
        """The console marks an operation the server's version lacks and still lets it be
        sent (the version may be misread); the shell says so where it cannot spoil stdout."""
        availability = operation_availability(operation, connection.version)
        if availability.available is False:
            self._note(f"{operation.id}: {availability.note}", style_func=self.style.WARNING)

    def _confirm(self, prepared: PreparedRequest, connection: ThreeCXConnection) -> None:
        """Show the exact request and send it only on "y" or "yes". The request and the
        question go to stderr, so that stdout stays the answer alone."""
        self._note(f"A write to {connection.name} ({connection.organization.name}):")
        self._note(f"{prepared.method} {prepared.url(connection.base_url)}")
        if prepared.body is None:
            self._note("(no body)")
        else:
            self._note(_json_text(secrets_mask(prepared.body)))
        if not sys.stdin or not sys.stdin.isatty():
            raise CommandError(
                "Not sent: this is a write and standard input is not a terminal to confirm it "
                "on. Check the request above and add --yes to send it."
            )
        self._note("Send this write? [y/N] ", ending="")
        self.stderr.flush()
        try:
            answer = sys.stdin.readline()
        except KeyboardInterrupt:
            answer = ""
        if answer.strip().lower() not in YES:
            raise CommandError("Cancelled: nothing was sent.")

    def _print_result(self, call: XapiCall) -> None:
        if call.response_status is not None:
            self._note(f"{_status_line(call.response_status)} in {call.elapsed_ms} ms")
        if call.answer is not None:
            self.stdout.write(_json_text(call.answer))
        if call.answer_note:
            self._note(call.answer_note, style_func=self.style.WARNING)
        if call.status != XapiCall.Status.SUCCEEDED:
            failure = f"{call.error_title}: {call.error}" if call.error_title else call.error
            if call.response_status is not None:
                failure = f"{failure} (HTTP {call.response_status})"
            raise CommandError(failure)


def _operation_get(value: str) -> Operation:
    try:
        return operation_get(value)
    except UnknownOperation:
        pass
    known = {operation_id.lower(): operation_id for operation_id in operations()}
    close = difflib.get_close_matches(value.lower(), known, n=5)
    if close:
        hint = "Did you mean " + ", ".join(known[name] for name in close) + "?"
    else:
        hint = "List them with `manage.py xapi_operations --search TEXT`."
    raise CommandError(f"There is no operation {value!r} in the XAPI spec. {hint}")


def _params_parse(values: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for value in values:
        name, equals, text = value.partition("=")
        name = name.strip()
        if not equals or not name:
            raise CommandError(
                f"--param {value!r} is not NAME=VALUE: write it as --param Id=5 or "
                "--param '$top=10'."
            )
        if name in params:
            raise CommandError(f"--param {name} is given twice: give each parameter once.")
        params[name] = text
    return params


def _body_read(value: str | None) -> str | None:
    """The body as typed: JSON text, or the text of @FILE (@- for standard input)."""
    if value is None or not value.startswith("@"):
        return value
    if value == "@-":
        return sys.stdin.read()
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CommandError(f"--body: cannot read {path}: {reason}.") from None


def _invalid_message(operation: Operation, exc: InvalidRequest) -> str:
    lines = [f"{operation.id} was not sent: the request does not match the spec."]
    lines += [f"  {error.field}: {error.message}" for error in exc.errors]
    return "\n".join(lines)


def _status_line(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _plain(text: str) -> str:
    return text


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
