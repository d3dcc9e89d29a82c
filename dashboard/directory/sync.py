"""The directory sync engine: reads every source from 3CX and writes generation G+1.

One run = one call of `sync_run_execute`. Each page from the server costs a bounded number of
queries (look up what exists, insert new versions, retire old ones, insert references and
change records, report progress), unchanged entries are not written at all, and only the ids
seen so far are kept in memory (a bitmap), so memory does not grow with the directory.
"""

import itertools
import json
import logging
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection as db
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from dashboard.directory.changes import field_changes
from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    DirectoryState,
    SyncChange,
    SyncRun,
)
from dashboard.directory.progress import progress_entry
from dashboard.directory.signals import directory_switched
from dashboard.directory.sources import (
    BACKUPS,
    SETTINGS,
    SOURCES,
    Setting,
    Source,
    backups_summary,
    canonical_json,
    canonical_json_hash,
    setting_clean,
    with_masked_fields,
    without_secrets,
)
from dashboard.jobs.runner import job_claim, job_heartbeat
from dashboard.tenants.activity import activity_record
from integrations.threecx import errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.services import connection_record_error

logger = logging.getLogger(__name__)

LOG_LIMIT = 200
#: On SQLite, a run leaves the write lock free for SQLITE_LOCK_YIELD seconds between pages
#: once it has written for SQLITE_LOCK_YIELD_EVERY seconds (see _Run.write_lock_yield).
SQLITE_LOCK_YIELD = 0.15
SQLITE_LOCK_YIELD_EVERY = 0.5
#: Failures that make every read fail: reading the version first, they stop the run at once.
_CONNECTION_ERRORS = (
    errors.AuthenticationFailed,
    errors.Forbidden,
    errors.ConnectionFailed,
    errors.UnsafeAddress,
)
#: How an OData server says a path names nothing it has, when it does not answer 404.
_UNKNOWN_SEGMENT = re.compile(
    r"not found for the segment|No HTTP resource was found", re.IGNORECASE
)


def not_on_this_version(exc: errors.ThreeCXError) -> bool:
    """Whether `exc` says the server has no such entity set or function (an older 3CX):
    HTTP 404, or OData's "Resource not found for the segment 'X'" error."""
    if isinstance(exc, errors.NotFound) and exc.status == 404:
        return True
    return isinstance(exc, errors.InvalidParameters) and bool(_UNKNOWN_SEGMENT.search(exc.message))


def unavailable_message(path: str) -> str:
    """ "InboundRules is not available...", "GetBackupSettings is not..." for
    "Backups/Pbx.GetBackupSettings()"."""
    name = path.rsplit("/", 1)[-1].split("(", 1)[0].removeprefix("Pbx.")
    return f"{name} is not available on this version of 3CX."


#: Sent (sender SyncRun, with `run`) as a run starts reading. A receiver may return an
#: observer of what the run writes, with two methods: `entries_written(*, kind, entries)`,
#: called after each page commits with its new and changed entries (each has `columns`, its
#: typed columns, and `data`, the synced item), and `close(*, completed)`, called once when
#: the run stops (completed: it read everything and is about to switch, or to be held for
#: review). The audit reports judge new phone numbers this way while the sync waits for the
#: server. An observer that fails is logged and dropped: the sync goes on without it.
sync_started = Signal()


class SyncCancelled(Exception):
    """Someone pressed Cancel; the run stops at the next page."""


