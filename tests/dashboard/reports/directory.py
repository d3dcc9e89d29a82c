"""Building a synced connection for audit tests, row by row, without a 3CX server.

`SyncedDirectory` starts healthy: every settings value as 3CX recommends and an emergency
outbound rule, so that no rule fires until a test adds what makes one fire.
"""

from datetime import timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    DirectoryState,
    EntryKind,
)
from dashboard.reports.engine import AuditOutcome, connection_audit
from dashboard.reports.models import Finding
from integrations.threecx.models import ThreeCXConnection
from tests.factories import OrganizationFactory

Kind = DirectoryRelation.Kind
VERSION = "20.0.10.999"
_ids = count(1000)


def healthy_status() -> dict[str, Any]:
    later = (timezone.now() + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Version": VERSION,
        "Activated": True,
        "LicenseActive": True,
        "ExpirationDate": later,
        "MaintenanceExpiresAt": later,
        "AutoUpdateEnabled": True,
        "IsAuditLogEnabled": True,
        "BackupScheduled": True,
        "ExtensionsTotal": 10,
        "ExtensionsRegistered": 10,
        "LicenseKey": "****0001",
    }


def healthy_settings() -> dict[str, Any]:
    yesterday = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "LicenseStatus": {key: healthy_status()[key] for key in ("Activated", "LicenseActive")},
        "AntiHackingSettings": {
            "SecurityDefenseProgram": True,
            "HackAuthRequests": 25,
            "HackChallengeRequests": 1000,
            "HackBlacklistDuration": 86400,
            "HackBarrierGreen": 1000,
            "MaxRequestPerPeriod": 1000,
        },
        "BackupSettings": {"ScheduleEnabled": True, "Rotation": 5},
        "Backups": {"count": 3, "newest": yesterday},
    }


class SyncedDirectory:
    def __init__(self, organization, *, name: str = "Main PBX", region: str = "GB") -> None:
        connection = ThreeCXConnection(
            organization=organization,
            name=name,
            base_url="https://pbx.example.com",
            client_id="900",
            phone_region=region,
            version=VERSION,
        )
        connection.client_secret_set("not-a-real-secret")
        connection.save()
        self.connection = connection
        self.state = DirectoryState.objects.create(
            connection=connection,
            generation=1,
            last_success_at=timezone.now(),
            system_status=healthy_status(),
            pbx_settings=healthy_settings(),
        )
        self.entry(
            EntryKind.OUTBOUND_RULE, name="Emergency", number="999", data={"EmergencyRule": True}
        )

    def entry(self, kind: str, *, generation: int = 1, **columns: Any) -> DirectoryEntry:
        external_id = columns.pop("external_id", None) or next(_ids)
        return DirectoryEntry.objects.create(
            organization_id=self.connection.organization_id,
            connection=self.connection,
            kind=kind,
            external_id=external_id,
            generation_added=generation,
            content_hash="0",
            data=columns.pop("data", {"Id": external_id}),
            **columns,
        )

    def user(self, number: str, name: str = "", **columns: Any) -> DirectoryEntry:
        defaults = {
            "email": f"{number}@example.com",
            "enabled": True,
            "require_2fa": True,
            "is_admin": False,
        }
        return self.entry(
            EntryKind.USER, number=number, name=name or f"User {number}", **defaults | columns
        )

    def relate(self, source: DirectoryEntry, kind: str, target_number: str = "", **fields) -> None:
        DirectoryRelation.objects.create(
            connection=self.connection,
            source=source,
            kind=kind,
            target_number=target_number,
            **fields,
        )

    def queue(self, number: str, *agents: str, kind: str = EntryKind.QUEUE) -> DirectoryEntry:
        queue = self.entry(kind, number=number, name=f"Group {number}")
        relation = Kind.QUEUE_AGENT if kind == EntryKind.QUEUE else Kind.RING_GROUP_MEMBER
        for agent in agents:
            self.relate(queue, relation, agent, target_type="Extension")
        return queue

    def entries_update(self, kind: str, **columns: Any) -> int:
        return DirectoryEntry.objects.filter(connection=self.connection, kind=kind).update(
            **columns
        )

    def fleet_member(self, *, version: str) -> ThreeCXConnection:
        """Another organisation's connection, running `version`."""
        other = SyncedDirectory(OrganizationFactory(), name=f"PBX {version}")
        other.connection.version = version
        other.connection.save(update_fields=["version"])
        return other.connection

    def status(self, **values: Any) -> None:
        self.state.system_status |= values
        DirectoryState.objects.filter(pk=self.state.pk).update(
            system_status=self.state.system_status
        )

    def settings(self, key: str, value: Any) -> None:
        self.state.pbx_settings[key] = value
        DirectoryState.objects.filter(pk=self.state.pk).update(pbx_settings=self.state.pbx_settings)

    def audit(self, **options: Any) -> AuditOutcome:
        return connection_audit(connection=self.connection, **options)

    def findings(self, rule: str | None = None, **filters: Any) -> list[Finding]:
        findings = Finding.objects.filter(connection=self.connection, **filters)
        if rule:
            findings = findings.filter(rule=rule)
        return list(findings.order_by("id"))

    def open(self, rule: str | None = None) -> list[Finding]:
        """Unresolved findings (of `rule`)."""
        return self.findings(rule, resolved_at__isnull=True)
