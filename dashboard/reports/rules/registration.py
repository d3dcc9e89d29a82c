"""8. Trunks, phones and extensions that are not registered."""

from collections.abc import Iterator

from dashboard.directory.models import EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import (
    SETTING,
    SYSTEM_STATUS,
    AuditContext,
    Hit,
    Rule,
    entries_found,
    setting_value,
)


def trunks_unregistered(ctx: AuditContext) -> Iterator[Hit]:
    yield from _not_registered(ctx, EntryKind.TRUNK, column="is_online", what="is not registered")


def devices_unregistered(ctx: AuditContext) -> Iterator[Hit]:
    yield from _not_registered(
        ctx, EntryKind.SIP_DEVICE, column="is_registered", what="is not registered"
    )


def extensions_unregistered(ctx: AuditContext) -> Iterator[Hit]:
    status = ctx.system_status
    total = setting_value(status, "ExtensionsTotal", what="The system status")
    registered = setting_value(status, "ExtensionsRegistered", what="The system status")
    if isinstance(total, int) and isinstance(registered, int) and registered < total:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="status:extensions_registered",
            subject_label="Registered extensions",
            summary=f"{total - registered:,} of {total:,} extensions are not registered",
            details={"registered": registered, "total": total},
        )


def _not_registered(ctx: AuditContext, kind: str, *, column: str, what: str) -> Iterator[Hit]:
    offline = ctx.entries(kind).filter(**{column: False})
    yield from entries_found(kind, offline, lambda label: f"{label} {what}")


RULES = (
    Rule(
        id="trunks.unregistered",
        title="Trunks not registered",
        category=8,
        severity=Severity.CRITICAL,
        why=(
            "A trunk that is not registered with its provider carries no calls: the numbers "
            "on it cannot be reached and outbound calls through it fail. Causes are a changed "
            "password at the provider, an unpaid account, or a network or firewall change."
        ),
        how_to_fix=(
            "Admin > Voice & Chat > select the trunk: check the registrar, authentication ID "
            "and password against the provider's details, and Save to re-register.",
            "Admin > Dashboard > Firewall Checker: check that SIP traffic reaches the server.",
        ),
        reads=(EntryKind.TRUNK,),
        evaluate=trunks_unregistered,
    ),
    Rule(
        id="devices.unregistered",
        title="Phones not registered",
        category=8,
        severity=Severity.MEDIUM,
        why=(
            "A provisioned desk phone that is not registered does not ring: its user misses "
            "calls without knowing. It may be unplugged, moved to another network, or failing "
            "to authenticate after a password change. (A phone counts as registered when 3CX "
            "lists a registration address for it.)"
        ),
        how_to_fix=(
            "Admin > Phones: find the phone, check that it is powered and on the network, "
            "then select it and Reprovision (or Reboot).",
            "If the phone was retired, remove it from the user's phones.",
        ),
        reads=(EntryKind.SIP_DEVICE,),
        evaluate=devices_unregistered,
    ),
    Rule(
        id="extensions.unregistered",
        title="Extensions not registered",
        category=8,
        severity=Severity.LOW,
        why=(
            "3CX counts how many extensions have a phone or app registered. Extensions with "
            "none cannot take calls unless forwarded; many of them at once point to a network "
            "problem, a certificate or firewall change, or extensions nobody uses any more."
        ),
        how_to_fix=(
            "Admin > Users: sort by status to see the extensions without a registered phone "
            "or app.",
            "Send the welcome email again (select the user > Send Welcome Email) to those who "
            "should use the app, and disable or delete unused extensions.",
        ),
        reads=(SYSTEM_STATUS,),
        evaluate=extensions_unregistered,
    ),
)