def sync_run_execute(*, run_id, worker: str = "", client_factory=None) -> SyncRun:
    """Claim a queued run and carry it out; returns the run in its final state.

    A run that is not queued any more (finished, or claimed by another worker) is returned
    untouched, so a redelivered task never runs twice.
    """
    run = job_claim(SyncRun, run_id, worker=worker)
    if run is None:
        return SyncRun.objects.select_related("connection").get(pk=run_id)
    # A run held for review describes the server as it was: a newer sync supersedes it.
    sync_reviews_discard(
        connection_id=run.connection_id, reason=f"Superseded by the newer sync {run.pk}."
    )
    state, _ = DirectoryState.objects.get_or_create(connection=run.connection)
    directory_discard_unfinished(connection_id=run.connection_id, generation=state.generation)
    run.generation = state.generation + 1
    run.save(update_fields=["generation"])
    try:
        client = (client_factory or ThreeCXClient.for_connection)(run.connection)
        _Run(run, client, state=state).execute()
    except SyncCancelled:
        with transaction.atomic():  # the log says Cancelled exactly when the run does
            if _finish_unsuccessfully(run, SyncRun.Status.CANCELLED, "Cancelled.", permanent=True):
                activity_record(
                    organization=run.connection.organization,
                    actor=None,
                    action="directory.sync_cancelled",
                    target=run.connection,
                    details={"run": str(run.pk)},
                )
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


def sync_runs_mark_stale(*, runs: QuerySet[SyncRun] | None = None) -> int:
    """Fail running syncs (of all, or among `runs`) whose worker stopped reporting (killed,
    lost), and discard what they wrote."""
    cutoff = timezone.now() - SyncRun.stale_after()
    runs = SyncRun.objects.all() if runs is None else runs
    stale = list(
        runs.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff).only(
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
        )
    return len(stale)


def sync_review_apply(*, run: SyncRun, log_line: str) -> bool:
    """Switch to a held run's generation exactly as its own finish would have; False if it
    is not held any more (applied, discarded or superseded meanwhile)."""
    with transaction.atomic():
        held = (
            SyncRun.objects.select_for_update()
            .select_related("connection")
            .filter(pk=run.pk, status=SyncRun.Status.NEEDS_REVIEW)
            .first()
        )
        if held is None:
            return False
        held.log = [*held.log, _log_line(log_line)][-LOG_LIMIT:]
        _directory_switch(held)
    return True


def sync_reviews_discard(*, connection_id, reason: str, run_id=None) -> int:
    """Drop what held runs of the connection (or only `run_id`) wrote; how many were held."""
    with transaction.atomic():
        held = SyncRun.objects.filter(
            connection_id=connection_id, status=SyncRun.Status.NEEDS_REVIEW
        )
        if run_id is not None:
            held = held.filter(pk=run_id)
        pks = list(held.select_for_update().values_list("pk", flat=True))
        if not pks:
            return 0
        SyncRun.objects.filter(pk__in=pks).update(
            status=SyncRun.Status.DISCARDED, error=reason, added=0, changed=0, removed=0
        )
        SyncChange.objects.filter(run_id__in=pks).delete()
        state = DirectoryState.objects.filter(connection_id=connection_id).first()
        directory_discard_unfinished(
            connection_id=connection_id, generation=state.generation if state else 0
        )
    logger.info("Directory sync(s) %s discarded: %s", pks, reason)
    return len(pks)


def _log_line(line: str) -> str:
    return f"{timezone.now():%H:%M:%S} {line}"


def _directory_switch(run: SyncRun) -> None:
    """Make the run's generation the visible one and end the run succeeded, from what the
    run row holds. Inside the caller's transaction, with the run row locked."""
    connection = run.connection
    # The switch: bump the generation, and drop what it superseded.
    superseded = DirectoryEntry.objects.filter(
        connection=connection, generation_removed__lte=run.generation
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
    state = {"generation": run.generation, "last_success_at": now, "last_run": run}
    if run.system_status:  # when the status could not be read, the last one known stays
        state["system_status"] = run.system_status
    known_settings, known_unavailable = (
        DirectoryState.objects.filter(connection=connection)
        .values_list("pbx_settings", "unavailable")
        .get()
    )
    # A setting that could not be read keeps its last value, and what was said of it then.
    failed = {warning.get("step") for warning in run.warnings or []}
    state["pbx_settings"] = {**(known_settings or {}), **(run.pbx_settings or {})}
    state["unavailable"] = {
        **{key: text for key, text in (known_unavailable or {}).items() if key in failed},
        **(run.unavailable or {}),
    }
    DirectoryState.objects.filter(connection=connection).update(counts=counts, **state)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.SUCCEEDED,
        finished_at=now,
        heartbeat_at=now,
        log=run.log,
        error="",
    )
    checked = {"version": run.server_version} if run.server_version else {}
    type(connection).objects.filter(pk=connection.pk).update(
        last_checked_at=now,
        last_error="",
        last_error_at=None,
        last_error_permanent=False,
        **checked,
    )
    generation = run.generation
    transaction.on_commit(
        lambda: directory_switched.send(
            sender=SyncRun, connection=connection, generation=generation
        )
    )


