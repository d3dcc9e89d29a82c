"""Read-only queries over the synced directory: listings, one entry and its links, changes.

Everything here reads what users see (`DirectoryEntry.objects.visible()`), and every listing
costs a fixed number of queries whatever its page size: per-row figures (members, missing
targets) are correlated subqueries of the page query, never one query per row.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection as db_connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from dashboard.directory import search
from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    EntryKind,
    SyncChange,
    SyncRun,
)
from dashboard.directory.search import text_unaccent
from dashboard.directory.sources import SOURCES
from dashboard.tenants.models import Organization
from integrations.threecx import spec
from integrations.threecx.models import ThreeCXConnection

#: The columns free-text search looks in, in the order of the trigram index expression.
SEARCH_FIELDS = ("number", "name", "email", "company", "phone", "mobile", "department")

VALUES_CACHE_SECONDS = 24 * 60 * 60
#: How far a listing can be paged, and a filtered one counted: see EntryPaginator.
PAGE_DEPTH = 1000
#: Search words at least this long match anywhere in a value; shorter ones a word's start.
MIN_ANYWHERE = 3

#: Relations whose target is given as a number (the others name a department by its id).
NUMBER_RELATIONS = (
    DirectoryRelation.Kind.QUEUE_AGENT,
    DirectoryRelation.Kind.RING_GROUP_MEMBER,
    DirectoryRelation.Kind.IVR_FORWARD,
)
#: Relations that send calls to a number: what "everything that routes here" lists on an
#: entry's page. Inbound rules and forwarding profiles may also name external numbers, which
#: are never an entry's.
ROUTING_RELATIONS = (
    *NUMBER_RELATIONS,
    DirectoryRelation.Kind.INBOUND_DESTINATION,
    DirectoryRelation.Kind.FORWARDING,
)
#: Relations whose label says something of the route itself (a key, a time of day, a
#: forwarding condition) rather than naming the entry.
_LABELLED_ROUTES = (
    DirectoryRelation.Kind.IVR_FORWARD,
    DirectoryRelation.Kind.INBOUND_DESTINATION,
    DirectoryRelation.Kind.FORWARDING,
)


class SearchText(Func):
    """Columns joined by spaces, after a leading space that makes every word start " word",
    without accents (see `search.py`).

    Keep identical to the trigram index expressions of migration 0005: PostgreSQL uses an
    expression index only for a query repeating its expression exactly, and `__icontains`
    turns this into UPPER(directory_unaccent(' ' || ...)::text) LIKE UPPER('%term%').
    """

    arg_joiner = " || ' ' || "
    template = f"{search.FUNCTION}(' ' || %(expressions)s)"
    output_field = TextField()

    def __init__(self, *fields: str) -> None:
        super().__init__(*(F(name) for name in fields))


def entry_list(
    *, organization: Organization, kind: str, connection: ThreeCXConnection | None = None
) -> QuerySet[DirectoryEntry]:
    """The visible entries of one kind, with the per-row figures their listing shows."""
    entries = DirectoryEntry.objects.visible().filter(organization=organization, kind=kind)
    if connection is not None:
        entries = entries.filter(connection=connection)
    return entries.defer("data", "content_hash").annotate(**_figures(kind)).order_by("name", "pk")


def entries_attach_connections(
    entries: Iterable[DirectoryEntry], connections: Iterable[ThreeCXConnection]
) -> Iterator[DirectoryEntry]:
    """Set each entry's connection from ones already loaded, rather than joining them in."""
    by_id = {c.pk: c for c in connections}
    for entry in entries:
        entry.connection = by_id[entry.connection_id]
        yield entry


