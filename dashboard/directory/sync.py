"""The directory sync engine: reads every source from 3CX and writes generation G+1.

One run = one call of `sync_run_execute`. Each page from the server costs a bounded number of
queries (look up what exists, insert new versions, retire old ones, insert references and
change records, report progress), unchanged entries are not written at all, and only the ids
seen so far are kept in memory (a bitmap), so memory does not grow with the directory.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    DirectoryState,
    SyncChange,
    SyncRun,
)
from dashboard.directory.sources import SOURCES, Source, content_hash, without_secrets
from integrations.threecx import errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.services import connection_record_error

logger = logging.getLogger(__name__)

LOG_LIMIT = 200


class SyncCancelled(Exception):
    """Someone pressed Cancel; the run stops at the next page."""


def sync_run_execute(*, run_id, worker: str = "", client_factory=None) -> SyncRun:
    """Claim a queued run and carry it out; returns the run in its final state.

    A run that is not queued any more (finished, or claimed by another worker) is returned
    untouched, so a redelivered task never runs twice.
    """
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker[:255]
    )
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    if not claimed:
        return run
    state, _ = DirectoryState.objects.get_or_create(connection=run.connection)
    directory_discard_unfinished(connection_id=run.connection_id, generation=state.generation)
    run.generation = state.generation + 1
    run.save(update_fields=["generation"])
    try:
        client = (client_factory or ThreeCXClient.for_connection)(run.connection)
        _Run(run, client, first_sync=state.generation == 0).execute()
    except SyncCancelled:
        _finish_unsuccessfully(run, SyncRun.Status.CANCELLED, "Cancelled.", permanent=True)
    except errors.ThreeCXError as exc:
        connection_record_error(connection=run.connection, error=exc)
        _finish_unsuccessfully(
            run, SyncRun.Status.FAILED, f"{exc.title}: {exc.message}", permanent=exc.permanent
        )
    except Exception:
        logger.exception("Directory sync %s failed unexpectedly", run.pk)
        _finish_unsuccessfully(
            run,
            SyncRun.Status.FAILED,
            "The sync stopped because of an internal error; it has been logged.",
            permanent=False,
        )
        raise
    run.refresh_from_db()
    return run


def directory_discard_unfinished(*, connection_id, generation: int) -> None:
    """Remove whatever unfinished runs wrote beyond `generation` (the visible one)."""
    with transaction.atomic():
        DirectoryRelation.objects.filter(
            connection_id=connection_id, source__generation_added__gt=generation
        ).delete()
        DirectoryEntry.objects.filter(
            connection_id=connection_id, generation_added__gt=generation
        ).delete()
        DirectoryEntry.objects.filter(
            connection_id=connection_id, generation_removed__gt=generation
        ).update(generation_removed=None)


def sync_runs_mark_stale() -> int:
    """Fail running syncs whose worker stopped reporting (killed, lost), and clean up."""
    cutoff = timezone.now() - timedelta(seconds=settings.DIRECTORY_SYNC_STALE_AFTER)
    stale = list(
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff).only(
            "pk", "connection_id", "log"
        )
    )
    for run in stale:
        _finish_unsuccessfully(
            run,
            SyncRun.Status.FAILED,
            "The worker running this sync stopped responding (it was stopped or killed). "
            "The previous directory was kept; the next sync starts afresh.",
            permanent=False,
            only_if_running=True,
        )
    return len(stale)


def _finish_unsuccessfully(
    run: SyncRun, status: str, error: str, *, permanent: bool, only_if_running: bool = False
) -> None:
    with transaction.atomic():
        runs = SyncRun.objects.filter(pk=run.pk)
        if only_if_running:
            runs = runs.filter(status=SyncRun.Status.RUNNING)
        finished = runs.update(
            status=status,
            error=error,
            error_permanent=permanent,
            finished_at=timezone.now(),
            added=0,
            changed=0,
            removed=0,
        )
        if not finished:
            return
        SyncChange.objects.filter(run_id=run.pk).delete()
        state = DirectoryState.objects.filter(connection_id=run.connection_id).first()
        directory_discard_unfinished(
            connection_id=run.connection_id, generation=state.generation if state else 0
        )
    logger.info("Directory sync %s ended %s: %s", run.pk, status, error)


@dataclass
class _Counts:
    added: int = 0
    changed: int = 0
    removed: int = 0


class _Run:
    def __init__(self, run: SyncRun, client: ThreeCXClient, *, first_sync: bool) -> None:
        self.run = run
        self.client = client
        self.first_sync = first_sync
        self.generation = run.generation
        self.progress: dict[str, dict[str, Any]] = {
            source.kind: {"fetched": 0, "total": None, "done": False} for source in SOURCES
        }
        self.counts = _Counts()
        self.log: list[str] = []

    def execute(self) -> None:
        version = self.client.version()
        self._log(f"Connected to 3CX {version}.")
        for source in SOURCES:
            _SourceSync(self, source).execute()
        status = self.client.system_status()
        self._complete(version=version, system_status=without_secrets("SystemStatus", status))

    def report(self, *, kind: str, fetched: int, total: int | None, done: bool, counts: _Counts):
        """Save progress; also the heartbeat, and the moment a cancel request is noticed."""
        self.progress[kind] = {"fetched": fetched, "total": total, "done": done}
        self.counts.added += counts.added
        self.counts.changed += counts.changed
        self.counts.removed += counts.removed
        updated = SyncRun.objects.filter(
            pk=self.run.pk, status=SyncRun.Status.RUNNING, cancel_requested=False
        ).update(
            progress=self.progress,
            heartbeat_at=timezone.now(),
            added=self.counts.added,
            changed=self.counts.changed,
            removed=self.counts.removed,
            log=self.log[-LOG_LIMIT:],
        )
        if not updated:
            raise SyncCancelled

    def _log(self, line: str) -> None:
        self.log.append(f"{timezone.now():%H:%M:%S} {line}")

    @transaction.atomic
    def _complete(self, *, version: str, system_status: dict[str, Any]) -> None:
        connection = self.run.connection
        run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
        if run.status != SyncRun.Status.RUNNING or run.cancel_requested:
            raise SyncCancelled
        # The switch: bump the generation, and drop what it superseded.
        superseded = DirectoryEntry.objects.filter(
            connection=connection, generation_removed__lte=self.generation
        )
        DirectoryRelation.objects.filter(source__in=superseded.values("pk")).delete()
        superseded.delete()
        counts = dict(
            DirectoryEntry.objects.filter(connection=connection)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        now = timezone.now()
        DirectoryState.objects.filter(connection=connection).update(
            generation=self.generation,
            last_success_at=now,
            last_run=run,
            counts=counts,
            system_status=system_status,
        )
        self._log(
            f"Done: {self.counts.added} added, {self.counts.changed} changed, "
            f"{self.counts.removed} removed."
        )
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.SUCCEEDED,
            finished_at=now,
            heartbeat_at=now,
            progress=self.progress,
            added=self.counts.added,
            changed=self.counts.changed,
            removed=self.counts.removed,
            log=self.log[-LOG_LIMIT:],
            error="",
        )
        type(connection).objects.filter(pk=connection.pk).update(
            version=version,
            last_checked_at=now,
            last_error="",
            last_error_at=None,
            last_error_permanent=False,
        )


class IdSet:
    """The external ids seen in a run: a bitmap, so 200,000 ids take 25 KB, not megabytes."""

    BITMAP_LIMIT = 1 << 26  # ids beyond 64 M (never seen in 3CX) go to a plain set

    def __init__(self) -> None:
        self._bits = bytearray()
        self._overflow: set[int] = set()

    def add(self, value: int) -> bool:
        """Add `value`; False if it was there already."""
        if value < 0 or value >= self.BITMAP_LIMIT:
            if value in self._overflow:
                return False
            self._overflow.add(value)
            return True
        index, bit = divmod(value, 8)
        if index >= len(self._bits):
            self._bits.extend(bytes(index - len(self._bits) + 1024))
        if self._bits[index] & (1 << bit):
            return False
        self._bits[index] |= 1 << bit
        return True

    def __contains__(self, value: int) -> bool:
        if value < 0 or value >= self.BITMAP_LIMIT:
            return value in self._overflow
        index, bit = divmod(value, 8)
        return index < len(self._bits) and bool(self._bits[index] & (1 << bit))


class _SourceSync:
    def __init__(self, sync: _Run, source: Source) -> None:
        self.sync = sync
        self.source = source
        self.connection = sync.run.connection
        self.generation = sync.generation
        self.seen = IdSet()
        self.fetched = 0

    def execute(self) -> None:
        collection = self.sync.client.collection(self.source.entity_set, expand=self.source.expand)
        for page in collection.pages():
            counts = self._write_page(page)
            self.fetched += len(page)
            self.sync.report(
                kind=self.source.kind,
                fetched=self.fetched,
                total=collection.total,
                done=False,
                counts=counts,
            )
        counts = self._retire_missing()
        self.sync.report(
            kind=self.source.kind,
            fetched=self.fetched,
            total=collection.total if collection.total is not None else self.fetched,
            done=True,
            counts=counts,
        )

    def _visible(self):
        return DirectoryEntry.objects.filter(
            connection=self.connection,
            kind=self.source.kind,
            generation_added__lt=self.generation,
            generation_removed__isnull=True,
        )

    def _write_page(self, page: list[dict[str, Any]]) -> _Counts:
        incoming: dict[int, tuple[dict[str, Any], str]] = {}
        for item in page:
            external_id = item.get("Id")
            if not isinstance(external_id, int) or isinstance(external_id, bool):
                self.sync._log(f"Skipped a {self.source.entity_set} item without a numeric Id.")
                continue
            if not self.seen.add(external_id):
                continue  # paging overlap: the server's data shifted between pages
            data = without_secrets(self.source.entity_set, item)
            incoming[external_id] = (data, content_hash(data))
        if not incoming:
            return _Counts()
        existing = {
            external_id: (pk, digest)
            for pk, external_id, digest in self._visible()
            .filter(external_id__in=incoming)
            .values_list("pk", "external_id", "content_hash")
        }
        changed_ids = [
            i for i, (_, digest) in incoming.items() if i in existing and existing[i][1] != digest
        ]
        new_ids = [i for i in incoming if i not in existing]
        if not changed_ids and not new_ids:
            return _Counts()
        previous = {}
        if changed_ids:
            previous = dict(
                DirectoryEntry.objects.filter(
                    pk__in=[existing[i][0] for i in changed_ids]
                ).values_list("external_id", "data")
            )
        rows, references = [], []
        for external_id in (*new_ids, *changed_ids):
            data, digest = incoming[external_id]
            normalized = self.source.normalize(data)
            row = DirectoryEntry(
                organization_id=self.connection.organization_id,
                connection=self.connection,
                kind=self.source.kind,
                external_id=external_id,
                generation_added=self.generation,
                data=data,
                content_hash=digest,
                **normalized.columns,
            )
            rows.append(row)
            references.append(normalized.references)
        DirectoryEntry.objects.bulk_create(rows, batch_size=1000)
        if changed_ids:
            DirectoryEntry.objects.filter(pk__in=[existing[i][0] for i in changed_ids]).update(
                generation_removed=self.generation
            )
        DirectoryRelation.objects.bulk_create(
            [
                DirectoryRelation(
                    connection=self.connection,
                    source=row,
                    kind=reference.kind,
                    target_number=reference.target_number,
                    target_external_id=reference.target_external_id,
                    label=reference.label[:255],
                )
                for row, row_references in zip(rows, references, strict=True)
                for reference in row_references
            ],
            batch_size=2000,
        )
        changes = []
        by_id = {row.external_id: row for row in rows}
        if not self.sync.first_sync:
            changes += [self._change(by_id[i], SyncChange.Action.ADDED) for i in new_ids]
        for external_id in changed_ids:
            fields = field_changes(previous.get(external_id) or {}, by_id[external_id].data)
            changes.append(self._change(by_id[external_id], SyncChange.Action.CHANGED, fields))
        SyncChange.objects.bulk_create(changes, batch_size=1000)
        return _Counts(added=len(new_ids), changed=len(changed_ids))

    def _retire_missing(self) -> _Counts:
        """Entries the server no longer lists are marked removed in this generation."""
        removed = 0
        batch: list[tuple[int, int, str]] = []
        for pk, external_id, number, name in (
            self._visible().values_list("pk", "external_id", "number", "name").iterator(5000)
        ):
            if external_id not in self.seen:
                batch.append((pk, external_id, name or number))
            if len(batch) >= 1000:
                removed += self._retire(batch)
                batch = []
        if batch:
            removed += self._retire(batch)
        return _Counts(removed=removed)

    def _retire(self, batch: list[tuple[int, int, str]]) -> int:
        DirectoryEntry.objects.filter(pk__in=[pk for pk, _, _ in batch]).update(
            generation_removed=self.generation
        )
        SyncChange.objects.bulk_create(
            SyncChange(
                run=self.sync.run,
                connection=self.connection,
                kind=self.source.kind,
                external_id=external_id,
                label=label[:255],
                action=SyncChange.Action.REMOVED,
            )
            for _, external_id, label in batch
        )
        return len(batch)

    def _change(self, row: DirectoryEntry, action: str, fields: dict | None = None) -> SyncChange:
        return SyncChange(
            run=self.sync.run,
            connection=self.connection,
            kind=self.source.kind,
            external_id=row.external_id,
            label=(row.name or row.number)[:255],
            action=action,
            fields=fields or {},
        )


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{"Field": [before, after]} for every top-level field whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


__all__ = [
    "IdSet",
    "SyncCancelled",
    "directory_discard_unfinished",
    "field_changes",
    "sync_run_execute",
    "sync_runs_mark_stale",
]