def _finish_unsuccessfully(run: SyncRun, status: str, error: str, *, permanent: bool) -> bool:
    """End a run that is still running and discard what it wrote; leave any other run be.
    True if it was still running.

    A run that has ended already (declared dead while its worker was frozen) may have a
    successor writing the same generation, whose rows must stay.
    """
    with transaction.atomic():
        finished = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=status,
            error=error,
            error_permanent=permanent,
            finished_at=timezone.now(),
            added=0,
            changed=0,
            removed=0,
        )
        if not finished:
            return False
        SyncChange.objects.filter(run_id=run.pk).delete()
        state = DirectoryState.objects.filter(connection_id=run.connection_id).first()
        directory_discard_unfinished(
            connection_id=run.connection_id, generation=state.generation if state else 0
        )
    logger.info("Directory sync %s ended %s: %s", run.pk, status, error)
    return True


@dataclass
class _Counts:
    added: int = 0
    changed: int = 0
    removed: int = 0


class _Run:
    def __init__(self, run: SyncRun, client: ThreeCXClient, *, state: DirectoryState) -> None:
        self.run = run
        self.client = client
        self.state = state
        self.first_sync = state.generation == 0
        self.generation = run.generation
        self.progress: dict[str, dict[str, Any]] = {
            source.kind: progress_entry(fetched=0, total=None, done=False) for source in SOURCES
        }
        self.counts = _Counts()
        self.removed_by_kind: dict[str, int] = {}
        self.log: list[str] = []
        self.warnings: list[dict[str, str]] = []
        #: {kind or settings key: why}: what this server's version does not offer.
        self.unavailable: dict[str, str] = {}
        self.yielded_at = time.monotonic()
        #: What `sync_started`'s receivers returned.
        self.observers: list[Any] = []

    def execute(self) -> None:
        # A receiver that fails is logged by send_robust and left out.
        self.observers = [
            observer
            for _, observer in sync_started.send_robust(sender=SyncRun, run=self.run)
            if observer is not None and not isinstance(observer, Exception)
        ]
        try:
            self._read_and_finish()
        finally:
            self._observers_close(completed=False)  # those still open: the run failed

    def _read_and_finish(self) -> None:
        version = self._optional("version", self.client.version, fatal=_CONNECTION_ERRORS)
        if version:
            self._log(f"Connected to 3CX {version}.")
        for source in SOURCES:
            _SourceSync(self, source).execute()
        # Not part of the directory: a failure here is a warning, the directory still switches.
        status = self._optional("SystemStatus", self.client.system_status, fatal=())
        if status is not None:
            status = with_masked_fields("SystemStatus", without_secrets("SystemStatus", status))
        settings = self._settings()
        held = self._removals_to_review()
        # Before the switch: the audit it starts reads what the observers stored.
        self._observers_close(completed=True)
        self._finish(
            version=version or "", system_status=status or {}, pbx_settings=settings, held=held
        )

    def entries_written(self, *, kind: str, entries: list["_NewEntry"]) -> None:
        """Tell the observers about a page's new and changed entries (committed)."""
        for observer in list(self.observers):
            try:
                observer.entries_written(kind=kind, entries=entries)
            except Exception:
                logger.exception("Sync %s: an observer failed and was dropped", self.run.pk)
                self.observers.remove(observer)
                self._observer_close(observer, completed=False)

    def _observers_close(self, *, completed: bool) -> None:
        observers, self.observers = self.observers, []
        for observer in observers:
            self._observer_close(observer, completed=completed)

    def _observer_close(self, observer: Any, *, completed: bool) -> None:
        try:
            observer.close(completed=completed)
        except Exception:
            logger.exception("Sync %s: an observer failed to close", self.run.pk)

    def source_unavailable(self, source: Source) -> None:
        """The server has no `source.entity_set`: its entries stay as they were."""
        message = unavailable_message(source.entity_set)
        self.unavailable[source.kind] = message
        self._log(f"{message} Its entries were kept as they were.")
        self.progress[source.kind] = progress_entry(
            fetched=0, total=None, done=True, unavailable=True
        )
        job_heartbeat(self.run, progress=self.progress, log=self.log[-LOG_LIMIT:])

    def _settings(self) -> dict[str, Any]:
        """The single objects read with the directory, each on its own: one failing leaves a
        warning (its last value is kept), one this version lacks is marked unavailable."""
        found: dict[str, Any] = {}
        for setting in SETTINGS:
            item = self._setting(setting, lambda s=setting: self.client.single(s.path))
            if item is not None:
                found[setting.key] = setting_clean(setting, item)
        backups = self._setting(
            BACKUPS,
            lambda: backups_summary(
                self.client.collection(
                    BACKUPS.path, select=("FileName", "CreationTime"), orderby="FileName"
                )
            ),
        )
        if backups is not None:
            found[BACKUPS.key] = backups
        return found

    def _setting(self, setting: Setting, read):
        try:
            return read()
        except errors.ThreeCXError as exc:
            if not not_on_this_version(exc):
                self._warn(setting.key, exc)
                return None
            message = unavailable_message(setting.path)
            self.unavailable[setting.key] = message
            self._log(message)
            return None

    def report(self, *, kind: str, fetched: int, total: int | None, done: bool, counts: _Counts):
        """Save progress; also the heartbeat, and the moment a cancel request is noticed."""
        self.progress[kind] = progress_entry(fetched=fetched, total=total, done=done)
        self.counts.added += counts.added
        self.counts.changed += counts.changed
        self.counts.removed += counts.removed
        if counts.removed:
            self.removed_by_kind[kind] = self.removed_by_kind.get(kind, 0) + counts.removed
        updated = job_heartbeat(
            self.run,
            condition=Q(cancel_requested=False),
            progress=self.progress,
            added=self.counts.added,
            changed=self.counts.changed,
            removed=self.counts.removed,
            log=self.log[-LOG_LIMIT:],
        )
        if not updated:
            raise SyncCancelled

    def write_lock_yield(self) -> None:
        """Between two pages, leave SQLite's one write lock free for a moment.

        SQLite has no queue for its write lock: a process waiting for it naps (up to 100 ms
        at a time) and tries again, so a run that commits a page and at once starts the next
        keeps a web request (a Cancel) waiting until the whole sync is over. A free spell
        longer than the longest nap every so often lets waiting writers in; PostgreSQL locks
        rows, not the database, and needs none.
        """
        if db.vendor != "sqlite":
            return
        if time.monotonic() - self.yielded_at < SQLITE_LOCK_YIELD_EVERY:
            return
        time.sleep(SQLITE_LOCK_YIELD)
        self.yielded_at = time.monotonic()

    def check_cancelled(self) -> None:
        if not SyncRun.objects.filter(
            pk=self.run.pk, status=SyncRun.Status.RUNNING, cancel_requested=False
        ).exists():
            raise SyncCancelled

    def _log(self, line: str) -> None:
        self.log.append(_log_line(line))

    def _optional(self, step: str, read, *, fatal: tuple[type[Exception], ...]):
        """`read()`, or None with a warning on the run when it fails with a 3CX error that
        is not one of `fatal` (those say the whole connection is unusable)."""
        try:
            return read()
        except errors.ThreeCXError as exc:
            if isinstance(exc, fatal):
                raise
            self._warn(step, exc)
            return None

    def _warn(self, step: str, exc: errors.ThreeCXError) -> None:
        message = f"{exc.title}: {exc.message}"
        self.warnings.append({"step": step, "error": message})
        self._log(f"Could not read {step}: {message}")

    def _removals_to_review(self) -> dict[str, int]:
        """{kind: entries it would remove} for the kinds over the connection's threshold;
        empty for a first sync and for a run whose removals were confirmed up front."""
        if self.first_sync or self.run.confirm_removals:
            return {}
        percent, at_least = self.state.removal_review_percent, self.state.removal_review_count
        return {
            kind: removed
            for kind, removed in self.removed_by_kind.items()
            if removed > at_least
            and removed * 100 > percent * (self.state.counts or {}).get(kind, 0)
        }

    @transaction.atomic
    def _finish(
        self,
        *,
        version: str,
        system_status: dict[str, Any],
        pbx_settings: dict[str, Any],
        held: dict[str, int],
    ) -> None:
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=self.run.pk)
        if run.status != SyncRun.Status.RUNNING or run.cancel_requested:
            raise SyncCancelled
        summary = (
            f"{self.counts.added} added, {self.counts.changed} changed, "
            f"{self.counts.removed} removed"
        )
        if held:
            removals = ", ".join(f"{n} {kind}" for kind, n in held.items())
            self._log(f"Held for review ({summary}): it would remove {removals}.")
        else:
            self._log(f"Done: {summary}.")
        run.progress = self.progress
        run.added, run.changed, run.removed = (
            self.counts.added,
            self.counts.changed,
            self.counts.removed,
        )
        run.log = self.log[-LOG_LIMIT:]
        run.warnings = self.warnings
        run.server_version = version
        run.system_status = system_status
        run.pbx_settings = pbx_settings
        run.unavailable = self.unavailable
        fields = ["progress", "added", "changed", "removed", "log", "warnings"]
        fields += ["server_version", "system_status", "pbx_settings", "unavailable"]
        if held:
            run.status, run.finished_at = SyncRun.Status.NEEDS_REVIEW, timezone.now()
            run.save(update_fields=[*fields, "status", "finished_at"])
            activity_record(
                organization=run.connection.organization,
                actor=None,
                action="directory.sync_held_for_review",
                target=run.connection,
                details={"run": str(run.pk), "removals": held},
            )
            return
        run.save(update_fields=fields)
        _directory_switch(run)


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
        #: Visible entries found unchanged so far: when that is all there are, none is missing.
        self.unchanged = 0
        #: The fields every entry this run writes for this source has, unless it says otherwise.
        self.shared = {
            **_ENTRY_DEFAULTS,
            "organization_id": str(self.connection.organization_id),
            "connection_id": str(self.connection.pk),
            "kind": source.kind,
            "generation_added": self.generation,
        }

    def execute(self) -> None:
        collection = self.sync.client.collection(
            self.source.entity_set,
            expand=self.source.expand,
            orderby=self.source.orderby,
            select=self.source.select,
        )
        pages = collection.pages()
        try:
            first = next(pages, None)
        except errors.ThreeCXError as exc:
            if not (self.source.optional and not_on_this_version(exc)):
                raise
            self.sync.source_unavailable(self.source)
            return
        for page in itertools.chain([first] if first is not None else [], pages):
            if collection.has_more:
                # Download the next page while this one is written; a cancel noticed here
                # means the next page is never asked for.
                self.sync.check_cancelled()
                collection.prefetch()
            # The page's rows and the report that the run is still running (not cancelled,
            # not declared dead) commit together: a run that lost its claim writes nothing.
            with transaction.atomic():
                counts, written = self._write_page(page)
                self.fetched += len(page)
                self.sync.report(
                    kind=self.source.kind,
                    fetched=self.fetched,
                    total=collection.total,
                    done=False,
                    counts=counts,
                )
            if written:
                self.sync.entries_written(kind=self.source.kind, entries=written)
            self.sync.write_lock_yield()
        with transaction.atomic():
            counts = self._retire_missing()
            self.sync.report(
                kind=self.source.kind,
                fetched=self.fetched,
                total=self.fetched,  # what was received is the total now
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

    def _write_page(self, page: list[dict[str, Any]]) -> tuple[_Counts, list["_NewEntry"]]:
        """Write a page's new and changed entries; (counts, the entries written)."""
        incoming: dict[int, tuple[dict[str, Any], str, str]] = {}
        for item in page:
            external_id = self.source.external_id(item)
            if external_id is None:
                self.sync._log(f"Skipped a {self.source.entity_set} item without its key.")
                continue
            if not self.seen.add(external_id):
                continue  # paging overlap: the server's data shifted between pages
            data = without_secrets(self.source.entity_set, item)
            text = canonical_json(data)
            incoming[external_id] = (data, text, canonical_json_hash(text))
        if not incoming:
            return _Counts(), []
        existing = self._existing(incoming)
        changed_ids = [
            i
            for i, (_, _, digest) in incoming.items()
            if i in existing and existing[i][1] != digest
        ]
        new_ids = [i for i in incoming if i not in existing]
        self.unchanged += len(existing) - len(changed_ids)
        if not changed_ids and not new_ids:
            return _Counts(), []
        previous = {}
        if changed_ids:
            previous = dict(
                DirectoryEntry.objects.filter(
                    pk__in=[existing[i][0] for i in changed_ids]
                ).values_list("external_id", "data")
            )
        entries, references = [], []
        for external_id in (*new_ids, *changed_ids):
            data, text, digest = incoming[external_id]
            normalized = self.source.normalize(data)
            columns = {**normalized.columns, "external_id": external_id, "content_hash": digest}
            entries.append(_NewEntry(columns, data, text))
            references.append(normalized.references)
        pks = _entries_create(self.shared, entries)
        if changed_ids:
            DirectoryEntry.objects.filter(pk__in=[existing[i][0] for i in changed_ids]).update(
                generation_removed=self.generation
            )
        DirectoryRelation.objects.bulk_create(
            [
                DirectoryRelation(
                    connection_id=self.connection.pk,
                    source_id=pk,
                    kind=reference.kind,
                    target_number=reference.target_number,
                    target_external_id=reference.target_external_id,
                    target_type=reference.target_type[:32],
                    label=reference.label[:255],
                )
                for pk, entry_references in zip(pks, references, strict=True)
                for reference in entry_references
            ],
            batch_size=2000,
        )
        changes = []
        by_id = {entry.columns["external_id"]: entry for entry in entries}
        if not self.sync.first_sync:
            changes += [self._change(by_id[i], SyncChange.Action.ADDED) for i in new_ids]
        for external_id in changed_ids:
            fields = field_changes(previous.get(external_id) or {}, by_id[external_id].data)
            changes.append(self._change(by_id[external_id], SyncChange.Action.CHANGED, fields))
        SyncChange.objects.bulk_create(changes, batch_size=1000)
        return _Counts(added=len(new_ids), changed=len(changed_ids)), entries

    def _existing(self, incoming: dict[int, Any]) -> dict[int, tuple[int, str]]:
        """{external id: (pk, content hash)} of the visible entries among `incoming`'s ids."""
        if self.sync.first_sync:
            return {}  # nothing is visible yet
        # Pages come in Id order, so the visible entries between a page's lowest and highest
        # id are its own plus any the server deleted: one index range scan, two parameters,
        # whatever the table statistics say. (An IN list of a page of ids makes a planner
        # with stale statistics, as right after the first sync, scan the whole kind.)
        rows = (
            self._visible()
            .filter(external_id__range=(min(incoming), max(incoming)))
            .values_list("pk", "external_id", "content_hash")
        )
        return {
            external_id: (pk, digest) for pk, external_id, digest in rows if external_id in incoming
        }

    def _retire_missing(self) -> _Counts:
        """Entries the server no longer lists are marked removed in this generation."""
        if self._visible().count() == self.unchanged:
            return _Counts()  # every visible entry was seen on a page: none to look for
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

    def _change(self, entry: "_NewEntry", action: str, fields: dict | None = None) -> SyncChange:
        columns = {**self.shared, **entry.columns}
        return SyncChange(
            run=self.sync.run,
            connection=self.connection,
            kind=self.source.kind,
            external_id=columns["external_id"],
            label=(columns["name"] or columns["number"])[:255],
            action=action,
            fields=fields or {},
        )


@dataclass
class _NewEntry:
    #: The fields that are the entry's own (the rest are the source's shared ones).
    columns: dict[str, Any]
    data: dict[str, Any]
    #: `data` as canonical JSON, already made for the content hash.
    data_json: str


def _entries_create(shared: dict[str, Any], entries: list[_NewEntry]) -> list[int]:
    """Insert directory entries, each `shared` updated with its own fields; their primary keys.

    On PostgreSQL a page goes as one JSON document that jsonb_populate_recordset turns into
    rows, the shared fields once as the base row. bulk_create would send one array per column,
    which psycopg (binding values on the client, as Django has it) escapes element by element
    in Python, the JSON documents quote by quote: slower than the whole insert done this way.
    """
    if not entries:
        return []
    if db.vendor != "postgresql":
        rows = [DirectoryEntry(**{**shared, **e.columns, "data": e.data}) for e in entries]
        return [row.pk for row in DirectoryEntry.objects.bulk_create(rows, batch_size=1000)]
    rows_json = ",".join(
        f'{_compact_json(_by_column(e.columns))[:-1]},"{_DATA_COLUMN}":{e.data_json}}}'
        for e in entries
    )
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(), [_compact_json(_by_column(shared)), f"[{rows_json}]"])
        pk_of = {external_id: pk for pk, external_id in cursor.fetchall()}
    return [pk_of[e.columns["external_id"]] for e in entries]


