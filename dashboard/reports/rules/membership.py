"""6. Disabled users still in queues, ring groups or departments."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Exists, OuterRef

from dashboard.directory.models import DirectoryRelation, EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import AuditContext, Hit, Rule, entry_label, isolated

Kind = DirectoryRelation.Kind
ROLES = {Kind.QUEUE_AGENT: "agent of", Kind.RING_GROUP_MEMBER: "member of"}


def evaluate(ctx: AuditContext) -> Iterator[Hit]:
    in_groups = ctx.relations(*ROLES).filter(target_number=OuterRef("number"))
    in_department = DirectoryRelation.objects.filter(
        source=OuterRef("pk"), kind=Kind.DEPARTMENT_MEMBER
    )
    users = list(
        ctx.entries(EntryKind.USER)
        .filter(enabled=False)
        .exclude(number="")
        .filter(Exists(in_groups) | Exists(in_department))
        .values("pk", "external_id", "number", "name")
        .order_by("number", "external_id")
    )
    if not users:
        return
    memberships = defaultdict(list)
    for row in (
        ctx.relations(*ROLES)
        .filter(target_number__in={user["number"] for user in users})
        .values("kind", "target_number", "source__kind", "source__number", "source__name")
        .order_by("source__kind", "source__number")
    ):
        source = entry_label(row["source__kind"], row["source__number"], row["source__name"])
        memberships[("number", row["target_number"])].append(f"{ROLES[row['kind']]} {source}")
    for row in (
        DirectoryRelation.objects.filter(
            source_id__in=[user["pk"] for user in users], kind=Kind.DEPARTMENT_MEMBER
        )
        .values("source_id", "label")
        .order_by("label")
    ):
        memberships[("pk", row["source_id"])].append(
            f"member of department {isolated(row['label'])}"
        )
    for user in users:
        label = entry_label(EntryKind.USER, user["number"], user["name"])
        where = memberships[("number", user["number"])] + memberships[("pk", user["pk"])]
        yield Hit(
            subject_kind=EntryKind.USER,
            subject_external_id=user["external_id"],
            subject_key=f"user:{user['external_id']}",
            subject_label=label,
            summary=f"{label} is disabled but still {'; '.join(where[:3])}"
            + (f" (and {len(where) - 3:,} more)" if len(where) > 3 else ""),
            details={"memberships": where},
        )


RULES = (
    Rule(
        id="users.disabled_still_member",
        title="Disabled users still in queues, ring groups or departments",
        category=6,
        severity=Severity.MEDIUM,
        why=(
            "A disabled extension cannot answer. As a queue agent or ring group member it "
            "makes callers wait for a phone that never rings, skews queue statistics, and "
            "in a department it still appears in the team's lists and rights. Usually the "
            "extension of someone who left, disabled but not cleaned up."
        ),
        how_to_fix=(
            "Admin > Call Queues > select the queue > Agents: remove the user.",
            "Admin > Ring Groups > select the ring group > Members: remove the user.",
            "Admin > Users > select the user > Groups: move them out of their department, or "
            "delete the extension if it is no longer needed.",
        ),
        reads=(EntryKind.USER, EntryKind.QUEUE, EntryKind.RING_GROUP),
        evaluate=evaluate,
    ),
)
