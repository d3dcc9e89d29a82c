"""Scheduled audit digests: what changed in an organisation's findings (or, for provider staff,
every organisation's) since the last digest, mailed daily or weekly to whoever opted in.

Beat runs `reports.digests_send` hourly. Each due subscription is claimed with a conditional
update of `last_sent_at` before its mail is built, so two runs at once (or a task the broker
delivers twice) send it once. A digest is sent even when there is nothing to report: it then
says "all clear" in one line, because silence cannot be told apart from a digest that broke,
and the reader asked for it.

Each digest costs a fixed number of queries whatever the number of connections, findings or
organisations: counts and the first few findings of each connection come from the database.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone

from dashboard.directory.models import SyncRun
from dashboard.reports.models import AuditState, DigestSubscription, Finding, Severity
from dashboard.reports.rules import rule_get
from dashboard.reports.selectors import ACTIVE_STATES, SEVERITY_ORDER
from dashboard.tenants.activity import activity_record
from dashboard.tenants.models import Membership, Organization
from dashboard.validators import control_characters_replace
from integrations.threecx.models import ThreeCXConnection

logger = logging.getLogger(__name__)

Frequency = DigestSubscription.Frequency

PERIODS = {Frequency.DAILY: timedelta(days=1), Frequency.WEEKLY: timedelta(days=7)}
#: Beat runs hourly, give or take a little: a digest falls due an hour before its period is
#: up, so that a daily digest goes out at the same hour every day instead of an hour later.
DUE_EARLY = timedelta(hours=1)
#: Severities whose still-open findings every digest lists.
SERIOUS = (Severity.CRITICAL, Severity.HIGH)
#: Licences expiring within this are listed (and those already expired).
LICENCE_WARNING = timedelta(days=30)
#: Findings listed per connection and section; the counts cover them all.
TOP_ITEMS = 5
TOP_ITEMS_PROVIDER = 3
#: The provider digest details this many organisations, worst first, and counts the rest.
PROVIDER_DETAILED = 25


# --- what a digest says ------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """One finding as a digest lists it."""

    severity: str
    rule_title: str
    summary: str
    url: str

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label


@dataclass
class ConnectionDigest:
    connection: ThreeCXConnection
    report_url: str
    new_counts: dict[str, int] = field(default_factory=dict)
    new: list[DigestItem] = field(default_factory=list)
    resolved_count: int = 0
    resolved: list[DigestItem] = field(default_factory=list)
    #: Every unresolved critical and high finding, new ones included.
    open_counts: dict[str, int] = field(default_factory=dict)
    #: Those open since before the period (the new ones are listed as new), oldest first.
    open_before: int = 0
    open: list[DigestItem] = field(default_factory=list)
    licence_expires_at: datetime | None = None
    #: Days from the digest's end to the expiry; negative once expired.
    licence_days: int | None = None
    failed_syncs: int = 0
    last_failure_at: datetime | None = None
    last_failure_title: str = ""

    @property
    def new_total(self) -> int:
        return sum(self.new_counts.values())

    @property
    def open_total(self) -> int:
        return sum(self.open_counts.values())

    @property
    def name(self) -> str:
        return self.connection.name

    @property
    def new_critical(self) -> int:
        return self.new_counts.get(Severity.CRITICAL, 0)

    @property
    def open_critical(self) -> int:
        return self.open_counts.get(Severity.CRITICAL, 0)

    @property
    def open_high(self) -> int:
        return self.open_counts.get(Severity.HIGH, 0)

    @property
    def new_more(self) -> int:
        return self.new_total - len(self.new)

    @property
    def resolved_more(self) -> int:
        return self.resolved_count - len(self.resolved)

    @property
    def open_more(self) -> int:
        return self.open_before - len(self.open)

    @property
    def new_by_severity(self) -> list[tuple[str, int]]:
        return [(Severity(s).label, n) for s, n in self.new_counts.items()]

    @property
    def open_by_severity(self) -> list[tuple[str, int]]:
        return [(Severity(s).label, n) for s, n in self.open_counts.items()]

    @property
    def has_news(self) -> bool:
        return bool(
            self.new_total
            or self.resolved_count
            or self.open_total
            or self.licence_expires_at
            or self.failed_syncs
        )


@dataclass
class OrganizationDigest:
    organization: Organization
    report_url: str
    connections: list[ConnectionDigest]

    @property
    def name(self) -> str:
        return self.organization.name

    @property
    def has_news(self) -> bool:
        return any(c.has_news for c in self.connections)

    def new_count(self, severity: str | None = None) -> int:
        if severity is None:
            return sum(c.new_total for c in self.connections)
        return sum(c.new_counts.get(severity, 0) for c in self.connections)

    def open_count(self, severity: str) -> int:
        return sum(c.open_counts.get(severity, 0) for c in self.connections)

    @property
    def resolved_count(self) -> int:
        return sum(c.resolved_count for c in self.connections)

    @property
    def failed_syncs(self) -> int:
        return sum(c.failed_syncs for c in self.connections)

    @property
    def licence_expires_at(self) -> datetime | None:
        return min(
            (c.licence_expires_at for c in self.connections if c.licence_expires_at), default=None
        )

    @property
    def open_critical(self) -> int:
        return self.open_count(Severity.CRITICAL)

    @property
    def open_high(self) -> int:
        return self.open_count(Severity.HIGH)

    @property
    def new_critical(self) -> int:
        return self.new_count(Severity.CRITICAL)


@dataclass
class Digest:
    """Everything one digest mail says, for its templates."""

    frequency: str
    since: datetime
    until: datetime
    #: The organisations detailed, worst first.
    organizations: list[OrganizationDigest]
    #: Provider digest: the roll-up's address; organisation digest: the report's.
    overview_url: str
    settings_url: str
    provider: bool = False
    #: Provider digest: organisations with something to report beyond those detailed, and
    #: organisations with nothing to report.
    more_count: int = 0
    quiet_count: int = 0

    @property
    def has_news(self) -> bool:
        return bool(self.more_count) or any(o.has_news for o in self.organizations)

    @property
    def period_label(self) -> str:
        day = dateformat.format(timezone.localtime(self.until), "j M")
        return f"week to {day}" if self.frequency == Frequency.WEEKLY else f"day to {day}"

    @property
    def subject(self) -> str:
        scope = "All organisations" if self.provider else self.organizations[0].organization.name
        return control_characters_replace(
            f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{scope}: {self._headline()} "
            f"({self.period_label})"
        )

    def _headline(self) -> str:
        organizations = self.organizations
        new = {s: sum(o.new_count(s) for o in organizations) for s in Severity}
        resolved = sum(o.resolved_count for o in organizations)
        failed = sum(o.failed_syncs for o in organizations)
        parts = []
        worst_new = next((s for s in Severity if new[s]), None)
        if worst_new is not None:
            parts.append(_plural(new[worst_new], f"new {worst_new.label.lower()} finding"))
        if resolved:
            parts.append(f"{resolved} resolved")
        if failed:
            parts.append(_plural(failed, "failed sync"))
        if parts:
            return ", ".join(parts)
        still_open = {s: sum(o.open_count(s) for o in organizations) for s in SERIOUS}
        worst_open = next((s for s in SERIOUS if still_open[s]), None)
        if worst_open is not None:
            noun = f"{worst_open.label.lower()} finding"
            return f"{_plural(still_open[worst_open], noun)} still open"
        if any(o.licence_expires_at for o in organizations):
            return "a licence expires soon"
        return "nothing new"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- building ----------------------------------------------------------------------------


def digest_build(
    *,
    organizations: QuerySet[Organization],
    since: datetime,
    until: datetime,
    frequency: str,
    provider: bool = False,
) -> Digest:
    """What happened in `organizations` from `since` to `until`, per connection."""
    top = TOP_ITEMS_PROVIDER if provider else TOP_ITEMS
    connections = list(
        ThreeCXConnection.objects.filter(organization__in=organizations)
        .select_related("organization")
        .order_by("organization__name", "name")
    )
    by_connection = {
        c.pk: ConnectionDigest(
            connection=c,
            report_url=_absolute(reverse("reports:connection", args=[c.organization_id, c.pk])),
        )
        for c in connections
    }
    findings = Finding.objects.filter(organization__in=organizations)
    _counts_add(by_connection, findings, since=since, until=until)
    _items_add(by_connection, findings, since=since, until=until, top=top)
    _licences_add(by_connection, organizations, until=until)
    _failures_add(by_connection, organizations, since=since, until=until)

    grouped: dict[object, list[ConnectionDigest]] = defaultdict(list)
    for digest in sorted(by_connection.values(), key=_worst_first):
        grouped[digest.connection.organization_id].append(digest)
    # The provider digest leaves out organisations without connections: nothing to report.
    listed = (
        [digests[0].connection.organization for digests in grouped.values()]
        if provider
        else list(organizations)
    )
    detailed = sorted(
        (
            OrganizationDigest(
                organization=o,
                report_url=_absolute(reverse("reports:organization", args=[o.pk])),
                connections=grouped.get(o.pk, []),
            )
            for o in listed
        ),
        key=_worst_first,
    )
    if not provider:
        return Digest(
            frequency=frequency,
            since=since,
            until=until,
            organizations=detailed,
            overview_url=detailed[0].report_url,
            settings_url=_absolute(
                reverse("reports:digest_settings", args=[detailed[0].organization.pk])
            ),
        )
    with_news = [o for o in detailed if o.has_news]
    return Digest(
        frequency=frequency,
        since=since,
        until=until,
        organizations=with_news[:PROVIDER_DETAILED],
        overview_url=_absolute(reverse("reports:rollup")),
        settings_url=_absolute(reverse("reports:provider_digest_settings")),
        provider=True,
        more_count=max(len(with_news) - PROVIDER_DETAILED, 0),
        quiet_count=organizations.count() - len(with_news),
    )


def _worst_first(digest: ConnectionDigest | OrganizationDigest) -> tuple:
    """Open critical findings first, then new critical ones, open high ones, failed syncs,
    the soonest licence expiry; then by name."""
    expires = digest.licence_expires_at
    return (
        -digest.open_critical,
        -digest.new_critical,
        -digest.open_high,
        -digest.failed_syncs,
        expires is None,
        expires.timestamp() if expires is not None else 0,
        digest.name.lower(),
    )


def _counts_add(
    by_connection: dict, findings: QuerySet[Finding], *, since: datetime, until: datetime
) -> None:
    new = Q(state__in=ACTIVE_STATES, first_seen__gte=since, first_seen__lt=until)
    resolved = Q(resolved_at__gte=since, resolved_at__lt=until)
    still_open = Q(state__in=ACTIVE_STATES, severity__in=SERIOUS)
    rows = (
        findings.filter(new | resolved | still_open)
        .order_by()
        .values("connection_id")
        .annotate(
            **{f"new_{s.value}": Count("pk", filter=new & Q(severity=s)) for s in Severity},
            **{f"open_{s.value}": Count("pk", filter=still_open & Q(severity=s)) for s in SERIOUS},
            resolved=Count("pk", filter=resolved),
            open_before=Count("pk", filter=still_open & Q(first_seen__lt=since)),
        )
    )
    for row in rows:
        digest = by_connection.get(row["connection_id"])
        if digest is None:
            continue
        digest.new_counts = {s: row[f"new_{s.value}"] for s in Severity if row[f"new_{s.value}"]}
        digest.open_counts = {s: row[f"open_{s.value}"] for s in SERIOUS if row[f"open_{s.value}"]}
        digest.resolved_count = row["resolved"]
        digest.open_before = row["open_before"]


def _items_add(
    by_connection: dict, findings: QuerySet[Finding], *, since: datetime, until: datetime, top: int
) -> None:
    """The first `top` findings of each connection in each section, worst first (one query
    per section, numbered per connection by the database)."""
    sections = {
        "new": (
            Q(state__in=ACTIVE_STATES, first_seen__gte=since, first_seen__lt=until),
            F("first_seen").desc(),
        ),
        "resolved": (Q(resolved_at__gte=since, resolved_at__lt=until), F("resolved_at").desc()),
        # Oldest first: what has been waiting longest.
        "open": (
            Q(state__in=ACTIVE_STATES, severity__in=SERIOUS, first_seen__lt=since),
            F("first_seen").asc(),
        ),
    }
    for section, (condition, newest) in sections.items():
        rows = (
            findings.filter(condition)
            .annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F("connection_id")],
                    order_by=[SEVERITY_ORDER.asc(), newest, F("id").asc()],
                )
            )
            .filter(position__lte=top)
            .only("id", "organization_id", "connection_id", "rule", "severity", "summary")
            .order_by("connection_id", "position")
        )
        for finding in rows:
            digest = by_connection.get(finding.connection_id)
            if digest is not None:
                getattr(digest, section).append(_item(finding))


def _item(finding: Finding) -> DigestItem:
    rule = rule_get(finding.rule)
    return DigestItem(
        severity=finding.severity,
        rule_title=rule.title if rule is not None else finding.rule,
        summary=finding.summary,
        url=_absolute(reverse("reports:finding", args=[finding.organization_id, finding.pk])),
    )


def _licences_add(
    by_connection: dict, organizations: QuerySet[Organization], *, until: datetime
) -> None:
    states = AuditState.objects.filter(
        organization__in=organizations, licence_expires_at__lte=until + LICENCE_WARNING
    ).values_list("connection_id", "licence_expires_at")
    for connection_id, expires_at in states:
        digest = by_connection.get(connection_id)
        if digest is not None:
            digest.licence_expires_at = expires_at
            digest.licence_days = (expires_at - until).days


def _failures_add(
    by_connection: dict,
    organizations: QuerySet[Organization],
    *,
    since: datetime,
    until: datetime,
) -> None:
    """Failed syncs in the period: how many, and the latest one's time and error title."""
    per_connection = {"partition_by": [F("connection_id")]}
    runs = (
        SyncRun.objects.filter(
            organization__in=organizations,
            status=SyncRun.Status.FAILED,
            finished_at__gte=since,
            finished_at__lt=until,
        )
        .annotate(
            position=Window(
                RowNumber(), order_by=[F("finished_at").desc(), F("id")], **per_connection
            ),
            failures=Window(Count("id"), **per_connection),
        )
        .filter(position=1)
        .values("connection_id", "failures", "finished_at", "error_title")
    )
    for run in runs:
        digest = by_connection.get(run["connection_id"])
        if digest is not None:
            digest.failed_syncs = run["failures"]
            digest.last_failure_at = run["finished_at"]
            digest.last_failure_title = run["error_title"]


