"""9. Licence expiring, maintenance expired, licence inactive."""

from collections.abc import Iterator
from datetime import timedelta

from dashboard.reports.models import Severity
from dashboard.reports.rules.base import SETTING, SYSTEM_STATUS, AuditContext, Hit, Rule, parse_time

EXPIRING_WITHIN = timedelta(days=30)
CRITICAL_WITHIN = timedelta(days=7)


def expiring(ctx: AuditContext) -> Iterator[Hit]:
    expires = parse_time(ctx.licence["ExpirationDate"])
    if expires is None or expires - ctx.now > EXPIRING_WITHIN:
        return  # a licence without expiry (perpetual) or with time to spare
    left = expires - ctx.now
    summary = (
        f"The licence expired on {_day(expires)}"
        if left <= timedelta(0)
        else f"The licence expires on {_day(expires)}, in {_days(left)}"
    )
    yield Hit(
        subject_kind=SETTING,
        subject_external_id=None,
        subject_key="licence:expiry",
        subject_label="Licence",
        summary=summary,
        details={"expires_at": expires.isoformat()},
        severity=Severity.CRITICAL if left <= CRITICAL_WITHIN else None,
    )


def maintenance_expired(ctx: AuditContext) -> Iterator[Hit]:
    expired = parse_time(ctx.licence["MaintenanceExpiresAt"])
    if expired is not None and expired <= ctx.now:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="licence:maintenance",
            subject_label="Licence maintenance",
            summary=f"Maintenance expired on {_day(expired)}",
            details={"expired_at": expired.isoformat()},
        )


def inactive(ctx: AuditContext) -> Iterator[Hit]:
    licence = ctx.licence
    problems = [
        text
        for name, text in (
            ("Activated", "the licence is not activated"),
            ("LicenseActive", "the licence is not active"),
        )
        if licence[name] is False
    ]
    if problems:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="licence:active",
            subject_label="Licence",
            summary=f"{'; '.join(problems).capitalize()}",
            details={name: licence[name] for name in ("Activated", "LicenseActive")},
        )


def _days(left: timedelta) -> str:
    days = max(left.days, 0)
    return "less than a day" if days == 0 else f"{days} day{'s' if days != 1 else ''}"


def _day(moment) -> str:
    return f"{moment.day} {moment:%b %Y}"


RULES = (
    Rule(
        id="licence.expiring",
        title="Licence expiring",
        category=9,
        severity=Severity.HIGH,
        why=(
            "When an annual 3CX licence expires the system stops routing calls. Renewal takes "
            "a purchase order and the new key to be applied, so a month's notice is needed: "
            "within 30 days this is high, within 7 days (or expired) critical."
        ),
        how_to_fix=(
            "Renew the licence with your 3CX partner.",
            "Admin > License: Refresh the licence (or enter the new key) once renewed, and "
            "check the new expiry date shown.",
        ),
        reads=(SYSTEM_STATUS,),
        evaluate=expiring,
    ),
    Rule(
        id="licence.maintenance_expired",
        title="Maintenance expired",
        category=9,
        severity=Severity.HIGH,
        why=(
            "Without maintenance (perpetual licences) the server gets no updates: security "
            "fixes for the PBX and the phones' firmware stop, and 3CX support will not help "
            "until it is renewed."
        ),
        how_to_fix=("Renew maintenance with your 3CX partner, then Admin > License > Refresh.",),
        reads=(SYSTEM_STATUS,),
        evaluate=maintenance_expired,
    ),
    Rule(
        id="licence.inactive",
        title="Licence not active",
        category=9,
        severity=Severity.CRITICAL,
        why=(
            "A 3CX server whose licence is not activated or not active runs in a restricted "
            "mode or stops handling calls altogether."
        ),
        how_to_fix=(
            "Admin > License: enter a valid licence key and Activate; if it is already "
            "entered, Refresh and read the reason 3CX gives.",
        ),
        reads=(SYSTEM_STATUS,),
        evaluate=inactive,
    ),
)
