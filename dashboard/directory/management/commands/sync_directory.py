"""manage.py sync_directory CONNECTION_ID [--wait] [--inline]: sync a directory from the shell."""

import os
import socket
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.directory.models import EntryKind, SyncRun
from dashboard.directory.progress import sync_run_progress_rows
from dashboard.directory.services import sync_run_request
from dashboard.directory.sync import sync_run_execute
from integrations.threecx.management.arguments import connection_from_argument
from integrations.threecx.models import ThreeCXConnection


class Command(BaseCommand):
    help = (
        "Sync a 3CX connection's directory: queue the sync for a Celery worker and print its "
        "id, follow it until it ends (--wait), or run it in this process (--inline). Exits "
        "non-zero when the sync fails or is cancelled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection_id", help="the connection's id (a UUID)")
        parser.add_argument(
            "--wait", action="store_true", help="print progress until the sync ends"
        )
        parser.add_argument(
            "--inline", action="store_true", help="run the sync in this process, not a worker"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            help="stop following the run after this many seconds (the sync carries on)",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=1.0,
            help="seconds between looks at a followed run's progress (default 1)",
        )

    def handle(self, *args, **options) -> None:
        connection = connection_from_argument(options["connection_id"])
        if options["inline"]:
            run = self._run_inline(connection)
        else:
            run, created = sync_run_request(connection=connection)
            if created:
                self.stdout.write(f"Queued sync {run.pk} of {connection.name}.")
            else:
                self.stdout.write(
                    f"Sync {run.pk} of {connection.name} is already {run.status}; "
                    "not starting another."
                )
            if not options["wait"]:
                return
        if run.is_active:
            run = self._follow(run, timeout=options["timeout"], interval=options["poll_interval"])
        else:
            self._print_progress(run, {})
        self._print_result(run)

    def _run_inline(self, connection: ThreeCXConnection) -> SyncRun:
        run, _ = sync_run_request(connection=connection, enqueue=False)
        if run.status == SyncRun.Status.RUNNING:
            self.stdout.write(
                f"Sync {run.pk} of {connection.name} is already running ({run.worker}); "
                "following it."
            )
            return run
        # A queued run is claimed here; the worker that later receives its task leaves it be.
        self.stdout.write(f"Running sync {run.pk} of {connection.name} in this process.")
        worker = f"manage.py sync_directory on {socket.gethostname()} pid {os.getpid()}"
        return sync_run_execute(run_id=run.pk, worker=worker)

    def _follow(self, run: SyncRun, *, timeout: float | None, interval: float) -> SyncRun:
        """Poll the run's row, printing each kind's progress as it moves, until it ends."""
        deadline = None if timeout is None else time.monotonic() + timeout
        shown: dict[str, tuple] = {}
        while True:
            run.refresh_from_db()
            self._print_progress(run, shown)
            if not run.is_active:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise CommandError(
                    f"Sync {run.pk} is still {run.status} after {timeout:g} s; it carries on "
                    "without this command."
                )
            time.sleep(interval)

    def _print_progress(self, run: SyncRun, shown: dict[str, tuple]) -> None:
        """One line per kind whose progress changed since the last look."""
        rows, _ = sync_run_progress_rows(run)
        for row in sorted(rows, key=lambda row: list(EntryKind).index(row.kind)):
            fetched, total, done = row.fetched, row.total, row.done
            if not fetched and not done:
                continue
            if shown.get(row.kind) == (fetched, total, done):
                continue
            shown[row.kind] = (fetched, total, done)
            label = EntryKind(row.kind).label
            if row.unavailable:
                self.stdout.write(f"  {label}: not available on this version of 3CX")
                continue
            of_total = f" of {total}" if total is not None else " fetched"
            self.stdout.write(f"  {label}: {fetched}{of_total}{', done' if done else ''}")

    def _print_result(self, run: SyncRun) -> None:
        if run.status == SyncRun.Status.NEEDS_REVIEW:
            raise CommandError(
                f"Sync {run.pk} would remove {run.removed} entries, more than the connection "
                "allows without a review: an admin applies or discards it on the connection's "
                "page. The directory is as it was."
            )
        for warning in run.warnings:
            self.stderr.write(f"{warning['step']} could not be read: {warning['error']}")
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"Sync {run.pk} {run.status}: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sync {run.pk} succeeded: {run.added} added, {run.changed} changed, "
                f"{run.removed} removed."
            )
        )