def _absolute(path: str) -> str:
    """A link for an email, which is read outside any request: on the site's own address."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


# --- the mail ----------------------------------------------------------------------------


def digest_message(*, digest: Digest, to: str) -> EmailMultiAlternatives:
    context = {"digest": digest}
    message = EmailMultiAlternatives(
        subject=digest.subject,
        body=render_to_string("reports/email/digest.txt", context),
        to=[to],
        # Out-of-office replies and the like are not sent back to an automatic mail.
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("reports/email/digest.html", context), "text/html")
    return message


# --- subscriptions -----------------------------------------------------------------------


def digest_subscription_get(
    *, user: object, organization: Organization | None
) -> DigestSubscription | None:
    """The user's digest of `organization`, or their provider digest (None)."""
    return DigestSubscription.objects.filter(user=user, organization=organization).first()


@transaction.atomic
def digest_subscription_set(
    *,
    user: object,
    organization: Organization | None,
    frequency: str | None,
    request: HttpRequest | None = None,
) -> DigestSubscription | None:
    """Subscribe `user` to the digest of `organization` (None: the provider digest) at
    `frequency`, or unsubscribe them (None). A subscription changed to another frequency
    keeps its last sending time, so that nobody gets two digests in one day by switching.

    Changes to an organisation's digest go to its activity log: admins can see who has its
    findings mailed to them."""
    current = digest_subscription_get(user=user, organization=organization)
    previous = current.frequency if current is not None else None
    if previous == frequency:
        return current
    if frequency is None:
        current.delete()
        current = None
    elif current is None:
        current = DigestSubscription.objects.create(
            user=user, organization=organization, frequency=frequency
        )
    else:
        current.frequency = frequency
        current.save(update_fields=["frequency"])
    if organization is not None:
        activity_record(
            organization=organization,
            actor=user,
            action="reports.digest_changed",
            target_label=str(user),
            details={"frequency": [previous or "off", frequency or "off"]},
            request=request,
        )
    return current


