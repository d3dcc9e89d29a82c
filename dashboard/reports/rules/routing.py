"""1. Calls routed to an extension or number that does not exist or is disabled."""

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q

from dashboard.directory.models import DirectoryRelation, EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import AuditContext, Hit, Rule, entry_label, isolated

Kind = DirectoryRelation.Kind

#: References that send calls somewhere, and what their targets are called in reports.
ROUTING = {
    Kind.QUEUE_AGENT: "agent",
    Kind.RING_GROUP_MEMBER: "member",
    Kind.IVR_FORWARD: "option",
    Kind.INBOUND_DESTINATION: "destination",
    Kind.FORWARDING: "forwarding",
}
#: A target type (DestinationType / IVR ForwardType) -> the kind of entry it must name.
#: Other types (External, Fax, RoutePoint, EndCall...) are not checked: they name nothing
#: the directory holds (external numbers are rule tollfraud.external_forwarding's).
TARGET_KIND = {
    "Extension": EntryKind.USER,
    "VoiceMail": EntryKind.USER,
    "Queue": EntryKind.QUEUE,
    "RingGroup": EntryKind.RING_GROUP,
    "IVR": EntryKind.IVR,
}
#: Targets of an untyped reference (synced before the type was kept) may be any of these.
DIALABLE = (
    EntryKind.USER,
    EntryKind.QUEUE,
    EntryKind.RING_GROUP,
    EntryKind.IVR,
    EntryKind.PARKING,
    EntryKind.GROUP,
)


def evaluate(ctx: AuditContext) -> Iterator[Hit]:
    def named(*kinds: str):
        return ctx.entries().filter(kind__in=kinds, number=OuterRef("target_number"))

    members = (Kind.QUEUE_AGENT, Kind.RING_GROUP_MEMBER)
    others = tuple(kind for kind in ROUTING if kind not in members)
    to_user = Q(target_type__in=["Extension", "VoiceMail"]) | Q(target_type="", kind__in=members)
    nowhere = (to_user & ~Exists(named(EntryKind.USER).exclude(enabled=False))) | (
        Q(target_type="", kind__in=others) & ~Exists(named(*DIALABLE))
    )
    for target_type, kind in TARGET_KIND.items():
        if kind != EntryKind.USER:
            nowhere |= Q(target_type=target_type) & ~Exists(named(kind))
    rows = (
        ctx.relations(*ROUTING)
        .exclude(target_number="")
        .filter(nowhere)
        .annotate(disabled=Exists(named(EntryKind.USER).filter(enabled=False)))
        .values(
            "kind",
            "label",
            "target_number",
            "target_type",
            "disabled",
            "source__kind",
            "source__external_id",
            "source__number",
            "source__name",
        )
        .order_by("source__kind", "source__number", "pk")
    )
    for row in rows:
        source = entry_label(row["source__kind"], row["source__number"], row["source__name"])
        target = row["target_number"]
        problem = "a disabled user" if row["disabled"] else "no such extension"
        role = ROUTING[row["kind"]]
        # Labels carry names from the PBX (a forwarding profile's custom name).
        where = f" ({isolated(row['label'])})" if row["label"] else ""
        yield Hit(
            subject_kind=row["source__kind"],
            subject_external_id=row["source__external_id"],
            subject_key=(
                f"{row['source__kind']}:{row['source__external_id']}:{row['kind']}:"
                f"{row['label'][:100]}:{target}"
            ),
            subject_label=source,
            summary=f"{source} {role} {target}{where}: {problem}",
            details={
                "relation": row["kind"],
                "label": row["label"],
                "target_number": target,
                "target_type": row["target_type"],
                "target_disabled": row["disabled"],
            },
        )


RULES = (
    Rule(
        id="routing.nowhere",
        title="Calls routed to an extension that does not exist or is disabled",
        category=1,
        severity=Severity.HIGH,
        why=(
            "A ring group member, queue agent, IVR option or timeout, inbound rule destination "
            "or forwarding rule that points at an extension that was deleted, renumbered or "
            "disabled sends callers nowhere: the call rings no one, falls through to a "
            "default, or is dropped. Callers hear silence or an error and hang up; nobody "
            "inside notices because no phone rang. Inbound rules are checked where this "
            "version of 3CX lets the dashboard read them."
        ),
        how_to_fix=(
            "Open the item named in the finding: Admin > Ring Groups, Admin > Call Queues, "
            "Admin > Digital Receptionists, Admin > Inbound Rules, or Admin > Users > select "
            "the user > Forwarding Rules.",
            "Replace the missing or disabled extension with one that answers, or remove it.",
            "If the extension was disabled on purpose, also check the rule "
            "'Disabled users still in queues, ring groups or departments'.",
        ),
        reads=(EntryKind.USER, EntryKind.QUEUE, EntryKind.RING_GROUP, EntryKind.IVR),
        evaluate=evaluate,
    ),
)