@cache
def _insert_sql() -> str:
    quote = db.ops.quote_name
    table = quote(DirectoryEntry._meta.db_table)
    columns = ", ".join(quote(f.column) for f in _ENTRY_FIELDS)
    rows = f"jsonb_populate_recordset(jsonb_populate_record(NULL::{table}, %s::jsonb), %s::jsonb)"
    returning = f"{quote(DirectoryEntry._meta.pk.column)}, {quote('external_id')}"
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {rows} RETURNING {returning}"  # noqa: S608 - names from the model


def _by_column(fields: dict[str, Any]) -> dict[str, Any]:
    if not _ENTRY_COLUMN_OF:
        return fields
    return {_ENTRY_COLUMN_OF.get(name, name): value for name, value in fields.items()}


_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENTRY_FIELDS = [f for f in DirectoryEntry._meta.concrete_fields if not f.primary_key]
#: What an entry holds unless a source says otherwise (the fields' own defaults).
_ENTRY_DEFAULTS = {f.attname: f.get_default() for f in _ENTRY_FIELDS}
_ENTRY_COLUMN_OF = {f.attname: f.column for f in _ENTRY_FIELDS if f.attname != f.column}
_DATA_COLUMN = DirectoryEntry._meta.get_field("data").column


__all__ = [
    "IdSet",
    "SyncCancelled",
    "directory_discard_unfinished",
    "sync_review_apply",
    "sync_reviews_discard",
    "sync_run_execute",
    "sync_runs_mark_stale",
    "sync_started",
]
