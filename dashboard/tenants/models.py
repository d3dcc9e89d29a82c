"""Organisations (tenants), who belongs to them, invitations and the activity log."""

import secrets
import uuid

from django.conf import settings
from django.db import models

from dashboard.tenants.actions import ACTION_LABELS


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


#: Higher ranks include the rights of lower ones.
ROLE_RANK = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    require_mfa = models.BooleanField(
        "members must use two-factor authentication",
        default=False,
        help_text="Members without an authenticator app are sent to set one up first.",
    )
    xapi_writes_enabled = models.BooleanField(
        "allow changes through the XAPI console",
        default=True,
        help_text=(
            "Admins may send operations that change a PBX (create, update, delete, actions) "
            "from the XAPI console, each after a confirmation and on record in the activity "
            "log. Off: the console only reads."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


def _new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token = models.CharField(max_length=64, unique=True, default=_new_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "accepted_at"])]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organization}"


class Activity(models.Model):
    """One entry of an organisation's audit trail. Every feature records here."""

    id = models.BigAutoField(primary_key=True)
    #: None for what provider staff do across organisations (an export of the roll-up of
    #: them all): no organisation's log shows it; the admin's activity list does.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text so the log still says who acted after the account is deleted.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "action"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)
