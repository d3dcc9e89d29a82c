"""Re-encrypt every stored 3CX client secret under the newest key in THREECX_SECRET_KEYS."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.threecx import crypto
from integrations.threecx.models import ThreeCXConnection


class Command(BaseCommand):
    help = (
        "After putting a new key first in THREECX_SECRET_KEYS, re-encrypt all client secrets "
        "under it; the old key can then be removed."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        count = 0
        failed = []
        for connection in ThreeCXConnection.objects.select_for_update().only(
            "pk", "name", "client_secret_encrypted"
        ):
            try:
                connection.client_secret_encrypted = crypto.rotate(
                    connection.client_secret_encrypted
                )
            except crypto.SecretUnreadable:
                failed.append(f"{connection.name} ({connection.pk})")
                continue
            connection.save(update_fields=["client_secret_encrypted"])
            count += 1
        if failed:
            raise CommandError(
                "These connections' secrets cannot be decrypted with any configured key, so "
                "nothing was changed: " + ", ".join(failed)
            )
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} connection secret(s)."))
