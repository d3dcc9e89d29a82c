"""What management commands share about their arguments."""

import uuid

from django.core.management.base import CommandError

from integrations.threecx.models import ThreeCXConnection


def connection_from_argument(value: str) -> ThreeCXConnection:
    """The connection a command names by id (with its organisation), or a CommandError that
    says what is wrong with the argument."""
    try:
        pk = uuid.UUID(value)
    except ValueError:
        raise CommandError(
            f"{value!r} is not a connection id: expected a UUID such as "
            "6f1c2a9e-0b4d-4c8e-9a57-3d2f1e0c4b6a."
        ) from None
    connection = ThreeCXConnection.objects.select_related("organization").filter(pk=pk).first()
    if connection is None:
        raise CommandError(f"There is no 3CX connection with id {pk}.")
    return connection
