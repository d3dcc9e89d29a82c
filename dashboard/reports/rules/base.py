"""What a rule is, what it finds, and the view of one connection's synced data it reads.

A rule reads the connection's visible directory (the generation users see) with set-based
queries: it asks the database for the offending rows only, and turns those into `Hit`s.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from dashboard.directory.models import DirectoryEntry, DirectoryRelation, DirectoryState
from dashboard.reports.phones import phone_region

#: The twelve categories of the catalogue, in the order reports list them.
CATEGORIES: dict[int, str] = {
    1: "Routing",
    2: "Two-factor authentication",
    3: "Toll fraud",
    4: "User details",
    5: "Phone numbers",
    6: "Disabled users",
    7: "Empty groups",
    8: "Registration",
    9: "Licence",
    10: "Updates and backups",
    11: "Security settings",
    12: "Emergency calls",
}

#: `reads` name for the SystemStatus object (the other names are entry kinds and
#: DirectoryState.pbx_settings keys).
SYSTEM_STATUS = "system_status"
#: Finding.subject_kind of a finding about a setting rather than an entry.
SETTING = "setting"


class RuleSkipped(Exception):
    """Raised by a rule that cannot judge this connection (a value the server did not
    send); the reason is shown in the report as why the rule did not run."""


@dataclass(frozen=True)
class Hit:
    """One subject a rule found true: an entry (its kind and 3CX id) or a setting."""

    subject_kind: str
    subject_external_id: int | None
    #: Identifies the subject within (connection, rule) across runs: "user:12:mobile".
    subject_key: str
    subject_label: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    #: None: the rule's own severity.
    severity: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    category: int
    severity: str
    #: Why it matters (a paragraph).
    why: str
    #: What to do about it in the 3CX admin console, one step a line.
    how_to_fix: tuple[str, ...]
    #: Entry kinds, pbx_settings keys and/or SYSTEM_STATUS: what must have been synced.
    reads: tuple[str, ...]
    evaluate: Callable[["AuditContext"], Iterable[Hit]] = field(repr=False, compare=False)

    @property
    def category_name(self) -> str:
        return CATEGORIES[self.category]


class AuditContext:
    """One connection's synced data as the rules see it, at the visible generation."""

    def __init__(self, *, connection, state: DirectoryState, now: datetime) -> None:
        self.connection = connection
        self.state = state
        self.generation = state.generation
        self.now = now
        self.region = phone_region(connection)
        #: What one rule worked out that another of the same pass may reuse (by name).
        self.memo: dict[str, Any] = {}
        #: Set by the engine: the rule being evaluated, and the pass's `staging.HitStage`,
        #: into which set-based rules put their hits with `hits_select`.
        self.rule: Rule | None = None
        self.stage: Any = None

    def hits_select(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Stage the current rule's hits as one SELECT (see `staging.HitStage.select`)
        instead of yielding them: for rules that may find tens of thousands of subjects."""
        return self.stage.select(self.rule.id, sql, params, severity=self.rule.severity)

    def hits_pending(self) -> list[str]:
        return self.stage.pending(self.rule.id)

    def hits_discard(self) -> None:
        self.stage.discard(self.rule.id)

    def entries(self, kind: str | None = None) -> QuerySet[DirectoryEntry]:
        """Visible entries (of `kind`). The organisation filter lets the (organization, kind,
        number) index serve the lookups by number that most rules make."""
        entries = DirectoryEntry.objects.filter(
            Q(generation_removed__isnull=True) | Q(generation_removed__gt=self.generation),
            organization_id=self.connection.organization_id,
            connection_id=self.connection.pk,
            generation_added__lte=self.generation,
        )
        return entries.filter(kind=kind) if kind else entries

    def relations(self, *kinds: str) -> QuerySet[DirectoryRelation]:
        """References made by visible entries, of the given relation kinds."""
        return DirectoryRelation.objects.filter(
            Q(source__generation_removed__isnull=True)
            | Q(source__generation_removed__gt=self.generation),
            connection_id=self.connection.pk,
            source__generation_added__lte=self.generation,
            kind__in=kinds,
        )

    @property
    def system_status(self) -> dict[str, Any]:
        return self.state.system_status or {}

    @property
    def pbx_settings(self) -> dict[str, Any]:
        return self.state.pbx_settings or {}

    @cached_property
    def licence(self) -> dict[str, Any]:
        """Licence facts: LicenseStatus where it was read, else what SystemStatus says."""
        status = self.system_status
        licence = self.pbx_settings.get("LicenseStatus") or {}
        return {
            name: licence.get(name, status.get(name))
            for name in ("Activated", "LicenseActive", "ExpirationDate", "MaintenanceExpiresAt")
        }


#: Unicode's FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: text between them takes its own
#: direction without reordering what surrounds it.
ISOLATE, ISOLATE_END = "\u2068", "\u2069"
#: Room for a name in a label (Finding.subject_label is 255 characters).
NAME_MAX = 200


def isolated(text: str) -> str:
    """`text` (a name from the PBX) isolated for bidirectional display: "User 103 محمد العلي:
    2FA is not required" would otherwise show the colon and what follows inside the Arabic
    run. It holds in HTML, plain-text mail and CSV alike, which a <bdi> cannot."""
    return f"{ISOLATE}{text}{ISOLATE_END}" if text else ""


def entries_found(kind: str, entries: QuerySet, summary: Callable[[str], str]) -> Iterator[Hit]:
    """One hit per entry of `entries` (all of `kind`), the entry its subject, in number order;
    `summary(label)` says what is wrong with it."""
    rows = entries.values("external_id", "number", "name").order_by("number", "external_id")
    for row in rows:
        label = entry_label(kind, row["number"], row["name"])
        yield Hit(
            subject_kind=kind,
            subject_external_id=row["external_id"],
            subject_key=f"{kind}:{row['external_id']}",
            subject_label=label,
            summary=summary(label),
        )


def entry_label(
    kind: str,
    number: str,
    name: str,
    *,
    company: str = "",
    phones: tuple[str, ...] = (),
    external_id: int | None = None,
) -> str:
    """ "Queue 800 Sales" — how findings name an entry, the name isolated (see `isolated`).

    An entry without a name (contacts often have none) is named as the directory lists it:
    by its company, else its phone number, else its 3CX id ("Contact #123").
    """
    noun = kind_noun(kind)
    shown = next((text.strip() for text in (name, company, *phones) if text and text.strip()), "")
    if not shown and not number and external_id is not None:
        return f"{noun} #{external_id}"
    return " ".join(part for part in (noun, number[:40], isolated(shown[:NAME_MAX])) if part)


def kind_noun(kind: str) -> str:
    """What findings call an entry of `kind` ("Ring group")."""
    return _kind_nouns().get(kind, kind)


@cache
def _kind_nouns() -> dict[str, str]:
    """Entry kinds' names ("Queue"): looked up once, labels are made tens of thousands of
    times a pass on a large PBX."""
    return {value: str(label) for value, label in DirectoryEntry._meta.get_field("kind").choices}


def setting_value(source: dict[str, Any], name: str, *, what: str) -> Any:
    """A value the rule needs from a settings object; RuleSkipped when the server did not
    send it (an older version)."""
    value = source.get(name)
    if value is None:
        raise RuleSkipped(f"{what} did not include {name}.")
    return value


def parse_time(value: Any) -> datetime | None:
    """A 3CX date-time ("2027-01-31T00:00:00Z"); None when empty or not a date."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # 3CX writes UTC; a bare time is taken as UTC
    return parsed
