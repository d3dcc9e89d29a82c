"""A tenant's connection to one 3CX server."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.views.decorators.debug import sensitive_variables

from integrations.threecx import crypto
from integrations.threecx.certificates import ca_certificates_validate


class ThreeCXConnection(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="threecx_connections"
    )
    name = models.CharField(max_length=100)
    base_url = models.CharField(
        "server address",
        max_length=255,
        help_text="For example https://pbx.example.com or https://pbx.example.com:5001",
    )
    client_id = models.CharField(
        "client ID", max_length=100, help_text="The API client's ID (a number such as 900)."
    )
    # Never read this directly: use client_secret_get() / client_secret_set().
    client_secret_encrypted = models.TextField(editable=False)
    verify_tls = models.BooleanField(
        "verify TLS certificate",
        default=True,
        help_text="Turn off only for a server with a self-signed certificate on a trusted network.",
    )
    tls_ca_certificates = models.TextField(
        "CA certificate",
        blank=True,
        validators=[ca_certificates_validate],
        help_text=(
            "For a server whose certificate comes from a private CA: the CA's certificate in PEM "
            "(-----BEGIN CERTIFICATE-----). When set, only it is trusted for this server."
        ),
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        "request timeout (seconds)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(300)],
    )
    phone_region = models.CharField(
        "default country for phone numbers",
        max_length=2,
        default="US",
        help_text=(
            'Numbers written without a country code ("020 7946 0000") are read as numbers of '
            "this country when the audit checks them."
        ),
    )
    enabled = models.BooleanField(default=True)
    last_error = models.TextField(blank=True)
    #: Set when the last error was permanent (bad credentials, forbidden): scheduled work
    #: stops calling this server until the connection is edited or tested successfully.
    last_error_permanent = models.BooleanField(default=False)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    version = models.CharField("3CX version", max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="unique_connection_name_per_organization"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ThreeCXConnection {self.pk} {self.name!r} {self.base_url}>"

    @sensitive_variables("plaintext")
    def client_secret_set(self, plaintext: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(plaintext)

    def client_secret_get(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted)

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)
