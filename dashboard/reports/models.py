"""Audit findings with their history, the runs that produce them, and digest subscriptions.

A finding is one rule found true of one subject (an entry, a setting) of one connection. An
audit run opens findings that are new, refreshes `last_seen` of those still true and
resolves the ones no longer true; a condition that comes back after it was resolved opens a
new finding, so "new this week" and "resolved this week" are plain date filters.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from dashboard.jobs.models import Job


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


#: Worst first: what tables and digests sort by.
SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class AuditRun(Job):
    """One pass of every rule over a connection's visible directory."""

    class Trigger(models.TextChoices):
        SYNC = "sync", "After a sync"
        MANUAL = "manual", "Re-run audit"

    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="audit_runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SYNC)
    #: The directory generation the rules read.
    generation = models.PositiveIntegerField(null=True, blank=True)
    opened = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    #: Ids of the rules that ran.
    rules_run = models.JSONField(default=list, blank=True)
    #: Rules that could not run, and why: [{"rule": "routing.nowhere", "reason": "..."}].
    rules_skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_audit_per_connection",
            )
        ]
        indexes = [models.Index(fields=["connection", "-created_at"])]

    def __str__(self) -> str:
        return f"Audit {self.pk} of {self.connection_id} ({self.status})"


class Finding(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        SUPPRESSED = "suppressed", "Suppressed"
        RESOLVED = "resolved", "Resolved"

    #: States of a finding whose condition is still true.
    UNRESOLVED: ClassVar[tuple[str, ...]] = (State.OPEN, State.ACKNOWLEDGED, State.SUPPRESSED)

    id = models.BigAutoField(primary_key=True)
    # No index of their own: the composite indexes below start with them. A connection's
    # first audit opens tens of thousands of findings, and every index is written for each.
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection",
        on_delete=models.CASCADE,
        related_name="findings",
        db_index=False,
    )
    #: The rule's id in the catalogue (dashboard.reports.rules), e.g. "routing.nowhere".
    rule = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    #: What the finding is about: a directory entry (its kind and 3CX id), or a setting
    #: (subject_kind "setting", no external id).
    subject_kind = models.CharField(max_length=32)
    subject_external_id = models.BigIntegerField(null=True, blank=True)
    #: Identifies the subject within (connection, rule) across runs, e.g. "user:12:mobile".
    subject_key = models.CharField(max_length=255)
    subject_label = models.CharField(max_length=255, blank=True)
    #: One line saying what is wrong, e.g. "Queue 800 agent 123: no such extension".
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    #: Acknowledged or suppressed: by whom, why, and until when (None: until resolved).
    #: Indexed where set only (see Meta): new findings have no one.
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_reason = models.CharField(max_length=500, blank=True)
    acknowledged_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen", "id"]
        constraints = [
            # A condition has at most one unresolved finding; one that comes back after it was
            # resolved is a new finding (the resolved one stays as history).
            models.UniqueConstraint(
                fields=["connection", "rule", "subject_key"],
                condition=Q(resolved_at__isnull=True),
                name="one_unresolved_finding_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "state", "severity"]),
            models.Index(fields=["connection", "state", "rule"]),
            models.Index(fields=["connection", "subject_kind", "subject_external_id"]),
            # Deleting a user sets its acknowledgements' acknowledged_by to NULL.
            models.Index(
                fields=["acknowledged_by"],
                condition=Q(acknowledged_by__isnull=False),
                name="finding_acknowledged_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.summary}"


class AuditState(models.Model):
    """Per connection: what its last audit found, kept so that reports across hundreds of
    organisations read one row per connection instead of counting findings."""

    connection = models.OneToOneField(
        "threecx.ThreeCXConnection",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="audit_state",
    )
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+"
    )
    last_run = models.ForeignKey(
        AuditRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_audit_at = models.DateTimeField(null=True, blank=True)
    #: Open and acknowledged findings per severity (suppressed ones are counted apart).
    critical = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0)
    medium = models.PositiveIntegerField(default=0)
    low = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    #: The rule with the most severe, then most numerous, unresolved findings.
    worst_rule = models.CharField(max_length=64, blank=True)
    oldest_critical_at = models.DateTimeField(null=True, blank=True)
    #: Copied from the directory at the audit, so that the provider roll-up sorts on them.
    licence_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)
    rules_skipped = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization"])]

    def __str__(self) -> str:
        return f"Audit state of {self.connection_id}"


class FindingSnapshot(models.Model):
    """Unresolved findings per severity of a connection on a day (the last audit of the day
    wins): the trend charts."""

    id = models.BigAutoField(primary_key=True)
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    critical = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0)
    medium = models.PositiveIntegerField(default=0)
    low = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "day"], name="one_snapshot_per_day")
        ]
        indexes = [models.Index(fields=["organization", "day"])]

    def __str__(self) -> str:
        return f"Findings of {self.connection_id} on {self.day}"


class PhoneNumberVerdict(models.Model):
    """What `phonenumbers` made of one number text with one default region, kept so that an
    audit parses only numbers it has not seen before (parsing costs ~40 µs a number)."""

    id = models.BigAutoField(primary_key=True)
    region = models.CharField(max_length=2)
    raw = models.CharField(max_length=64)
    valid = models.BooleanField()
    #: E.164 when it parsed, else empty.
    e164 = models.CharField(max_length=20, blank=True)
    #: ISO 3166 region of the number ("GB"), empty when unknown.
    country = models.CharField(max_length=2, blank=True)
    #: Why it is not valid ("does not parse", "too short"...), empty when valid.
    problem = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "raw"], name="one_verdict_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.raw} ({self.region}): {'valid' if self.valid else self.problem}"


class DigestSubscription(models.Model):
    """A member's (or, without organisation, provider staff's across all) audit digest."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions"
    )
    #: None: the provider digest across every organisation (provider staff only).
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="one_digest_per_user_and_organization"
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(organization__isnull=True),
                name="one_provider_digest_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} digest of {self.user_id} for {self.organization_id or 'all'}"
