"""Encryption at rest for 3CX secrets (client secrets, cached access tokens).

MultiFernet decrypts with any configured key and encrypts with the first, so keys can be
rotated: put the new key first, re-encrypt (`manage.py threecx_reencrypt_secrets`), then
remove the old one.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.threecx.errors import ThreeCXError


class SecretUnreadable(ThreeCXError):
    """A stored secret could not be decrypted with any configured key."""

    title = "Secret unreadable"


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.THREECX_SECRET_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet(tuple(settings.THREECX_SECRET_KEYS)).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with the keys in THREECX_SECRET_KEYS: "
            "was a key removed before re-encrypting? Enter the secret again."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key (a no-op in meaning, a change in bytes)."""
    try:
        return _fernet(tuple(settings.THREECX_SECRET_KEYS)).rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with any configured key."
        ) from None


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])
