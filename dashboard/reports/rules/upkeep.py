"""10. Version behind the fleet, automatic updates off, backups missing or not scheduled."""

import re
from collections.abc import Iterator
from datetime import timedelta

from dashboard.reports.models import Severity
from dashboard.reports.rules.base import (
    SETTING,
    SYSTEM_STATUS,
    AuditContext,
    Hit,
    Rule,
    RuleSkipped,
    parse_time,
    setting_value,
)
from integrations.threecx.models import ThreeCXConnection

BACKUP_WITHIN = timedelta(days=7)
_VERSION = re.compile(r"\d+(?:\.\d+)*")


def version_key(version: str) -> tuple[int, ...] | None:
    """ "20.0.10.999" -> (20, 0, 10, 999), compared part by part as numbers (so 20.0.10 is
    newer than 20.0.9); three-part versions get a 0 build. None when no version is in it."""
    match = _VERSION.search(version or "")
    if match is None:
        return None
    parts = tuple(int(part) for part in match.group().split("."))
    return parts + (0,) * (4 - len(parts))


def behind_fleet(ctx: AuditContext) -> Iterator[Hit]:
    """The fleet is every connection of every organisation (the provider's whole fleet)
    whose version is known; one distinct-versions query, compared here."""
    own = ctx.connection.version or ctx.system_status.get("Version") or ""
    own_key = version_key(own)
    if own_key is None:
        raise RuleSkipped("The server's version is not known yet.")
    known = ThreeCXConnection.objects.exclude(version="").values_list("version", flat=True)
    versions = {version: key for version in known.distinct() if (key := version_key(version))}
    newest = max(versions, key=versions.__getitem__, default=own)
    if versions.get(newest, own_key) > own_key:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="version",
            subject_label="3CX version",
            summary=f"Runs 3CX {own}; the newest version in the fleet is {newest}",
            details={"version": own, "newest": newest},
        )


def auto_updates_off(ctx: AuditContext) -> Iterator[Hit]:
    if setting_value(ctx.system_status, "AutoUpdateEnabled", what="The system status") is False:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="settings:auto_update",
            subject_label="Automatic updates",
            summary="Automatic updates are off",
        )


def no_recent_backup(ctx: AuditContext) -> Iterator[Hit]:
    backups = ctx.pbx_settings.get("Backups") or {}
    newest = parse_time(backups.get("newest"))
    if newest is not None and ctx.now - newest <= BACKUP_WITHIN:
        return
    yield Hit(
        subject_kind=SETTING,
        subject_external_id=None,
        subject_key="backups:recent",
        subject_label="Backups",
        summary=(
            f"The newest backup is from {newest.day} {newest:%b %Y}, over 7 days ago"
            if newest
            else "There is no backup"
        ),
        details={"newest": newest.isoformat() if newest else None, "count": backups.get("count")},
    )


def backups_not_scheduled(ctx: AuditContext) -> Iterator[Hit]:
    settings = ctx.pbx_settings.get("BackupSettings") or {}
    if setting_value(settings, "ScheduleEnabled", what="The backup settings") is False:
        yield Hit(
            subject_kind=SETTING,
            subject_external_id=None,
            subject_key="backups:schedule",
            subject_label="Backup schedule",
            summary="Backups are not scheduled",
        )


RULES = (
    Rule(
        id="version.behind_fleet",
        title="Version behind the rest of the fleet",
        category=10,
        severity=Severity.MEDIUM,
        why=(
            "Each 3CX update fixes bugs and security problems. A server on an older version "
            "than the newest one running elsewhere in the fleet (every 3CX server this "
            "dashboard manages, across all organisations) misses fixes that are known to run "
            "fine. Versions are compared part by part as numbers (20.0.10 is newer than 20.0.9)."
        ),
        how_to_fix=(
            "Admin > Updates: install the pending 3CX update (take a backup first: Admin > "
            "Backup & Restore > Backup now).",
        ),
        reads=(SYSTEM_STATUS,),
        evaluate=behind_fleet,
    ),
    Rule(
        id="updates.auto_off",
        title="Automatic updates off",
        category=10,
        severity=Severity.LOW,
        why=(
            "With automatic updates off, security fixes wait until someone installs them by "
            "hand, which is easy to forget for months."
        ),
        how_to_fix=(
            "Admin > Updates > Automatic updates: turn them on and choose a quiet day and hour.",
        ),
        reads=(SYSTEM_STATUS,),
        evaluate=auto_updates_off,
    ),
    Rule(
        id="backups.none_recent",
        title="No backup in the last 7 days",
        category=10,
        severity=Severity.HIGH,
        why=(
            "Without a recent backup, a failed disk, a botched update or ransomware loses the "
            "extensions, phone provisioning, IVR prompts and call routing: rebuilding them by "
            "hand takes days."
        ),
        how_to_fix=(
            "Admin > Backup & Restore > Backup now, then check that it appears in the list.",
            "Set a schedule (see the rule 'Backups not scheduled') and a location off the "
            "server (Admin > Backup & Restore > Location).",
        ),
        reads=("Backups",),
        evaluate=no_recent_backup,
    ),
    Rule(
        id="backups.not_scheduled",
        title="Backups not scheduled",
        category=10,
        severity=Severity.HIGH,
        why=(
            "A backup nobody schedules is only taken when someone remembers. 3CX can take one "
            "daily or weekly and keep the last few."
        ),
        how_to_fix=(
            "Admin > Backup & Restore > Backup schedule: turn it on, choose daily or weekly "
            "and how many backups to keep, and Save.",
        ),
        reads=("BackupSettings",),
        evaluate=backups_not_scheduled,
    ),
)
