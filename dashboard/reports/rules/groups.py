"""7. Queues and ring groups nobody answers; IVRs whose keys lead nowhere."""

from collections.abc import Iterator

from django.db.models import Exists, OuterRef

from dashboard.directory.models import DirectoryRelation, EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import AuditContext, Hit, Rule, entries_found

Kind = DirectoryRelation.Kind
MEMBERS = {EntryKind.QUEUE: Kind.QUEUE_AGENT, EntryKind.RING_GROUP: Kind.RING_GROUP_MEMBER}
#: IVR_FORWARD relations of menu keys are labelled "Key 1"... (others: "Timeout", routes).
KEY_LABEL = "Key "


def empty_groups(ctx: AuditContext) -> Iterator[Hit]:
    for kind, relation in MEMBERS.items():
        members = DirectoryRelation.objects.filter(source=OuterRef("pk"), kind=relation)
        noun = "agents" if kind == EntryKind.QUEUE else "members"
        empty = ctx.entries(kind).filter(~Exists(members))
        yield from entries_found(kind, empty, lambda label, noun=noun: f"{label} has no {noun}")


def ivr_without_targets(ctx: AuditContext) -> Iterator[Hit]:
    keys = DirectoryRelation.objects.filter(
        source=OuterRef("pk"), kind=Kind.IVR_FORWARD, label__startswith=KEY_LABEL
    )
    ivrs = ctx.entries(EntryKind.IVR).filter(~Exists(keys))
    yield from entries_found(
        EntryKind.IVR, ivrs, lambda label: f"{label}: no menu key leads anywhere"
    )


RULES = (
    Rule(
        id="groups.empty",
        title="Queues and ring groups without agents or members",
        category=7,
        severity=Severity.MEDIUM,
        why=(
            "A call sent to a queue without agents or a ring group without members rings "
            "nobody: the caller waits until the timeout sends them on (if one is set) or "
            "gives up. Inbound rules, IVR options and forwarding may still point at it."
        ),
        how_to_fix=(
            "Admin > Call Queues > select the queue > Agents: add the agents who should answer.",
            "Admin > Ring Groups > select the ring group > Members: add members.",
            "Or delete it, after checking that nothing routes to it (the entry's page in this "
            "dashboard lists what routes to it).",
        ),
        reads=(EntryKind.QUEUE, EntryKind.RING_GROUP),
        evaluate=empty_groups,
    ),
    Rule(
        id="ivr.no_targets",
        title="IVRs with no menu options",
        category=7,
        severity=Severity.MEDIUM,
        why=(
            "A digital receptionist (IVR) whose keys lead nowhere plays its greeting and then "
            "can only time out: callers pressing a key get nothing. Often a menu set up and "
            "never finished, or whose destinations were deleted."
        ),
        how_to_fix=(
            "Admin > Digital Receptionists > select the IVR > Menu options: send each key the "
            "greeting announces to an extension, queue, ring group or another IVR.",
        ),
        reads=(EntryKind.IVR,),
        evaluate=ivr_without_targets,
    ),
)
