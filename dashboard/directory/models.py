"""The synced 3CX directory, sync runs and change history.

Snapshots without copying: every row carries the generation that added it and, once replaced
or deleted, the generation that removed it. A run writes generation G+1 beside the live data
(new and changed entries as new rows, old versions marked removed) and a successful run bumps
the connection's generation to G+1 in the same transaction that deletes the superseded rows.
Until then readers, who ask for generation G, see the previous directory untouched; a failed,
cancelled or killed run's rows are simply deleted. Unchanged entries are never rewritten.
"""

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet

from dashboard.jobs.models import Job


class EntryKind(models.TextChoices):
    USER = "user", "User"
    GROUP = "group", "Department"
    CONTACT = "contact", "Contact"
    QUEUE = "queue", "Queue"
    RING_GROUP = "ring_group", "Ring group"
    IVR = "ivr", "IVR"
    TRUNK = "trunk", "Trunk"
    PARKING = "parking", "Parking"
    INBOUND_RULE = "inbound_rule", "Inbound rule"
    OUTBOUND_RULE = "outbound_rule", "Outbound rule"
    DID = "did", "DID number"
    SIP_DEVICE = "sip_device", "SIP device"


class SyncInterval(models.TextChoices):
    OFF = "off", "Off"
    HOURLY = "1h", "Every hour"
    EVERY_6_HOURS = "6h", "Every 6 hours"
    DAILY = "24h", "Every day"