def digest_subscriptions_due(*, now: datetime) -> QuerySet[DigestSubscription]:
    """Subscriptions whose digest is due and whose user may still read it: active, still a
    member (or still provider staff), and with MFA set up wherever the site demands it, as a
    digest must not carry tenant data past the sign-in's checks."""
    due = Q(last_sent_at__isnull=True)
    for frequency, period in PERIODS.items():
        due |= Q(frequency=frequency, last_sent_at__lte=now - (period - DUE_EARLY))
    member = Exists(
        Membership.objects.filter(user=OuterRef("user"), organization=OuterRef("organization"))
    )
    strict_member = Exists(
        Membership.objects.filter(user=OuterRef("user"), organization__require_mfa=True)
    )
    has_mfa = Exists(
        Authenticator.objects.filter(user=OuterRef("user")).exclude(
            type=Authenticator.Type.RECOVERY_CODES
        )
    )
    needs_mfa = (
        Q(user__is_provider_staff=True)
        | Q(user__is_staff=True)
        | Q(user__is_superuser=True)
        | strict_member
    )
    return (
        DigestSubscription.objects.filter(due, user__is_active=True)
        .filter(
            Q(member, organization__isnull=False)
            | Q(organization__isnull=True, user__is_provider_staff=True)
        )
        .filter(~needs_mfa | has_mfa)
        .select_related("user", "organization")
        .order_by("pk")
    )


