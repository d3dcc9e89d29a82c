"""Create (or refresh) the demo organisations, their owner and a provider-staff user, and print
the logins.

Three organisations, each with a connection to a simulator of its own (scripts/dev.py starts
them): the simulator issues one token per client id, so two connections sharing one simulator
would keep revoking each other's tokens. One simulator runs an older 3CX version, so that the
fleet has a newest version to be behind.
"""

import os
import secrets
import socket
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

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
PROVIDER_EMAIL = "provider@example.com"
#: How many recovery codes the login block shows (each signs in once instead of a TOTP code).
RECOVERY_CODES_SHOWN = 3


@dataclass(frozen=True)
class DemoOrganization:
    name: str
    connection: str
    #: Who owns it; the other organisations' owners never sign in (unusable passwords).
    owner: str


#: The first is the demo login's own; its simulator is --simulator-url (or SIMULATOR_PORT),
#: the others' are the ports after it unless --simulator-url names them too.
DEMO_ORGANIZATIONS = (
    DemoOrganization(DEMO_ORGANIZATION, DEMO_CONNECTION, DEMO_EMAIL),
    DemoOrganization(
        "Northwind Dental", "Northwind head office (simulator)", "it@northwind.example"
    ),
    DemoOrganization("Contoso Logistics", "Contoso warehouse (simulator)", "it@contoso.example"),
)


def _default_simulator_urls() -> list[str]:
    port = int(os.environ.get("SIMULATOR_PORT", "8765"))
    return [f"http://127.0.0.1:{port + offset}" for offset in range(len(DEMO_ORGANIZATIONS))]