class EntryPaginator(Paginator):
    """Pages through the first PAGE_DEPTH entries of a listing, counting as little as it can.

    An unfiltered list takes its total from the last sync's counts; a filtered one is counted
    up to PAGE_DEPTH + 1 matches only. Pages stop at PAGE_DEPTH too: counting the 90,000
    contacts that have an email address, or skipping 75,000 rows to show page 1,500, costs
    more than a page is worth, and nobody browses that far: they search.

    A search (`search_first`) first collects the ids of up to PAGE_DEPTH + 1 matches in
    whatever order the trigram index finds them, then sorts and pages those: walking 100,000
    contacts in name order until 50 contain "dvořák" took 90-250 ms here, because matches
    cluster where the planner does not expect them. With more than PAGE_DEPTH matches the
    pages hold PAGE_DEPTH of them (`sampled`), and the page says so.
    """

    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        *,
        known_total: int | None = None,
        search_first: bool = False,
        unfiltered: QuerySet | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.known_total = known_total
        self.search_first = search_first
        #: What the found ids are read from (filters need not be checked twice).
        self.unfiltered = unfiltered if unfiltered is not None else object_list

    @cached_property
    def found(self) -> list[int]:
        matches = self.object_list.order_by().values_list("pk", flat=True)
        return list(matches[: PAGE_DEPTH + 1])

    @cached_property
    def total(self) -> int:
        """Every match when known, else at most PAGE_DEPTH + 1 ("more than PAGE_DEPTH")."""
        if self.known_total is not None:
            return self.known_total
        if self.search_first:
            return len(self.found)
        return self.object_list.order_by()[: PAGE_DEPTH + 1].count()

    @property
    def total_known(self) -> bool:
        return self.known_total is not None or self.total <= PAGE_DEPTH

    @property
    def truncated(self) -> bool:
        return self.total > PAGE_DEPTH

    @property
    def sampled(self) -> bool:
        return self.search_first and self.truncated

    @cached_property
    def count(self) -> int:
        return min(self.total, PAGE_DEPTH)

    def page(self, number: Any) -> Page:
        if not self.search_first:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        found = _with_ids(self.unfiltered, self.found[:PAGE_DEPTH])
        ordered = found.order_by(*self.object_list.query.order_by)
        return self._get_page(ordered[bottom : bottom + self.per_page], number, self)


def entry_search(entries: QuerySet[DirectoryEntry], text: str) -> QuerySet[DirectoryEntry]:
    """Entries containing every word of `text` somewhere in their searchable columns."""
    return _containing(entries, text, alias="search_text", fields=SEARCH_FIELDS)


def entries_of_company(entries: QuerySet[DirectoryEntry], text: str) -> QuerySet[DirectoryEntry]:
    return _containing(entries, text, alias="company_text", fields=("company",))


def entries_named_first(
    entries: QuerySet[DirectoryEntry], *, descending: bool = False
) -> QuerySet[DirectoryEntry]:
    """Entries by name, those without a name last, by company (what they are listed as)."""
    unnamed = ExpressionWrapper(Q(name=""), output_field=BooleanField())
    if descending:
        return entries.order_by(unnamed.asc(), "-name", "-company", "-pk")
    return entries.order_by(unnamed.asc(), "name", "company", "pk")


def entries_with_missing_targets(
    entries: QuerySet[DirectoryEntry], *, missing: bool
) -> QuerySet[DirectoryEntry]:
    """Queues, ring groups and IVRs that do (or do not) point at a number nobody has."""
    condition = Exists(_missing_targets(DirectoryRelation.objects.filter(source=OuterRef("pk"))))
    return entries.filter(condition if missing else ~condition)


def entries_in_department(
    entries: QuerySet[DirectoryEntry], *, department: str
) -> QuerySet[DirectoryEntry]:
    memberships = DirectoryRelation.objects.filter(
        source=OuterRef("pk"), kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER, label=department
    )
    return entries.filter(Exists(memberships))


def entry_values(
    *, organization: Organization, kind: str, field_name: str, connections: list[ThreeCXConnection]
) -> list[str]:
    """The distinct non-empty values of one column in these connections, for filter choices.

    Cached until one of the connections syncs again (the key holds their generations):
    finding the few contact types among 100,000 contacts costs more than a whole listing.
    """
    if not connections:
        return []
    generations = ",".join(f"{c.pk}:{_generation(c)}" for c in connections)
    key = f"directory-values:{organization.pk}:{kind}:{field_name}:{generations}"
    values = cache.get(key)
    if values is None:
        values = sorted(
            set(
                DirectoryEntry.objects.visible()
                .filter(organization=organization, kind=kind, connection__in=connections)
                .exclude(**{field_name: ""})
                .order_by()
                .values_list(field_name, flat=True)
                .distinct()
            ),
            key=str.casefold,
        )
        cache.set(key, values, timeout=VALUES_CACHE_SECONDS)
    return values