class DirectoryState(models.Model):
    """Per connection: the visible generation and the sync schedule."""

    connection = models.OneToOneField(
        "threecx.ThreeCXConnection",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="directory_state",
    )
    generation = models.PositiveIntegerField(default=0)
    sync_interval = models.CharField(
        max_length=8, choices=SyncInterval.choices, default=SyncInterval.DAILY
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(
        "SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Counts per kind of the visible directory, for dashboards: {"user": 250, ...}.
    counts = models.JSONField(default=dict, blank=True)
    #: The system status object at the last successful run (the licence key masked).
    system_status = models.JSONField(default=dict, blank=True)
    #: Single objects read with the directory, by entity set or function, at the last
    #: successful run: {"LicenseStatus": {...}, "AntiHackingSettings": {...},
    #: "BackupSettings": {...}, "Backups": {"count": 3, "newest": "2026-12-01T02:00:00Z"}}.
    #: Licence keys masked; a read that failed keeps the last value known.
    pbx_settings = models.JSONField(default=dict, blank=True)
    #: What this server's version does not offer, at the last successful run:
    #: {"inbound_rule": "InboundRules is not available on this version of 3CX.", ...}
    #: keyed by entry kind or pbx_settings key. Audit rules reading them are skipped.
    unavailable = models.JSONField(default=dict, blank=True)
    #: A run that would remove more than this share of a kind's visible entries, and more
    #: than `removal_review_count` of them, waits for an admin's review instead of switching.
    removal_review_percent = models.PositiveSmallIntegerField(
        default=10, help_text="Percent of a kind's entries."
    )
    removal_review_count = models.PositiveIntegerField(default=50, help_text="Entries.")

    def __str__(self) -> str:
        return f"Directory of {self.connection_id} at generation {self.generation}"


class VisibleEntryQuerySet(models.QuerySet):
    def visible(self) -> "VisibleEntryQuerySet":
        """Rows of each connection's current generation (what users see)."""
        generation = models.F("connection__directory_state__generation")
        return self.filter(
            Q(generation_removed__isnull=True) | Q(generation_removed__gt=generation),
            generation_added__lte=generation,
        )


class DirectoryEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+"
    )
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="directory_entries"
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    external_id = models.BigIntegerField(help_text="The entry's Id on the 3CX server.")
    generation_added = models.PositiveIntegerField()
    generation_removed = models.PositiveIntegerField(null=True, blank=True)

    # Typed columns for what the product filters, sorts and audits on.
    number = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=255, blank=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    mobile = models.CharField(max_length=64, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=255, blank=True)
    entry_type = models.CharField(
        max_length=64, blank=True, help_text="Contact type, IVR type, trunk direction..."
    )
    enabled = models.BooleanField(null=True)
    require_2fa = models.BooleanField(null=True)
    is_admin = models.BooleanField(null=True)
    is_registered = models.BooleanField(null=True)
    is_online = models.BooleanField(null=True)

    #: The whole item as the server sent it, minus secret fields.
    data = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=40)

    objects = VisibleEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "directory entries"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "external_id", "generation_added"],
                name="one_version_per_generation",
            )
        ]
        indexes = [
            models.Index(fields=["connection", "kind", "external_id"]),
            models.Index(fields=["organization", "kind", "number"]),
            models.Index(fields=["organization", "kind", "name"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} {self.name}".strip()


class DirectoryRelation(models.Model):
    """A reference from one entry to another: queue agents, ring group members, IVR targets,
    department memberships. Targets are kept as numbers, so references to extensions that do
    not exist are kept too (audits ask for exactly those)."""

    class Kind(models.TextChoices):
        DEPARTMENT_MEMBER = "department_member", "Member of department"
        QUEUE_AGENT = "queue_agent", "Queue agent"
        RING_GROUP_MEMBER = "ring_group_member", "Ring group member"
        IVR_FORWARD = "ivr_forward", "IVR forwards to"
        INBOUND_DESTINATION = "inbound_destination", "Inbound rule routes to"
        FORWARDING = "forwarding", "Forwarding profile routes to"
        OUTBOUND_ROUTE = "outbound_route", "Outbound rule uses trunk"
        DID_TRUNK = "did_trunk", "DID number on trunk"
        DEVICE_OF = "device_of", "SIP device of"

    id = models.BigAutoField(primary_key=True)
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="+"
    )
    # DO_NOTHING: the sync deletes relations itself, in one statement, before their entries;
    # a cascade would make Django load every superseded entry to delete it.
    source = models.ForeignKey(
        DirectoryEntry, on_delete=models.DO_NOTHING, related_name="relations"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    target_number = models.CharField(max_length=40, blank=True)
    target_external_id = models.BigIntegerField(null=True, blank=True)
    #: What the target is, in 3CX's words: a DestinationType ("Extension", "External",
    #: "VoiceMail"...) or an IVR ForwardType; empty when the source does not say.
    target_type = models.CharField(max_length=32, blank=True)
    label = models.CharField(max_length=255, blank=True, help_text="e.g. the IVR key pressed")

    class Meta:
        indexes = [models.Index(fields=["connection", "target_number"])]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.target_number}"


class SyncRun(Job):
    """One sync of a connection's directory: a Job whose work (dashboard.directory.sync)
    writes a new generation beside the visible one and switches to it, or discards it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        #: Finished, but it would remove too many entries: waits for an admin to apply it.
        NEEDS_REVIEW = "needs_review", "Needs review"
        #: Held for review, then discarded by an admin or superseded by a newer sync.
        DISCARDED = "discarded", "Discarded"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"
        RETRY = "retry", "Retry"

    ACTIVE: ClassVar[tuple[str, ...]] = (Status.QUEUED, Status.RUNNING)
    FINISHED: ClassVar[tuple[str, ...]] = (
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CANCELLED,
        Status.NEEDS_REVIEW,
        Status.DISCARDED,
    )
    #: A run's changes are the connection's change history: kept, however old.
    purge_after_retention: ClassVar[bool] = False

    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    generation = models.PositiveIntegerField(
        null=True, blank=True, help_text="The generation this run writes."
    )
    cancel_requested = models.BooleanField(default=False)
    #: Set by "Sync now, and apply removals": however much it removes, it is not held.
    confirm_removals = models.BooleanField(default=False)
    #: When a retry run is due (it waits in the broker until then).
    scheduled_for = models.DateTimeField(null=True, blank=True)
    #: {"user": {"fetched": 120, "total": 250, "done": false}, ...} in sync order.
    progress = models.JSONField(default=dict, blank=True)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    #: Whether retrying could help (a transient failure), for the automatic retry runs.
    error_permanent = models.BooleanField(default=False)
    attempt = models.PositiveSmallIntegerField(default=1)
    log = models.JSONField(default=list, blank=True)
    #: Non-directory reads that failed without failing the run (the directory still
    #: switched): [{"step": "SystemStatus", "error": "Server error: ..."}].
    warnings = models.JSONField(default=list, blank=True)
    #: What the server said at this run, applied with its generation (also after a review).
    server_version = models.CharField(max_length=64, blank=True)
    system_status = models.JSONField(default=dict, blank=True)
    pbx_settings = models.JSONField(default=dict, blank=True)
    unavailable = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one queued or running sync per connection, enforced by the database.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_sync_per_connection",
            )
        ]
        indexes = [models.Index(fields=["connection", "-created_at"])]

    def __str__(self) -> str:
        return f"Sync {self.pk} of {self.connection_id} ({self.status})"

    @classmethod
    def stale_after(cls) -> timedelta:
        return timedelta(seconds=settings.DIRECTORY_SYNC_STALE_AFTER)

    @classmethod
    def expire_stale(cls, jobs: QuerySet) -> int:
        """A stale run's half-written generation is discarded with it, by the sync engine.
        Only running runs go stale: a queued one (a retry due later) waits in the broker."""
        # Imported here: the sync engine imports these models.
        from dashboard.directory.sync import sync_runs_mark_stale

        return sync_runs_mark_stale(runs=jobs)

    @property
    def needs_review(self) -> bool:
        return self.status == self.Status.NEEDS_REVIEW


class SyncChange(models.Model):
    """One entry added, changed or removed by a run, with field-level before/after."""

    class Action(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        REMOVED = "removed", "Removed"

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="changes")
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    external_id = models.BigIntegerField()
    label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    #: {"FirstName": ["Ann", "Anne"], ...} for changes; empty for additions and removals.
    fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["kind", "label", "id"]
        indexes = [
            models.Index(fields=["run", "kind"]),
            models.Index(fields=["connection", "kind", "external_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.label}"