def digest_subscriptions_forget() -> int:
    """Delete the subscriptions of people who lost access: removed members, former provider
    staff. Someone invited back opts in again rather than finding the digest back on."""
    member = Exists(
        Membership.objects.filter(user=OuterRef("user"), organization=OuterRef("organization"))
    )
    deleted, _ = DigestSubscription.objects.filter(
        Q(organization__isnull=False) & ~member
        | Q(organization__isnull=True, user__is_provider_staff=False)
    ).delete()
    return deleted


def digests_send(*, now: datetime | None = None) -> int:
    """Send every digest that is due; returns how many were sent."""
    now = now or timezone.now()
    digest_subscriptions_forget()
    due = list(digest_subscriptions_due(now=now))
    if not due:
        return 0
    sent = 0
    # One connection for the whole run: one SMTP session, not one per digest.
    with get_connection() as mail:
        for subscription in due:
            sent += digest_send(subscription=subscription, now=now, mail=mail)
    return sent


def digest_send(
    *, subscription: DigestSubscription, now: datetime, mail: BaseEmailBackend | None = None
) -> bool:
    """Claim `subscription` for this period and send its digest; False if another run had
    claimed it already. A digest that fails is unclaimed again, so the next run retries it."""
    previous = subscription.last_sent_at
    claimed = DigestSubscription.objects.filter(
        pk=subscription.pk,
        **({"last_sent_at": previous} if previous else {"last_sent_at__isnull": True}),
    ).update(last_sent_at=now)
    if not claimed:
        return False
    period = PERIODS[Frequency(subscription.frequency)]
    # Since the last digest, so that a late run loses nothing; but a digest that did not go
    # for long (the user was away from the organisation, MFA lapsed) covers one period, not
    # months under a "day to ..." subject.
    since = previous if previous is not None and previous > now - 2 * period else now - period
    try:
        digest = _digest_of(subscription, since=since, until=now)
        message = digest_message(digest=digest, to=subscription.user.email)
        message.connection = mail
        message.send()
    except Exception:
        # One organisation's digest failing (SMTP refusing one address, a bug meeting odd
        # data) must not stop everybody else's: log it with its traceback and go on.
        logger.exception("Digest %s for %s failed", subscription.pk, subscription.user_id)
        DigestSubscription.objects.filter(pk=subscription.pk, last_sent_at=now).update(
            last_sent_at=previous
        )
        return False
    subscription.last_sent_at = now
    return True


def _digest_of(subscription: DigestSubscription, *, since: datetime, until: datetime) -> Digest:
    if subscription.organization_id is None:
        organizations = Organization.objects.all()
    else:
        organizations = Organization.objects.filter(pk=subscription.organization_id)
    return digest_build(
        organizations=organizations,
        since=since,
        until=until,
        frequency=subscription.frequency,
        provider=subscription.organization_id is None,
    )
