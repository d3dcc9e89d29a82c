from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from dashboard.tenants.models import Activity, Invitation, Membership, Organization, Role
from tests.factories import ActivityFactory, InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def members_url(organization):
    return reverse("member_list", args=[organization.pk])


def role_url(membership):
    return reverse("member_role_change", args=[membership.organization_id, membership.pk])


class TestHome:
    def test_a_user_without_organisations_is_asked_to_create_one(self, client_for):
        response = client_for(UserFactory()).get(reverse("home"))
        assert response["Location"] == reverse("organization_create")

    def test_a_user_with_one_organisation_goes_straight_to_it(
        self, client_for, organization, viewer
    ):
        response = client_for(viewer).get(reverse("home"))
        assert response["Location"] == reverse("organization_home", args=[organization.pk])

    def test_the_last_organisation_visited_is_remembered(self, client_for, organization, viewer):
        second = MembershipFactory(user=viewer).organization
        client = client_for(viewer)
        assert client.get(reverse("home"))["Location"] == reverse("organization_list")
        client.get(reverse("organization_home", args=[second.pk]))
        assert client.get(reverse("home"))["Location"] == reverse(
            "organization_home", args=[second.pk]
        )

    def test_the_switcher_lists_only_the_users_organisations(
        self, client_for, organization, viewer, outsider
    ):
        page = client_for(viewer).get(reverse("organization_home", args=[organization.pk]))
        assert "Acme Telecom" in page.text
        assert "Other Co" not in page.text

    def test_provider_staff_see_every_organisation(self, client_for, organization, outsider):
        staff = UserFactory(is_provider_staff=True, mfa=True)
        page = client_for(staff).get(reverse("organization_list"))
        assert "Acme Telecom" in page.text and "Other Co" in page.text
        home = client_for(staff).get(reverse("organization_home", args=[organization.pk]))
        assert "Provider view (read-only)" in home.text


class TestCreateOrganisation:
    def test_it_creates_the_organisation_and_opens_it(self, client_for):
        user = UserFactory()
        response = client_for(user).post(reverse("organization_create"), {"name": "Globex"})
        organization = Organization.objects.get(name="Globex")
        assert response["Location"] == reverse("organization_home", args=[organization.pk])
        assert organization.memberships.get().user == user

    def test_a_blank_name_is_refused_next_to_the_field(self, client_for):
        response = client_for(UserFactory()).post(reverse("organization_create"), {"name": "   "})
        assert response.status_code == 200
        assert "This field is required." in response.text
        assert not Organization.objects.exists()

    def test_the_empty_home_says_what_to_do_next(self, client_for, organization, owner):
        page = client_for(owner).get(reverse("organization_home", args=[organization.pk]))
        assert "Connect your first 3CX server" in page.text
        assert "Integrations &rsaquo; API" in page.text


class TestOrganisationNames:
    @pytest.mark.parametrize("name", ["Acme\r\nBcc: x@example.com", "Acme\x00", "Acme\x1b[31m"])
    def test_control_characters_are_refused_when_creating(self, client_for, name):
        response = client_for(UserFactory()).post(reverse("organization_create"), {"name": name})
        assert response.status_code == 200
        assert "Name contains a" in response.text
        assert not Organization.objects.exists()

    def test_a_line_break_is_refused_when_renaming(self, client_for, organization, admin):
        response = client_for(admin).post(
            reverse("organization_settings", args=[organization.pk]),
            {"name": "Acme\nTelecom"},
        )
        assert response.status_code == 200
        assert "Name contains a line break" in response.text
        organization.refresh_from_db()
        assert organization.name == "Acme Telecom"


