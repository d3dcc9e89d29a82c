"""Create (or refresh) the demo organisation and its owner, and print the login."""

import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.accounts.models import User
from dashboard.tenants.models import Membership, Organization, Role
from dashboard.tenants.services import organization_create

DEMO_EMAIL = "demo@example.com"
DEMO_ORGANIZATION = "Demo Company"


class Command(BaseCommand):
    help = "Create the demo organisation with an owner, set a fresh password and print the login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", help="Use this password instead of generating a new one.")

    @transaction.atomic
    def handle(self, *args, email: str, password: str | None, **options) -> None:
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
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo login\n"
                f"    email:    {email}\n"
                f"    password: {password}\n"
                f"    organisation: {organization.name}\n"
            )
        )
