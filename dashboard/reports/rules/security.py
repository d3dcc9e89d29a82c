"""2. Two-factor authentication; 11. anti-hacking settings and the audit log."""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from dashboard.directory.models import EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import (
    SETTING,
    SYSTEM_STATUS,
    AuditContext,
    Hit,
    Rule,
    RuleSkipped,
    entries_found,
    entry_label,
    setting_value,
)

#: The 3CX roles that administer the whole system (group_owners / group_admins manage a
#: department only).
SYSTEM_ROLES = {"system_owners": "system owner", "system_admins": "system administrator"}
ANTI_HACKING = "AntiHackingSettings"

#: 3CX's out-of-the-box anti-hacking values (Admin > Settings > Security > Anti-Hacking on a
#: fresh V20 install, as 3CX's security guide lists them), and which way is weaker. The XAPI
#: spec (Pbx.AntiHackingSettings) names the fields but documents neither defaults nor units;
#: only the values whose weaker direction is plain are compared. Barrier and throttle values
#: are left alone: they are tuned to traffic and a different value is not weaker as such.
ANTI_HACKING_DEFAULTS: dict[str, tuple[int | bool, str, str]] = {
    # field: (default, "max" = more than this is weaker / "min" = less is weaker / "on", label)
    "SecurityDefenseProgram": (True, "on", "Security defense program"),
    "HackAuthRequests": (25, "max", "Failed authentication requests before blocking"),
    "HackChallengeRequests": (1000, "max", "Failed challenge requests before blocking"),
    "HackBlacklistDuration": (86400, "min", "Blacklist duration (seconds)"),
}


def admins_without_2fa(ctx: AuditContext) -> Iterator[Hit]:
    rows = (
        ctx.entries(EntryKind.USER)
        .filter(is_admin=True)
        .exclude(enabled=False)
        .exclude(require_2fa=True)
        .values("external_id", "number", "name", "data")
        .order_by("number", "external_id")
    )
    for row in rows:
        roles = _roles(row["data"])
        system = sorted(SYSTEM_ROLES[role] for role in roles & SYSTEM_ROLES.keys())
        role = ", ".join(system) or "department administrator"
        label = entry_label(EntryKind.USER, row["number"], row["name"])
        yield Hit(
            subject_kind=EntryKind.USER,
            subject_external_id=row["external_id"],
            subject_key=f"user:{row['external_id']}",
            subject_label=label,
            summary=f"{label} is a {role} and 2FA is not required",
            details={"roles": sorted(roles)},
            # A department administrator can change less than a system one.
            severity=None if system else Severity.HIGH,
        )


def users_without_2fa(ctx: AuditContext) -> Iterator[Hit]:
    users = (
        ctx.entries(EntryKind.USER)
        .filter(Q(is_admin=False) | Q(is_admin__isnull=True))
        .exclude(enabled=False)
        .exclude(require_2fa=True)
    )
    yield from entries_found(EntryKind.USER, users, lambda label: f"{label}: 2FA is not required")


def antihacking_weak(ctx: AuditContext) -> Iterator[Hit]:
    settings = ctx.pbx_settings.get(ANTI_HACKING) or {}
    weaker: dict[str, dict[str, Any]] = {}
    for name, (default, direction, label) in ANTI_HACKING_DEFAULTS.items():
        value = settings.get(name)
        if value is None:
            continue
        if (
            (direction == "on" and value is False)
            or (direction == "max" and isinstance(value, int) and value > default)
            or (direction == "min" and isinstance(value, int) and value < default)
        ):
            weaker[name] = {"label": label, "value": value, "default": default}
    if not any(settings.get(name) is not None for name in ANTI_HACKING_DEFAULTS):
        raise RuleSkipped("The anti-hacking settings read from this server were empty.")
    if weaker:
        listed = "; ".join(
            f"{item['label']}: {_shown(item['value'])} (default {_shown(item['default'])})"
            for item in weaker.values()
        )
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="settings:anti_hacking",
            subject_label="Anti-hacking settings",
            summary=f"Weaker than 3CX's defaults: {listed}",
            details={"weaker": weaker},
        )