class Command(BaseCommand):
    help = (
        "Create the demo organisations with their owners and a provider-staff user, set fresh "
        "passwords and print the logins."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", help="Use this password instead of generating a new one.")
        parser.add_argument(
            "--provider-password",
            help="The provider-staff user's password instead of a generated one.",
        )
        parser.add_argument(
            "--simulator-url",
            action="append",
            dest="simulator_urls",
            metavar="URL",
            help="Where a 3CX simulator listens, once per demo organisation in order (Demo "
            "Company, Northwind Dental, Contoso Logistics); those left out are at the ports "
            "after SIMULATOR_PORT (8765, 8766, 8767; see scripts/dev.py).",
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Sync and audit every demo directory from its simulator (which must be "
            "running) before printing the logins, so that the first page a newcomer sees has "
            "data and findings.",
        )
        parser.add_argument(
            "--totp-code",
            action="store_true",
            help="Only print the provider-staff user's current authenticator code.",
        )

    def handle(
        self,
        *args,
        email: str,
        password: str | None,
        provider_password: str | None,
        simulator_urls: list[str] | None,
        sync: bool,
        totp_code: bool,
        **options,
    ) -> None:
        if totp_code:
            self.stdout.write(_totp_code_now(_provider_totp_secret()))
            return
        urls = list(simulator_urls or [])
        urls += _default_simulator_urls()[len(urls) :]
        password = password or secrets.token_urlsafe(12)
        provider_password = provider_password or secrets.token_urlsafe(12)
        user, connections = self._organizations_set_up(email, password, urls)
        provider = self._provider_set_up(provider_password)
        if sync:  # after the commit: the sync and the audit write in transactions of their own
            synced = [c for c in connections if self._sync(c, user)]
            # Audits after every sync: "version behind the fleet" compares with every
            # connection's version, which a connection learns when it syncs.
            for connection in synced:
                self.stdout.write(self._audit(connection))
        demo = connections[0]
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo login (owner of the demo organisation)\n"
                f"    email:    {email}\n"
                f"    password: {password}\n"
                f"    organisation: {demo.organization.name}\n"
                f"    3CX connection: {demo.name} -> {demo.base_url}\n"
            )
        )
        self.stdout.write(self.style.SUCCESS(self._provider_login(provider, provider_password)))

    # --- the organisations -------------------------------------------------------------------

    @transaction.atomic
    def _organizations_set_up(
        self, email: str, password: str, urls: list[str]
    ) -> tuple[User, list[ThreeCXConnection]]:
        user = _user_verified(email, first_name="Demo")
        user.set_password(password)
        user.save()
        connections = []
        for demo, url in zip(DEMO_ORGANIZATIONS, urls, strict=False):
            if demo.owner == DEMO_EMAIL:
                owner = user
            else:
                owner = _user_verified(demo.owner)
                if owner.has_usable_password():
                    owner.set_unusable_password()
                    owner.save()
            organization = self._organization(demo.name, owner)
            connections.append(self._connect_simulator(organization, demo.connection, url))
        return user, connections

    @staticmethod
    def _organization(name: str, owner: User) -> Organization:
        organization = Organization.objects.filter(
            name=name, memberships__user=owner, memberships__role=Role.OWNER
        ).first()
        if organization is None:
            organization = organization_create(name=name, owner=owner)
        Membership.objects.get_or_create(
            organization=organization, user=owner, defaults={"role": Role.OWNER}
        )
        return organization

    @staticmethod
    def _connect_simulator(organization: Organization, name: str, url: str) -> ThreeCXConnection:
        """The organisation's connection to its simulator, with the default credentials."""
        connection = ThreeCXConnection.objects.filter(
            organization=organization, name=name
        ).first() or ThreeCXConnection(organization=organization, name=name)
        connection.base_url = url
        connection.client_id = SimulatorConfig.client_id
        return connection_save(connection=connection, client_secret=SimulatorConfig.client_secret)

    # --- the provider-staff user -------------------------------------------------------------

    @transaction.atomic
    def _provider_set_up(self, password: str) -> User:
        """Provider staff must use MFA (tenants.selectors.user_requires_mfa), so the demo sets
        up an authenticator for them: a TOTP secret kept across runs (so that an authenticator
        app it was added to keeps working) and recovery codes."""
        provider = _user_verified(PROVIDER_EMAIL, first_name="Provider")
        provider.is_provider_staff = True
        provider.set_password(password)
        provider.save()
        if not Authenticator.objects.filter(user=provider, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(provider, generate_totp_secret())
        codes = RecoveryCodes.activate(provider)
        if len(codes.get_unused_codes()) < RECOVERY_CODES_SHOWN:
            codes.instance.delete()
            RecoveryCodes.activate(provider)
        return provider

    @staticmethod
    def _provider_login(provider: User, password: str) -> str:
        secret = _provider_totp_secret()
        codes = RecoveryCodes.activate(provider).get_unused_codes()[:RECOVERY_CODES_SHOWN]
        organizations = ", ".join(
            Organization.objects.order_by("name").values_list("name", flat=True)
        )
        return (
            "\n  Provider-staff login (every organisation, and the roll-up at /reports/)\n"
            f"    email:    {provider.email}\n"
            f"    password: {password}\n"
            "    then the authenticator code, one of:\n"
            f"      a one-time recovery code: {', '.join(codes)}\n"
            "      the current code: DJANGO_DEBUG=true .venv/bin/python manage.py demo_setup "
            "--totp-code\n"
            f"      an authenticator app with the key {secret} (TOTP, 6 digits, 30 seconds)\n"
            f"    organisations: {organizations}\n"
        )

    # --- sync and audit ----------------------------------------------------------------------

    def _sync(self, connection: ThreeCXConnection, user: User) -> bool:
        """Sync a demo directory in this process, say how it went; True when it succeeded.

        A failure does not stop the setup: the logins still work and the connection's page
        says what went wrong and offers Sync now.
        """
        name = _demo_name(connection)
        subject = "the demo directory" if name == "Demo" else f"{name}'s directory"
        run, _ = sync_run_request(connection=connection, requested_by=user, enqueue=False)
        if run.status == SyncRun.Status.QUEUED:
            self.stdout.write(f"Syncing {subject} from {connection.base_url} ...")
            run = sync_run_execute(run_id=run.pk, worker=_worker())
        if run.is_active:
            self.stdout.write(self.style.WARNING(f"  A sync of {subject} is already {run.status}."))
            return False
        if run.status != SyncRun.Status.SUCCEEDED:
            self.stdout.write(
                self.style.ERROR(
                    f"  {subject[0].upper()}{subject[1:]} could not be synced: {run.error}\n"
                    "  Sign in all the same and press Sync now once the simulator runs."
                )
            )
            return False
        counts = DirectoryState.objects.get(connection=connection).counts
        summary = ", ".join(
            f"{counts[kind.value]:,} {_noun(kind.label, counts[kind.value])}"
            for kind in EntryKind
            if counts.get(kind.value)
        )
        self.stdout.write(self.style.SUCCESS(f"  {name} directory synced: {summary}."))
        return True

    def _audit(self, connection: ThreeCXConnection) -> str:
        """Audit a synced demo directory in this process; a line saying what it found."""
        from dashboard.reports.models import AuditRun, Finding, Severity
        from dashboard.reports.services import audit_run_execute, audit_run_request

        label = f"{_demo_name(connection)} audit"
        run = audit_run_request(connection=connection, trigger=AuditRun.Trigger.SYNC)
        if run.status == AuditRun.Status.QUEUED:
            run = audit_run_execute(run_id=run.pk, worker=_worker())
        if run.status != AuditRun.Status.SUCCEEDED:
            reason = run.error or f"the audit is {run.status}"
            return self.style.WARNING(f"  {label}: not done ({reason}); Re-run audit on its page.")
        by_severity = dict(
            Finding.objects.filter(connection=connection, resolved_at__isnull=True)
            .values_list("severity")
            .annotate(count=Count("id"))
        )
        total = sum(by_severity.values())
        parts = ", ".join(
            f"{by_severity[severity]:,} {severity.label.lower()}"
            for severity in Severity
            if by_severity.get(severity)
        )
        skipped = len(run.rules_skipped or [])
        rules = f"{len(run.rules_run or []):,} rules ran" + (
            f", {skipped} skipped" if skipped else ""
        )
        findings = f"{total:,} finding{'s' if total != 1 else ''}" + (
            f" ({parts})" if parts else ""
        )
        return self.style.SUCCESS(f"  {label}: {findings}; {rules}.")


def _user_verified(email: str, **defaults: str) -> User:
    """The user with this email, created if need be, whose address needs no verification."""
    user, _ = User.objects.get_or_create(email=email, defaults=defaults)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _provider_totp_secret() -> str:
    authenticator = Authenticator.objects.filter(
        user__email=PROVIDER_EMAIL, type=Authenticator.Type.TOTP
    ).first()
    if authenticator is None:
        raise CommandError("No provider-staff demo user yet: run demo_setup first.")
    return decrypt(authenticator.data["secret"])


def _totp_code_now(secret: str) -> str:
    """What an authenticator app with `secret` shows now (allauth's own computation)."""
    from allauth.mfa import app_settings

    counter = int(timezone.now().timestamp()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def _demo_name(connection: ThreeCXConnection) -> str:
    name = connection.organization.name
    return "Demo" if name == DEMO_ORGANIZATION else name


def _worker() -> str:
    return f"manage.py demo_setup on {socket.gethostname()} pid {os.getpid()}"


def _noun(label: str, count: int) -> str:
    """ "Ring group" -> "ring groups", "DID number" -> "DID numbers", "IVR" -> "IVRs" (an
    abbreviation keeps its capitals)."""
    noun = " ".join(word if word.isupper() else word.lower() for word in label.split())
    return noun if count == 1 else f"{noun}s"
