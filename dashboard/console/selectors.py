"""What the console's pages read: the catalogue as a connection sees it, who may send what,
and the connection's call history."""

import json
from dataclasses import dataclass

from django.db.models import QuerySet

from dashboard.console.models import XapiCall
from dashboard.tenants.access import OrganizationAccess
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.operations.catalogue import Operation, operations_search
from integrations.threecx.operations.versions import Availability, operation_availability


@dataclass(frozen=True)
class CatalogueEntry:
    operation: Operation
    availability: Availability


@dataclass(frozen=True)
class CatalogueGroup:
    tag: str
    entries: list[CatalogueEntry]


def catalogue_groups(
    *, connection: ThreeCXConnection, text: str = "", tag: str = ""
) -> list[CatalogueGroup]:
    """The operations matching `text` (and `tag`), by tag, each with whether the
    connection's version has it."""
    groups: dict[str, list[CatalogueEntry]] = {}
    for operation in operations_search(text, tag=tag):
        entry = CatalogueEntry(operation, operation_availability(operation, connection.version))
        groups.setdefault(operation.tag, []).append(entry)
    return [CatalogueGroup(tag, entries) for tag, entries in groups.items()]


def operation_refusal(*, access: OrganizationAccess, operation: Operation) -> str:
    """Why this member may not send `operation` ("" when they may): reads are for any member
    and provider staff, writes as `writes_refusal` says."""
    return "" if operation.is_read else writes_refusal(access=access)


def writes_refusal(*, access: OrganizationAccess) -> str:
    """Why this member may not send writes ("" when they may): admins and owners may, while
    the organisation allows writes through the console."""
    organization = access.organization
    if access.via_provider:
        return "Provider access is read-only: this operation changes the PBX."
    if not access.can_manage:
        return (
            f"This operation changes the PBX: only admins and owners of {organization.name} "
            "may send it."
        )
    if not organization.xapi_writes_enabled:
        return (
            f"Writes through the XAPI console are turned off for {organization.name}: the "
            "console only reads."
        )
    return ""


def call_history(*, connection: ThreeCXConnection) -> QuerySet[XapiCall]:
    """The connection's calls, newest first, without their answers (which may be big)."""
    return (
        XapiCall.objects.filter(connection=connection)
        .select_related("requested_by")
        .defer("answer", "body_encrypted", "response_headers")
        .order_by("-created_at")
    )


def call_again_arguments(
    call: XapiCall, *, access: OrganizationAccess, user
) -> tuple[dict[str, str], str | None, bool]:
    """(params, body, masked) to fill the operation's form in as `call` was sent.

    The body as typed is decrypted only for whoever sent it and for the organisation's
    admins (a body may carry credentials); anyone else gets the masked copy the history
    shows, and `masked` says so (its secrets have to be typed again).
    """
    params = {str(name): str(value) for name, value in call.params.items()}
    if call.body_masked is None and not call.body_encrypted:
        return params, None, False
    own = call.requested_by_id is not None and call.requested_by_id == getattr(user, "pk", None)
    if own or (access.can_manage and not access.via_provider):
        return params, call.body_typed() or None, False
    return params, json.dumps(call.body_masked, indent=2, ensure_ascii=False), True


def call_actor_label(call: XapiCall) -> str:
    """Who sent the call: a member, the shell, or someone since removed."""
    if call.requested_by is not None:
        return str(call.requested_by)
    return "manage.py (shell)" if call.worker.startswith("manage.py") else "A former member"