def entry_count(*, kind: str, connections: list[ThreeCXConnection]) -> int | None:
    """How many entries of `kind` the connections have, as counted by their last syncs.

    None when a connection has no counts (never synced, or synced before counts were kept):
    the caller then counts with a query.
    """
    states = [getattr(c, "directory_state", None) for c in connections]
    if not states or any(s is None or not s.generation or not s.counts for s in states):
        return None
    return sum(int(s.counts.get(kind, 0)) for s in states)


def entry_get(*, connection: ThreeCXConnection, kind: str, external_id: int) -> DirectoryEntry:
    """The visible version of one entry; raises DirectoryEntry.DoesNotExist."""
    return (
        DirectoryEntry.objects.visible()
        .select_related("connection")
        .get(connection=connection, kind=kind, external_id=external_id)
    )


def entry_fields(entry: DirectoryEntry) -> dict[str, Any]:
    """The entry's data without secrets, checked again although none should be stored."""
    secrets = _secret_fields(entry.kind)
    return _without(entry.data, secrets)


def entry_json(entry: DirectoryEntry) -> str:
    return json.dumps(entry_fields(entry), indent=2, ensure_ascii=False, sort_keys=True)


@dataclass
class Link:
    """One reference between two entries, seen from the entry on the page."""

    relation: str
    kind_label: str
    label: str
    number: str = ""
    #: The entry at the other end, or None when nothing in the directory has that number.
    entry: DirectoryEntry | None = None
    #: Where the entry at the other end is shown (filled in by the view).
    url: str = ""

    @property
    def missing(self) -> bool:
        return self.entry is None

    @property
    def disabled(self) -> bool:
        return self.entry is not None and self.entry.enabled is False


@dataclass
class EntryLinks:
    #: What this entry points at: its departments, its agents or members, its IVR targets.
    outgoing: list[Link] = field(default_factory=list)
    #: Who points at this entry: departments of a user, queues and ring groups it is in...
    incoming: list[Link] = field(default_factory=list)


def entry_links(entry: DirectoryEntry) -> EntryLinks:
    """Memberships and routing in both directions, with targets resolved where they exist."""
    visible = DirectoryEntry.objects.visible().filter(connection_id=entry.connection_id)
    relations = list(entry.relations.order_by("kind", "label", "target_number", "pk"))
    numbers = {r.target_number for r in relations if r.kind in NUMBER_RELATIONS}
    departments = {
        r.target_external_id
        for r in relations
        if r.kind == DirectoryRelation.Kind.DEPARTMENT_MEMBER and r.target_external_id
    }
    by_number, by_department = {}, {}
    if numbers or departments:
        for target in visible.filter(
            Q(number__in=numbers) & ~Q(kind=EntryKind.CONTACT)
            | Q(kind=EntryKind.GROUP, external_id__in=departments)
        ).defer("data"):
            if target.kind == EntryKind.GROUP and target.external_id in departments:
                by_department[target.external_id] = target
            if target.number in numbers:
                by_number.setdefault(target.number, target)
    outgoing = [
        Link(
            relation=r.kind,
            kind_label=r.get_kind_display(),
            label=r.label,
            number=r.target_number,
            entry=by_department.get(r.target_external_id)
            if r.kind == DirectoryRelation.Kind.DEPARTMENT_MEMBER
            else by_number.get(r.target_number),
        )
        for r in relations
    ]
    return EntryLinks(outgoing=outgoing, incoming=_incoming(entry, visible))


