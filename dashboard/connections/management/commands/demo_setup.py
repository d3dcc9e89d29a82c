"""Create (or refresh) the demo organisation and its owner, and print the login."""

import os
import secrets
import socket

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.accounts.models import User
from dashboard.directory.models import DirectoryState, EntryKind, SyncRun
from dashboard.directory.services import sync_run_request
from dashboard.directory.sync import sync_run_execute
from dashboard.tenants.models import Membership, Organization, Role
from dashboard.tenants.services import organization_create
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import SimulatorConfig

DEMO_EMAIL = "demo@example.com"
DEMO_ORGANIZATION = "Demo Company"
DEMO_CONNECTION = "Demo PBX (simulator)"


class Command(BaseCommand):
    help = "Create the demo organisation with an owner, set a fresh password and print the login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", help="Use this password instead of generating a new one.")
        parser.add_argument(
            "--simulator-url",
            default=f"http://127.0.0.1:{os.environ.get('SIMULATOR_PORT', '8765')}",
            help="Where the built-in 3CX simulator listens (see scripts/dev.py).",
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Sync the demo directory from the simulator (which must be running) before "
            "printing the login, so that the first page a newcomer sees has data.",
        )

    def handle(
        self, *args, email: str, password: str | None, simulator_url: str, sync: bool, **options
    ) -> None:
        password = password or secrets.token_urlsafe(12)
        user, organization, connection = self._set_up(email, password, simulator_url)
        if sync:  # after the commit: the sync writes in transactions of its own
            self.stdout.write(self._sync(connection, user))
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo login\n"
                f"    email:    {email}\n"
                f"    password: {password}\n"
                f"    organisation: {organization.name}\n"
                f"    3CX connection: {connection.name} -> {connection.base_url}\n"
            )
        )

    @transaction.atomic
    def _set_up(
        self, email: str, password: str, simulator_url: str
    ) -> tuple[User, Organization, ThreeCXConnection]:
        user, _ = User.objects.get_or_create(email=email, defaults={"first_name": "Demo"})
        user.set_password(password)
        user.save()
        # The demo owner never has to click a verification email.
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        organization = Organization.objects.filter(
            name=DEMO_ORGANIZATION, memberships__user=user, memberships__role=Role.OWNER
        ).first()
        if organization is None:
            organization = organization_create(name=DEMO_ORGANIZATION, owner=user)
        Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": Role.OWNER}
        )
        return user, organization, self._connect_simulator(organization, simulator_url)

    @staticmethod
    def _connect_simulator(organization: Organization, url: str) -> ThreeCXConnection:
        """The demo organisation's connection to the simulator, with its default credentials."""
        connection = ThreeCXConnection.objects.filter(
            organization=organization, name=DEMO_CONNECTION
        ).first() or ThreeCXConnection(organization=organization, name=DEMO_CONNECTION)
        connection.base_url = url
        connection.client_id = SimulatorConfig.client_id
        return connection_save(connection=connection, client_secret=SimulatorConfig.client_secret)

    def _sync(self, connection: ThreeCXConnection, user: User) -> str:
        """Sync the demo directory in this process; returns a line saying how it went.

        A failure does not stop the setup: the login still works and the connection's page
        says what went wrong and offers Sync now.
        """
        run, _ = sync_run_request(connection=connection, requested_by=user, enqueue=False)
        if run.status == SyncRun.Status.QUEUED:
            self.stdout.write(f"Syncing the demo directory from {connection.base_url} ...")
            worker = f"manage.py demo_setup on {socket.gethostname()} pid {os.getpid()}"
            run = sync_run_execute(run_id=run.pk, worker=worker)
        if run.is_active:
            return self.style.WARNING(f"  A sync of the demo directory is already {run.status}.\n")
        if run.status != SyncRun.Status.SUCCEEDED:
            return self.style.ERROR(
                f"  The demo directory could not be synced: {run.error}\n"
                "  Sign in all the same and press Sync now once the simulator runs.\n"
            )
        counts = DirectoryState.objects.get(connection=connection).counts
        summary = ", ".join(
            f"{counts[kind.value]:,} {_noun(kind.label, counts[kind.value])}"
            for kind in EntryKind
            if counts.get(kind.value)
        )
        return self.style.SUCCESS(f"  Demo directory synced: {summary}.\n")


def _noun(label: str, count: int) -> str:
    """ "Ring group" -> "ring groups", "IVR" -> "IVRs" (an abbreviation keeps its capitals)."""
    noun = label if label.isupper() else label.lower()
    return noun if count == 1 else f"{noun}s"