def audit_log_off(ctx: AuditContext) -> Iterator[Hit]:
    enabled = setting_value(ctx.system_status, "IsAuditLogEnabled", what="The system status")
    if enabled is False:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="settings:audit_log",
            subject_label="Audit log",
            summary="The audit log is off",
        )


def _roles(data: Any) -> set[str]:
    groups = data.get("Groups") if isinstance(data, dict) else None
    return {
        rights.get("RoleName")
        for group in groups or []
        if isinstance(group, dict) and isinstance(rights := group.get("Rights"), dict)
        if rights.get("RoleName")
    }


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:,}" if isinstance(value, int) else str(value)


TWO_FACTOR = (
    Rule(
        id="security.admin_without_2fa",
        title="Administrators without two-factor authentication",
        category=2,
        severity=Severity.CRITICAL,
        why=(
            "An administrator's password alone opens the whole phone system: whoever guesses "
            "or phishes it can add trunks, forward calls abroad and read call recordings. 3CX "
            "can require a second factor (an authenticator app) at sign-in. System owners and "
            "system administrators are critical; department administrators, who change only "
            "their department, are reported as high."
        ),
        how_to_fix=(
            "Admin > Users > select the user > Security > turn on Require 2FA.",
            "Ask the user to enrol an authenticator app at their next sign-in to the web client.",
        ),
        reads=(EntryKind.USER,),
        evaluate=admins_without_2fa,
    ),
    Rule(
        id="security.user_without_2fa",
        title="Users without two-factor authentication",
        category=2,
        severity=Severity.LOW,
        why=(
            "A user's web client password gives access to their voicemail, call history, "
            "chats and forwarding rules; with forwarding an intruder can route calls to "
            "premium numbers. Requiring a second factor stops stolen passwords being enough."
        ),
        how_to_fix=(
            "Admin > Users > select the user > Security > turn on Require 2FA (select several "
            "users and use Edit to change them together).",
        ),
        reads=(EntryKind.USER,),
        evaluate=users_without_2fa,
    ),
)

SETTINGS = (
    Rule(
        id="security.antihacking_weak",
        title="Anti-hacking settings weaker than 3CX's defaults",
        category=11,
        severity=Severity.HIGH,
        why=(
            "3CX blocks an address that fails to sign in too often. Compared with the values a "
            "new 3CX V20 installation ships with: the security defense program on; at most "
            "25 failed authentication requests and 1,000 failed challenge requests before an "
            "address is blocked; a blacklist duration of at least 86,400 seconds (24 hours). "
            "Allowing more attempts, or blocking for less time, gives password guessing more "
            "tries. The barrier and throttle values are not compared: they depend on the "
            "traffic of the site. (The XAPI spec names these fields but does not document "
            "their defaults; the values above are 3CX's documented console defaults.)"
        ),
        how_to_fix=(
            "Admin > Settings > Security > Anti-Hacking.",
            "Turn the security defense program on, and set the values named in the finding "
            "back to the defaults (or stricter), then Save.",
        ),
        reads=(ANTI_HACKING,),
        evaluate=antihacking_weak,
    ),
    Rule(
        id="security.audit_log_off",
        title="Audit log off",
        category=11,
        severity=Severity.MEDIUM,
        why=(
            "The audit log records who changed what in the 3CX console. Without it, a "
            "forwarding rule added by an intruder or a trunk changed by mistake cannot be "
            "traced back to an account or a time."
        ),
        how_to_fix=("Admin > Settings > Security > Audit Log: turn the audit log on, and Save.",),
        reads=(SYSTEM_STATUS,),
        evaluate=audit_log_off,
    ),
)