def entry_changes(*, entry: DirectoryEntry, limit: int = 50) -> list[SyncChange]:
    return list(
        SyncChange.objects.filter(
            connection_id=entry.connection_id, kind=entry.kind, external_id=entry.external_id
        )
        .exclude(run__status=SyncRun.Status.NEEDS_REVIEW)
        .select_related("run")
        .order_by("-run__created_at", "-pk")[:limit]
    )


def change_list(
    *, connection: ThreeCXConnection | None = None, run: SyncRun | None = None
) -> QuerySet[SyncChange]:
    """Changes of one connection (newest run first) or of one run."""
    changes = SyncChange.objects.select_related("run")
    if run is not None:
        return changes.filter(run=run).order_by("kind", "label", "pk")
    # A run held for review has not happened yet: its changes are on its own review page.
    return (
        changes.filter(connection=connection)
        .exclude(run__status=SyncRun.Status.NEEDS_REVIEW)
        .order_by("-run__created_at", "kind", "label", "pk")
    )


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str
    after: str


def change_fields(change: SyncChange) -> list[FieldChange]:
    """What a change changed, down to the nested value, secrets left out.

    A renamed queue agent shows as `Agents[Id=17].Name: Liam Brown → Renamed Brown` rather
    than as two 2,000-character copies of the agent list.
    """
    secrets = _secret_fields(change.kind)
    found: list[FieldChange] = []
    for name, values in sorted(change.fields.items()):
        if name not in secrets and isinstance(values, list | tuple) and len(values) == 2:
            found += _differences(name, _without(values[0], secrets), _without(values[1], secrets))
    return found


