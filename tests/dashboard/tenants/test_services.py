from datetime import timedelta

import pytest
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from dashboard.tenants import services
from dashboard.tenants.models import Activity, Invitation, Membership, Role
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def a_request(user=None):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    request.user = user
    return request


def test_creating_an_organisation_makes_the_creator_its_owner_and_logs_it():
    user = UserFactory()
    organization = services.organization_create(name="  Acme  ", owner=user)
    assert organization.name == "Acme"
    assert Membership.objects.get(organization=organization, user=user).role == Role.OWNER
    entry = Activity.objects.get(organization=organization)
    assert (entry.action, entry.actor, entry.target_label) == ("organization.created", user, "Acme")


def test_the_last_owner_cannot_be_demoted(organization, owner):
    membership = Membership.objects.get(user=owner)
    with pytest.raises(services.MembershipError, match="last owner"):
        services.membership_role_change(membership=membership, actor=owner, role=Role.ADMIN)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_the_last_owner_cannot_be_removed(organization, owner):
    membership = Membership.objects.get(user=owner)
    with pytest.raises(services.MembershipError, match="last owner"):
        services.membership_remove(membership=membership, actor=owner)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_can_step_down_once_there_is_another_owner(organization, owner):
    MembershipFactory(organization=organization, role=Role.OWNER)
    membership = Membership.objects.get(user=owner)
    services.membership_role_change(membership=membership, actor=owner, role=Role.VIEWER)
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


def test_admins_cannot_make_or_unmake_owners(organization, owner, admin, viewer):
    with pytest.raises(services.MembershipError, match="Only owners"):
        services.membership_role_change(
            membership=Membership.objects.get(user=viewer), actor=admin, role=Role.OWNER
        )
    MembershipFactory(organization=organization, role=Role.OWNER)
    with pytest.raises(services.MembershipError, match="Only owners"):
        services.membership_remove(membership=Membership.objects.get(user=owner), actor=admin)


def test_a_role_change_is_logged_with_before_and_after(organization, owner, viewer):
    membership = Membership.objects.get(user=viewer)
    services.membership_role_change(
        membership=membership, actor=owner, role=Role.ADMIN, request=a_request(owner)
    )
    entry = Activity.objects.get(action="member.role_changed")
    assert entry.details == {"from": "viewer", "to": "admin"}
    assert entry.target_label == viewer.email
    assert entry.ip_address == "203.0.113.9"


def test_an_invitation_is_emailed_with_a_working_link(
    organization, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            organization=organization,
            actor=owner,
            email="New.Person@Example.com",
            role=Role.ADMIN,
            request=a_request(owner),
        )
    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert f"/invitations/{invitation.token}/" in message.body
    assert "Acme Telecom" in message.subject
    assert Activity.objects.filter(action="member.invited", target_label=invitation.email).exists()


def test_inviting_an_existing_member_is_refused(organization, owner, viewer):
    with pytest.raises(services.MembershipError, match="already a member"):
        services.invitation_create(
            organization=organization,
            actor=owner,
            email=viewer.email.upper(),
            role=Role.VIEWER,
            request=a_request(owner),
        )


def test_a_new_invitation_replaces_the_pending_one(organization, owner):
    first = InvitationFactory(organization=organization, email="x@example.com")
    services.invitation_create(
        organization=organization,
        actor=owner,
        email="x@example.com",
        role=Role.VIEWER,
        request=a_request(owner),
    )
    assert not Invitation.objects.filter(pk=first.pk).exists()
    assert Invitation.objects.filter(email="x@example.com").count() == 1


def test_accepting_an_invitation_makes_a_membership_once(organization):
    user = UserFactory(email="invitee@example.com")
    invitation = InvitationFactory(organization=organization, email=user.email, role=Role.ADMIN)
    membership = services.invitation_accept(token=invitation.token, user=user)
    assert membership.role == Role.ADMIN
    assert Activity.objects.filter(action="member.joined", actor=user).count() == 1
    with pytest.raises(services.InvitationError, match="already been used"):
        services.invitation_accept(token=invitation.token, user=user)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "has expired"),
        ({"email": "someone-else@example.com"}, "was sent to someone-else@example.com"),
        ({"accepted_at": timezone.now()}, "already been used"),
    ],
)
def test_unusable_invitations_say_why(organization, change, message):
    user = UserFactory(email="invitee@example.com")
    invitation = InvitationFactory(organization=organization, **{"email": user.email, **change})
    with pytest.raises(services.InvitationError, match=message):
        services.invitation_accept(token=invitation.token, user=user)
    assert not Membership.objects.filter(user=user).exists()


def test_an_unknown_token_says_the_link_is_not_valid():
    with pytest.raises(services.InvitationError, match="not valid"):
        services.invitation_accept(token="nope", user=UserFactory())


def test_sign_in_is_logged_in_every_organisation_of_the_user(organization, viewer):
    other = MembershipFactory(user=viewer, role=Role.ADMIN).organization
    services.activity_record_sign_in(user=viewer, request=a_request(viewer))
    logged = set(
        Activity.objects.filter(action="user.signed_in").values_list("organization", flat=True)
    )
    assert logged == {organization.pk, other.pk}


def test_recording_an_unknown_action_is_a_programming_error(organization):
    from dashboard.tenants.activity import activity_record

    with pytest.raises(ValueError, match="ACTION_LABELS"):
        activity_record(organization=organization, actor=None, action="made.up")
