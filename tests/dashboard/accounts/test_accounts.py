import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from dashboard.accounts.models import User
from dashboard.tenants.models import Activity
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sign_up_needs_email_verification_before_sign_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "Confirm" in mail.outbox[0].subject
    user = User.objects.get(email="new@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    client.logout()
    blocked = sign_in(client, "new@example.com")
    assert blocked["Location"] == reverse("account_email_verification_sent")
    assert not client.session.get("_auth_user_id")


def test_users_have_no_username_and_sign_in_by_email(client, organization, viewer):
    response = sign_in(client, viewer.email.upper())
    assert response["Location"] == reverse("home")
    assert int(client.session["_auth_user_id"]) == viewer.pk


def test_sign_in_is_recorded_in_the_activity_log(client, organization, viewer):
    sign_in(client, viewer.email, password=PASSWORD)
    entry = Activity.objects.get(organization=organization, action="user.signed_in")
    assert entry.actor == viewer
    assert entry.ip_address == "127.0.0.1"


def test_repeated_failed_sign_ins_are_rate_limited(client, organization, viewer):
    statuses = [sign_in(client, viewer.email, "wrong").status_code for _ in range(7)]
    response = sign_in(client, viewer.email, "wrong")
    assert statuses[0] == 200
    assert "Too many failed login attempts" in response.text


def test_password_reset_sends_a_link(client, viewer):
    client.post(reverse("account_reset_password"), {"email": viewer.email})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


class TestMfaPolicy:
    @pytest.fixture
    def strict_organization(self):
        return OrganizationFactory(require_mfa=True)

    def test_members_without_mfa_are_sent_to_set_it_up(self, client, strict_organization):
        user = MembershipFactory(organization=strict_organization).user
        sign_in(client, user.email)
        response = client.get(reverse("organization_home", args=[strict_organization.pk]))
        assert response["Location"] == reverse("mfa_activate_totp")
        # allauth asks for the password again before MFA changes; that page must stay open.
        confirm = client.get(reverse("mfa_activate_totp"), follow=True)
        assert confirm.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
        set_up = client.post(confirm.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
        assert set_up.redirect_chain[-1][0] == reverse("mfa_activate_totp")
        assert "Authenticator" in set_up.text

    def test_htmx_requests_are_redirected_as_a_whole_page(self, client_for, strict_organization):
        user = MembershipFactory(organization=strict_organization).user
        response = client_for(user).get(
            reverse("member_list", args=[strict_organization.pk]), headers={"HX-Request": "true"}
        )
        assert response["HX-Redirect"] == reverse("mfa_activate_totp")

    def test_members_with_mfa_go_through(self, client_for, strict_organization):
        user = MembershipFactory(organization=strict_organization).user
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
        response = client_for(user).get(reverse("organization_home", args=[strict_organization.pk]))
        assert response.status_code == 200

    def test_organisations_without_the_policy_do_not_ask(self, client_for, organization, viewer):
        response = client_for(viewer).get(reverse("organization_home", args=[organization.pk]))
        assert response.status_code == 200

    def test_sign_out_stays_reachable(self, client_for, strict_organization):
        user = MembershipFactory(organization=strict_organization).user
        assert client_for(user).get(reverse("account_logout")).status_code == 200


class TestMfaPolicyForStaff:
    """Staff see tenant data across organisations, so they need MFA in every one of them."""

    @pytest.mark.parametrize("require_mfa", [True, False])
    def test_provider_staff_without_mfa_see_no_tenant_data(self, client_for, require_mfa):
        organization = OrganizationFactory(require_mfa=require_mfa)
        client = client_for(UserFactory(is_provider_staff=True))
        for url in (
            reverse("organization_home", args=[organization.pk]),
            reverse("organization_list"),
            reverse("directory_list", args=[organization.pk, "users"]) + "?format=csv",
        ):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"] == reverse("mfa_activate_totp"), url

    def test_htmx_requests_of_provider_staff_are_redirected_as_a_whole_page(self, client_for):
        organization = OrganizationFactory(require_mfa=True)
        response = client_for(UserFactory(is_provider_staff=True)).get(
            reverse("member_list", args=[organization.pk]), headers={"HX-Request": "true"}
        )
        assert response["HX-Redirect"] == reverse("mfa_activate_totp")

    def test_provider_staff_with_mfa_export_as_members_do(self, client_for):
        organization = OrganizationFactory(require_mfa=True)
        client = client_for(UserFactory(is_provider_staff=True, mfa=True))
        url = reverse("directory_list", args=[organization.pk, "users"])
        assert client.get(url, {"format": "csv"}).status_code == 200

    def test_django_staff_without_mfa_cannot_open_the_admin(self, client_for):
        superuser = UserFactory(is_staff=True, is_superuser=True)
        response = client_for(superuser).get(reverse("admin:tenants_organization_changelist"))
        assert response["Location"] == reverse("mfa_activate_totp")


def test_allauth_pages_use_the_product_layout(client):
    page = client.get(reverse("account_login"))
    assert "css/app.css" in page.text
    assert "3CX Dashboard" in page.text
    assert "htmx" in page.text and "cdn" not in page.text.lower()


def test_creating_a_user_requires_an_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user(email="")
    assert UserFactory(email="Mixed@Example.COM").email == "Mixed@Example.COM"
