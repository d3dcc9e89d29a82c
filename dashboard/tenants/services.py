"""Everything that changes organisations, memberships and invitations.

Each service checks its own business rules (such as "an organisation keeps an owner") and
records what it did in the activity log; views only translate requests into these calls.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dashboard.tenants.activity import activity_record
from dashboard.tenants.models import Invitation, Membership, Organization, Role
from dashboard.tenants.selectors import owner_count
from dashboard.validators import control_characters_replace

logger = logging.getLogger(__name__)


class MembershipError(Exception):
    """A membership change that the organisation's rules forbid; the message is for people."""


class InvitationError(Exception):
    """An invitation link that cannot be used; the message says why and what to do."""


class InvitationEmailFailed(Exception):
    """The invitation email could not be sent, so no invitation was made; the message says so."""


@transaction.atomic
def organization_create(
    *, name: str, owner: object, request: HttpRequest | None = None
) -> Organization:
    organization = Organization.objects.create(name=name.strip())
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    activity_record(
        organization=organization,
        actor=owner,
        action="organization.created",
        target=organization,
        request=request,
    )
    return organization


@transaction.atomic
def organization_update(
    *,
    organization: Organization,
    actor: object,
    name: str,
    require_mfa: bool,
    xapi_writes_enabled: bool | None = None,
    request: HttpRequest | None = None,
) -> Organization:
    """Save the settings that changed and log them; `xapi_writes_enabled` None keeps it."""
    if xapi_writes_enabled is None:
        xapi_writes_enabled = organization.xapi_writes_enabled
    changes = {}
    if organization.name != name:
        changes["name"] = [organization.name, name]
    if organization.require_mfa != require_mfa:
        changes["require_mfa"] = [organization.require_mfa, require_mfa]
    if organization.xapi_writes_enabled != xapi_writes_enabled:
        changes["xapi_writes_enabled"] = [organization.xapi_writes_enabled, xapi_writes_enabled]
    if not changes:
        return organization
    organization.name = name
    organization.require_mfa = require_mfa
    organization.xapi_writes_enabled = xapi_writes_enabled
    organization.save(update_fields=["name", "require_mfa", "xapi_writes_enabled"])
    activity_record(
        organization=organization,
        actor=actor,
        action="organization.updated",
        target=organization,
        details={"changes": changes},
        request=request,
    )
    return organization


@transaction.atomic
def membership_role_change(
    *, membership: Membership, actor: object, role: Role, request: HttpRequest | None = None
) -> Membership:
    # Lock the organisation's memberships so two admins demoting the last two owners at the
    # same moment cannot leave it without one.
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if role == Role.OWNER or membership.role == Role.OWNER:
        _require_owner(
            actor, membership.organization, "Only owners can grant or take away the owner role."
        )
    if membership.role == Role.OWNER and owner_count(organization=membership.organization) == 1:
        raise MembershipError(
            "This is the organisation's last owner. Make another member an owner first."
        )
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    activity_record(
        organization=membership.organization,
        actor=actor,
        action="member.role_changed",
        target=membership,
        target_label=membership.user.email,
        details={"from": previous, "to": role},
        request=request,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, membership: Membership, actor: object, request: HttpRequest | None = None
) -> None:
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership.refresh_from_db()
    if membership.role == Role.OWNER:
        _require_owner(actor, membership.organization, "Only owners can remove an owner.")
        if owner_count(organization=membership.organization) == 1:
            raise MembershipError(
                "This is the organisation's last owner and cannot be removed. "
                "Make another member an owner first."
            )
    activity_record(
        organization=membership.organization,
        actor=actor,
        action="member.removed",
        target=membership,
        target_label=membership.user.email,
        details={"role": membership.role},
        request=request,
    )
    membership.delete()


def _require_owner(actor: object, organization: Organization, message: str) -> None:
    if not Membership.objects.filter(
        organization=organization, user=actor, role=Role.OWNER
    ).exists():
        raise MembershipError(message)


@transaction.atomic
def invitation_create(
    *, organization: Organization, actor: object, email: str, role: Role, request: HttpRequest
) -> Invitation:
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise MembershipError(f"{email} is already a member of {organization.name}.")
    if role == Role.OWNER:
        _require_owner(actor, organization, "Only owners can invite another owner.")
    # A new invitation replaces any pending one, so only the latest link works.
    Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True
    ).delete()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    activity_record(
        organization=organization,
        actor=actor,
        action="member.invited",
        target=invitation,
        target_label=email,
        details={"role": role},
        request=request,
    )
    accept_url = request.build_absolute_uri(reverse("invitation_accept", args=[invitation.token]))
    message = _invitation_email(invitation=invitation, accept_url=accept_url, inviter=actor)
    # Sent inside the transaction: if sending fails, the invitation and its log entry roll
    # back with it, so there is never an invitation nobody was told about.
    try:
        message.send()
    except (OSError, ValueError) as exc:  # SMTP and socket errors; BadHeaderError
        logger.warning("Invitation email to %s failed: %r", email, exc)
        raise InvitationEmailFailed(
            f"The invitation email to {email} could not be sent, so no invitation was made. "
            "Try again in a few minutes; if it keeps failing, tell whoever runs the dashboard "
            "that outgoing email is not working."
        ) from exc
    return invitation


def _invitation_email(*, invitation: Invitation, accept_url: str, inviter: object) -> EmailMessage:
    context = {"invitation": invitation, "accept_url": accept_url, "inviter": inviter}
    # Names saved before control characters were refused could still hold a line break,
    # which no header may carry.
    organization_name = control_characters_replace(invitation.organization.name)
    return EmailMessage(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}You are invited to {organization_name}",
        body=render_to_string("tenants/email/invitation.txt", context),
        to=[invitation.email],
    )


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, actor: object, request: HttpRequest | None = None
) -> None:
    activity_record(
        organization=invitation.organization,
        actor=actor,
        action="member.invitation_revoked",
        target=invitation,
        target_label=invitation.email,
        request=request,
    )
    invitation.delete()


def invitation_check(*, invitation: Invitation | None, user: object) -> None:
    """Raise InvitationError with a message a person can act on if the link is unusable."""
    if invitation is None:
        raise InvitationError(
            "This invitation link is not valid. Check that you copied the whole link, "
            "or ask the person who invited you to send a new one."
        )
    if invitation.accepted_at is not None:
        raise InvitationError(
            "This invitation has already been used. Ask an admin of the organisation "
            "for a new one if you still need access."
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationError(
            "This invitation has expired. Ask an admin of the organisation to invite you again."
        )
    if invitation.email.lower() != user.email.lower():
        raise InvitationError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and sign in (or sign up) with the invited address."
        )


@transaction.atomic
def invitation_accept(
    *, token: str, user: object, request: HttpRequest | None = None
) -> Membership:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token=token)
        .first()
    )
    invitation_check(invitation=invitation, user=user)
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        activity_record(
            organization=invitation.organization,
            actor=user,
            action="member.joined",
            target=membership,
            target_label=user.email,
            details={"role": membership.role},
            request=request,
        )
    return membership


def activity_record_sign_in(*, user: object, request: HttpRequest | None) -> None:
    """Sign-in is recorded in every organisation the user belongs to, for their admins."""
    for membership in Membership.objects.filter(user=user).select_related("organization"):
        activity_record(
            organization=membership.organization,
            actor=user,
            action="user.signed_in",
            request=request,
        )