def json_text(value: Any, *, indent: int | None = None) -> str:
    """A field's value as text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=indent)


def run_list(*, connection: ThreeCXConnection) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(connection=connection).order_by("-created_at")


# --- helpers ---------------------------------------------------------------------------------


def _with_ids(entries: QuerySet[DirectoryEntry], ids: list[int]) -> QuerySet[DirectoryEntry]:
    """`entries` whose id is one of `ids`; on PostgreSQL as one array parameter, because
    building and parsing a thousand separate parameters takes longer than the query."""
    if db_connection.vendor == "postgresql":
        return entries.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
    return entries.filter(pk__in=ids)


def _containing(
    entries: QuerySet[DirectoryEntry], text: str, *, alias: str, fields: tuple[str, ...]
) -> QuerySet[DirectoryEntry]:
    words = [word for word in text_unaccent(text).split() if word]
    if not words:
        return entries
    entries = entries.alias(**{alias: SearchText(*fields)})
    for word in words:
        # A word of one or two characters ("ja", "王") only matches the start of a word: a
        # trigram index finds those among 100,000 rows at once, but not "ja" anywhere.
        pattern = word if len(word) >= MIN_ANYWHERE else f" {word}"
        entries = entries.filter(**{f"{alias}__icontains": pattern})
    return entries


def _generation(connection: ThreeCXConnection) -> int:
    state = getattr(connection, "directory_state", None)
    return state.generation if state is not None else 0


def _figures(kind: str) -> dict[str, Any]:
    """Per-row counts shown (and sortable) in the listing of `kind`."""
    own = DirectoryRelation.objects.filter(source=OuterRef("pk"))
    if kind in (EntryKind.QUEUE, EntryKind.RING_GROUP, EntryKind.IVR):
        return {
            "member_count": _count(own),
            "missing_count": _count(_missing_targets(own)),
        }
    if kind == EntryKind.GROUP:
        members = _visible_relations().filter(
            connection=OuterRef("connection"),
            kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER,
            target_external_id=OuterRef("external_id"),
        )
        return {"member_count": _count(members)}
    return {}


def _count(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _missing_targets(relations: QuerySet[DirectoryRelation]) -> QuerySet[DirectoryRelation]:
    """Relations pointing at an internal number that no visible entry of the connection has
    (external numbers, voicemail of a number and the like name nothing the directory holds)."""
    targets = (
        DirectoryEntry.objects.visible()
        .filter(connection=OuterRef("connection"), number=OuterRef("target_number"))
        .exclude(kind=EntryKind.CONTACT)
    )
    return relations.filter(
        kind__in=NUMBER_RELATIONS, target_type__in=INTERNAL_TARGET_TYPES
    ).filter(~Exists(targets))


#: Target types that name an extension, queue, ring group or IVR of the same PBX; "" for
#: references synced before the type was kept.
INTERNAL_TARGET_TYPES = ("", "Extension", "VoiceMail", "Queue", "RingGroup", "IVR")


def _visible_relations() -> QuerySet[DirectoryRelation]:
    """Relations whose source entry is visible (a running sync writes new ones beside them)."""
    generation = F("connection__directory_state__generation")
    return DirectoryRelation.objects.filter(
        Q(source__generation_removed__isnull=True) | Q(source__generation_removed__gt=generation),
        source__generation_added__lte=generation,
    )


def _incoming(entry: DirectoryEntry, visible: QuerySet[DirectoryEntry]) -> list[Link]:
    relations = _visible_relations().filter(connection_id=entry.connection_id)
    condition = Q(pk__in=[])
    if entry.number:
        condition |= Q(kind__in=ROUTING_RELATIONS, target_number=entry.number) & ~Q(
            target_type="External"
        )
    if entry.kind == EntryKind.GROUP:
        condition |= Q(
            kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER, target_external_id=entry.external_id
        )
    found = relations.filter(condition).select_related("source").defer("source__data")
    return [
        Link(
            relation=relation.kind,
            kind_label=_incoming_label(relation.kind),
            # Only a route's label says something here (an IVR key, office hours, a
            # forwarding condition); the others name this entry.
            label=relation.label if relation.kind in _LABELLED_ROUTES else "",
            number=relation.source.number,
            entry=relation.source,
        )
        for relation in found.order_by("source__kind", "source__name", "label", "pk")
    ]


def _incoming_label(kind: str) -> str:
    return {
        DirectoryRelation.Kind.DEPARTMENT_MEMBER: "Member",
        DirectoryRelation.Kind.QUEUE_AGENT: "Agent of queue",
        DirectoryRelation.Kind.RING_GROUP_MEMBER: "Member of ring group",
        DirectoryRelation.Kind.IVR_FORWARD: "Target of IVR",
        DirectoryRelation.Kind.INBOUND_DESTINATION: "Destination of inbound rule",
        DirectoryRelation.Kind.FORWARDING: "Forwarded here by",
    }.get(kind, kind)


def _secret_fields(kind: str) -> frozenset[str]:
    entity_set = next((s.entity_set for s in SOURCES if s.kind == kind), None)
    return spec.entity_set_secret_fields(entity_set) if entity_set else frozenset()


def _differences(path: str, before: Any, after: Any) -> list[FieldChange]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            change
            for key in sorted(set(before) | set(after))
            for change in _differences(f"{path}.{key}", before.get(key), after.get(key))
        ]
    if isinstance(before, list) and isinstance(after, list):
        keyed_before, keyed_after = _by_id(before), _by_id(after)
        if keyed_before is not None and keyed_after is not None:
            return [
                change
                for key in sorted(set(keyed_before) | set(keyed_after), key=str)
                for change in _differences(
                    f"{path}[Id={key}]", keyed_before.get(key), keyed_after.get(key)
                )
            ]
        if len(before) == len(after):
            return [
                change
                for index, (old, new) in enumerate(zip(before, after, strict=True))
                for change in _differences(f"{path}[{index}]", old, new)
            ]
    return [FieldChange(path, json_text(before), json_text(after))]


def _by_id(items: list[Any]) -> dict[Any, Any] | None:
    """A list of objects keyed by their Id, or None when they have no unique Ids."""
    if not all(isinstance(item, dict) and "Id" in item for item in items):
        return None
    keyed = {item["Id"]: item for item in items}
    return keyed if len(keyed) == len(items) else None


def _without(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every key named in `secrets` removed, at any depth."""
    secrets = frozenset(secrets)
    if isinstance(value, dict):
        return {k: _without(v, secrets) for k, v in value.items() if k not in secrets}
    if isinstance(value, list):
        return [_without(v, secrets) for v in value]
    return value