class TestMembers:
    def test_viewers_see_roles_as_text_without_controls(self, client_for, organization, viewer):
        page = client_for(viewer).get(members_url(organization))
        assert page.status_code == 200
        assert "<select" not in page.text
        assert "Invite someone" not in page.text

    def test_admins_change_a_role_inline(self, client_for, organization, admin, viewer):
        membership = Membership.objects.get(user=viewer)
        response = client_for(admin).post(
            role_url(membership), {"role": "admin"}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith(f'<tr id="member-{membership.pk}"')
        assert "Saved" in response.text
        membership.refresh_from_db()
        assert membership.role == Role.ADMIN

    def test_demoting_the_last_owner_shows_the_reason_in_the_row(
        self, client_for, organization, owner
    ):
        membership = Membership.objects.get(user=owner)
        response = client_for(owner).post(
            role_url(membership), {"role": "viewer"}, headers={"HX-Request": "true"}
        )
        assert "last owner" in response.text
        assert '<option value="owner" selected>' in response.text
        membership.refresh_from_db()
        assert membership.role == Role.OWNER

    def test_an_unknown_role_is_refused(self, client_for, organization, admin, viewer):
        membership = Membership.objects.get(user=viewer)
        response = client_for(admin).post(role_url(membership), {"role": "god"})
        assert response.status_code == 302
        membership.refresh_from_db()
        assert membership.role == Role.VIEWER

    def test_without_javascript_a_role_change_redirects_with_a_message(
        self, client_for, organization, admin, viewer
    ):
        membership = Membership.objects.get(user=viewer)
        response = client_for(admin).post(role_url(membership), {"role": "admin"}, follow=True)
        assert f"{viewer.email} is now Admin." in response.text

    def test_removing_asks_for_confirmation_first(self, client_for, organization, admin, viewer):
        membership = Membership.objects.get(user=viewer)
        url = reverse("member_remove", args=[organization.pk, membership.pk])
        client = client_for(admin)
        confirm = client.get(url)
        assert f"Remove {viewer.email}?" in confirm.text
        assert Membership.objects.filter(pk=membership.pk).exists()
        client.post(url)
        assert not Membership.objects.filter(pk=membership.pk).exists()
        assert Activity.objects.filter(action="member.removed", target_label=viewer.email).exists()

    def test_the_last_owner_cannot_be_removed(self, client_for, organization, owner):
        membership = Membership.objects.get(user=owner)
        url = reverse("member_remove", args=[organization.pk, membership.pk])
        response = client_for(owner).post(url, follow=True)
        assert "last owner" in response.text
        assert Membership.objects.filter(pk=membership.pk).exists()

    def test_inviting_a_bad_address_keeps_what_was_typed(self, client_for, organization, admin):
        response = client_for(admin).post(
            members_url(organization), {"email": "not-an-email", "role": "viewer"}
        )
        assert "Enter a valid email address." in response.text
        assert 'value="not-an-email"' in response.text
        assert not Invitation.objects.exists()

    def test_admins_cannot_invite_owners(self, client_for, organization, admin):
        response = client_for(admin).post(
            members_url(organization), {"email": "boss@example.com", "role": "owner"}
        )
        assert "Select a valid choice." in response.text
        assert not Invitation.objects.exists()

    def test_inviting_sends_the_email_and_lists_it_as_pending(
        self, client_for, organization, owner, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(owner).post(
                members_url(organization),
                {"email": "new@example.com", "role": "admin"},
                follow=True,
            )
        assert "Invitation sent to new@example.com." in response.text
        assert "Pending invitations" in response.text
        assert len(mailoutbox) == 1

    def test_revoking_an_invitation_kills_the_link(self, client_for, organization, admin):
        invitation = InvitationFactory(organization=organization)
        client_for(admin).post(reverse("invitation_revoke", args=[organization.pk, invitation.pk]))
        assert not Invitation.objects.filter(pk=invitation.pk).exists()


class BrokenMailServer(BaseEmailBackend):
    """An email backend whose server hangs up, as an SMTP relay that is down does."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


class TestInvitationEmail:
    def test_a_failing_mail_server_leaves_no_invitation_behind(
        self, client_for, organization, owner, settings
    ):
        settings.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
        response = client_for(owner).post(
            members_url(organization), {"email": "new@example.com", "role": "viewer"}
        )
        assert response.status_code == 200
        assert "could not be sent, so no invitation was made" in response.text
        assert 'value="new@example.com"' in response.text
        assert not Invitation.objects.exists()
        assert not Activity.objects.filter(action="member.invited").exists()

    def test_a_stored_name_with_a_line_break_still_gets_its_invitation_sent(
        self, client_for, organization, owner, mailoutbox
    ):
        # Saved before names refused control characters.
        Organization.objects.filter(pk=organization.pk).update(name="Acme\r\nBcc: x@example.com")
        response = client_for(owner).post(
            members_url(organization), {"email": "new@example.com", "role": "viewer"}
        )
        assert response.status_code == 302
        [message] = mailoutbox
        assert message.subject.endswith("You are invited to Acme  Bcc: x@example.com")
        assert message.to == ["new@example.com"]
        assert Invitation.objects.filter(email="new@example.com").exists()

    def test_an_address_with_a_control_character_is_refused_naming_the_field(
        self, client_for, organization, owner
    ):
        response = client_for(owner).post(
            members_url(organization), {"email": "new\x00@example.com", "role": "viewer"}
        )
        assert response.status_code == 200
        assert "Email address contains a control character" in response.text
        assert not Invitation.objects.exists()


class TestInvitationLinks:
    def test_anonymous_visitors_sign_in_first_and_come_back(self, client, organization):
        invitation = InvitationFactory(organization=organization)
        url = reverse("invitation_accept", args=[invitation.token])
        response = client.get(url)
        assert response["Location"] == f"{reverse('account_login')}?next={url}"

    def test_the_invited_user_joins(self, client_for, organization):
        user = UserFactory()
        invitation = InvitationFactory(organization=organization, email=user.email)
        url = reverse("invitation_accept", args=[invitation.token])
        client = client_for(user)
        assert "Join Acme Telecom" in client.get(url).text
        response = client.post(url)
        assert response["Location"] == reverse("organization_home", args=[organization.pk])
        assert Membership.objects.filter(organization=organization, user=user).exists()

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"expires_at": timezone.now() - timedelta(days=1)}, "This invitation has expired"),
            ({"accepted_at": timezone.now()}, "already been used"),
            ({"email": "other@example.com"}, "was sent to other@example.com"),
        ],
    )
    def test_unusable_links_explain_themselves(self, client_for, organization, change, message):
        user = UserFactory()
        invitation = InvitationFactory(organization=organization, **{"email": user.email, **change})
        client = client_for(user)
        url = reverse("invitation_accept", args=[invitation.token])
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 400
            assert message in response.text
        assert not Membership.objects.filter(user=user).exists()

    def test_a_garbled_link_is_not_valid(self, client_for):
        response = client_for(UserFactory()).get(reverse("invitation_accept", args=["garbage"]))
        assert response.status_code == 400
        assert "This invitation link is not valid" in response.text

    def test_a_link_with_control_characters_is_not_found_rather_than_failing(self, client_for):
        client = client_for(UserFactory())
        for method in (client.get, client.post):
            assert method("/invitations/abc%00def/").status_code == 404


class TestSettingsAndActivity:
    def test_admins_turn_on_the_mfa_policy(self, client_for, organization, admin):
        url = reverse("organization_settings", args=[organization.pk])
        client_for(admin).post(url, {"name": "Acme Telecom", "require_mfa": "on"})
        organization.refresh_from_db()
        assert organization.require_mfa
        entry = Activity.objects.get(action="organization.updated")
        assert entry.details == {"changes": {"require_mfa": [False, True]}}

    def test_a_blank_name_keeps_the_old_one(self, client_for, organization, admin):
        url = reverse("organization_settings", args=[organization.pk])
        response = client_for(admin).post(url, {"name": ""})
        assert "This field is required." in response.text
        organization.refresh_from_db()
        assert organization.name == "Acme Telecom"

    def test_viewers_cannot_open_settings_or_activity(self, client_for, organization, viewer):
        client = client_for(viewer)
        assert (
            client.get(reverse("organization_settings", args=[organization.pk])).status_code == 403
        )
        assert client.get(reverse("activity_list", args=[organization.pk])).status_code == 403

    def test_the_log_filters_by_actor_and_action(self, client_for, organization, admin):
        ActivityFactory(
            organization=organization,
            actor_label="a@example.com",
            action="member.invited",
            target_label="first-target",
        )
        ActivityFactory(
            organization=organization,
            actor_label="b@example.com",
            action="member.removed",
            target_label="second-target",
        )
        ActivityFactory(actor_label="a@example.com", target_label="other-org-target")
        client = client_for(admin)
        url = reverse("activity_list", args=[organization.pk])
        everything = client.get(url)
        assert "first-target" in everything.text and "second-target" in everything.text
        assert "other-org-target" not in everything.text
        by_actor = client.get(url, {"actor": "a@example.com"}, headers={"HX-Request": "true"})
        assert "first-target" in by_actor.text and "second-target" not in by_actor.text
        assert "<html" not in by_actor.text
        assert by_actor["Vary"].count("HX-Request") == 1
        by_action = client.get(url, {"action": "member.removed"})
        assert "second-target" in by_action.text and "first-target" not in by_action.text

    def test_an_unknown_filter_value_says_nothing_matches(self, client_for, organization, admin):
        ActivityFactory(organization=organization, target_label="first-target")
        url = reverse("activity_list", args=[organization.pk])
        response = client_for(admin).get(url, {"action": "bogus"})
        assert response.status_code == 200
        assert "“bogus” is not an action of this log: pick one from the list." in response.text


def test_the_last_owner_has_no_remove_button(client_for, organization, owner):
    page = client_for(owner).get(members_url(organization))
    assert "Last owner" in page.text
    assert "Remove…" not in page.text


def test_forbidden_pages_say_why(client_for, organization, viewer):
    page = client_for(viewer).get(reverse("organization_settings", args=[organization.pk]))
    assert page.status_code == 403
    assert "This needs the admin role or higher." in page.text


def test_missing_pages_use_the_product_layout(client_for, outsider, organization):
    page = client_for(outsider).get(reverse("organization_home", args=[organization.pk]))
    assert page.status_code == 404
    assert "belongs to an organisation you are not a member of" in page.text
