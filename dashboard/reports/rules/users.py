"""4. Users without an email address; duplicate email addresses and display names."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, F, Window
from django.db.models.functions import Lower, Trim

from dashboard.directory.models import EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import (
    AuditContext,
    Hit,
    Rule,
    entries_found,
    entry_label,
    isolated,
)

#: Names of the others listed in one finding's details.
OTHERS_LISTED = 20


def no_email(ctx: AuditContext) -> Iterator[Hit]:
    users = ctx.entries(EntryKind.USER).filter(email="").exclude(enabled=False)
    yield from entries_found(EntryKind.USER, users, lambda label: f"{label} has no email address")


def duplicate_email(ctx: AuditContext) -> Iterator[Hit]:
    yield from _duplicates(ctx, column="email", what="email address")


def duplicate_name(ctx: AuditContext) -> Iterator[Hit]:
    yield from _duplicates(ctx, column="name", what="display name")


def _duplicates(ctx: AuditContext, *, column: str, what: str) -> Iterator[Hit]:
    """One hit per user whose `column` (trimmed, case-insensitive) another user shares."""
    # A window count in one scan: a join of the users with their grouped keys was planned as
    # a nested loop (seconds) while the table had no statistics yet, as after a first sync.
    users = ctx.entries(EntryKind.USER).exclude(**{column: ""}).annotate(key=Lower(Trim(column)))
    rows = (
        users.annotate(sharing=Window(Count("pk"), partition_by=[F("key")]))
        .filter(sharing__gt=1)
        .values("external_id", "number", "name", column, "key")
    )
    by_key = defaultdict(list)
    for row in rows.order_by("key", "number", "external_id"):
        by_key[row["key"]].append(row)
    for group in by_key.values():
        labels = [entry_label(EntryKind.USER, row["number"], row["name"]) for row in group]
        for index, row in enumerate(group):
            label = labels[index]
            others = labels[:index] + labels[index + 1 :]
            yield Hit(
                subject_kind=EntryKind.USER,
                subject_external_id=row["external_id"],
                subject_key=f"user:{row['external_id']}",
                subject_label=label,
                summary=(
                    f"{label} shares the {what} “{isolated(row[column])}” with {_listed(others)}"
                ),
                details={what.replace(" ", "_"): row[column], "others": others[:OTHERS_LISTED]},
            )


def _listed(labels: list[str]) -> str:
    if len(labels) <= 2:
        return " and ".join(labels)
    return f"{labels[0]}, {labels[1]} and {len(labels) - 2:,} more"


RULES = (
    Rule(
        id="users.no_email",
        title="Users without an email address",
        category=4,
        severity=Severity.MEDIUM,
        why=(
            "3CX sends voicemail-to-email, missed call notices, the welcome email with the "
            "app set-up and password resets to the user's email address. A user without one "
            "never hears of their voicemails and cannot reset a forgotten password."
        ),
        how_to_fix=(
            "Admin > Users > select the user > General > Email: enter the user's address, "
            "and Save.",
        ),
        reads=(EntryKind.USER,),
        evaluate=no_email,
    ),
    Rule(
        id="users.duplicate_email",
        title="Users sharing an email address",
        category=4,
        severity=Severity.MEDIUM,
        why=(
            "Users who share an email address receive each other's voicemails and "
            "notifications, and a password reset for one goes to the other: a privacy "
            "problem, and a way into someone else's extension."
        ),
        how_to_fix=(
            "Admin > Users > select each user named in the finding > General > Email: give "
            "each user their own address.",
        ),
        reads=(EntryKind.USER,),
        evaluate=duplicate_email,
    ),
    Rule(
        id="users.duplicate_name",
        title="Users sharing a display name",
        category=4,
        severity=Severity.LOW,
        why=(
            "Callers transferring by name, the company phonebook and the dial-by-name "
            "directory show two people with the same name: calls go to the wrong one. Often "
            "a sign of a leftover extension of someone who left."
        ),
        how_to_fix=(
            "Admin > Users > select each user named in the finding > General: change the first "
            "or last name so that each is unique, or delete the extension no longer used.",
        ),
        reads=(EntryKind.USER,),
        evaluate=duplicate_name,
    ),
)
