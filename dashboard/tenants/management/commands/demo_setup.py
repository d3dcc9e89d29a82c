"""Create (or refresh) the demo organisation and its owner, and print the login."""

import os
import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.accounts.models import User
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
            help="Where the built-in 3CX simulator listens (see Procfile.dev).",
        )

    @transaction.atomic
    def handle(
        self, *args, email: str, password: str | None, simulator_url: str, **options
    ) -> None:
        password = password or secrets.token_urlsafe(12)
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
        connection = self._connect_simulator(organization, simulator_url)
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo login\n"
                f"    email:    {email}\n"
                f"    password: {password}\n"
                f"    organisation: {organization.name}\n"
                f"    3CX connection: {connection.name} -> {connection.base_url}\n"
            )
        )

    @staticmethod
    def _connect_simulator(organization: Organization, url: str) -> ThreeCXConnection:
        """The demo organisation's connection to the simulator, with its default credentials."""
        connection = ThreeCXConnection.objects.filter(
            organization=organization, name=DEMO_CONNECTION
        ).first() or ThreeCXConnection(organization=organization, name=DEMO_CONNECTION)
        connection.base_url = url
        connection.client_id = SimulatorConfig.client_id
        return connection_save(connection=connection, client_secret=SimulatorConfig.client_secret)
