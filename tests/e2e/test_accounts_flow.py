"""A person's first steps, in a real browser: sign up, sign in, invite, change roles."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from dashboard.tenants.models import Membership
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_user_signs_up_verifies_email_and_creates_an_organisation(
    page, live_server, mailoutbox, screenshot
):
    sign_up(page, live_server, "newcomer@example.com")
    verify_email(page, live_server, mailoutbox, "newcomer@example.com")

    expect(page).to_have_url(re.compile(r"/orgs/new/$"))
    expect(page.get_by_role("heading", name="New organisation")).to_be_visible()

    page.get_by_label("Name").fill("Acme Telecom")
    page.get_by_role("button", name="Create organisation").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Telecom")
    expect(page.get_by_role("heading", name="Connect your first 3CX server")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Acme Telecom is ready")
    screenshot(page, "organisation-home")


def test_a_verified_user_signs_in(page, live_server, organization, screenshot):
    user = UserFactory(email="someone@example.com")
    MembershipFactory(organization=organization, user=user, role="viewer")
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "sign-in")

    sign_in(page, live_server, "someone@example.com")

    expect(page).to_have_url(re.compile(rf"/orgs/{organization.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Telecom")


def test_an_owner_invites_a_colleague_who_accepts(
    page, new_page, live_server, mailoutbox, organization, owner, screenshot
):
    sign_in(page, live_server, owner.email)
    page.get_by_role("link", name="Members").click()
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email address").fill("colleague@example.com")
    invite.get_by_label("Role").select_option(label="Viewer")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to colleague@example.com")

    invitation_url = link_in(email_to(mailoutbox, "colleague@example.com"), live_server)
    colleague = new_page()
    sign_up(colleague, live_server, "colleague@example.com")
    verify_email(colleague, live_server, mailoutbox, "colleague@example.com")
    colleague.goto(invitation_url)
    expect(colleague.get_by_role("heading", name="Join Acme Telecom")).to_be_visible()
    colleague.get_by_role("button", name="Accept invitation").click()

    expect(colleague).to_have_url(re.compile(rf"/orgs/{organization.pk}/$"))
    expect(colleague.get_by_role("status")).to_contain_text("Welcome to Acme Telecom.")
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Acme Telecom")

    page.reload()
    row = member_row(page, "colleague@example.com")
    expect(row.get_by_label("Role of colleague@example.com")).to_have_value("viewer")
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    screenshot(page, "members")


def test_a_viewer_cannot_change_roles(page, live_server, organization, owner, viewer):
    sign_in(page, live_server, viewer.email)
    page.goto(f"{live_server.url}/orgs/{organization.pk}/members/")

    expect(member_row(page, owner.email)).to_contain_text("Owner")
    expect(member_row(page, viewer.email)).to_contain_text("Viewer")
    expect(page.locator("select")).to_have_count(0)
    expect(page.get_by_role("link", name="Remove…")).to_have_count(0)
    expect(page.get_by_role("heading", name="Invite someone")).to_have_count(0)

    membership = Membership.objects.get(organization=organization, user=owner)
    response = page.request.post(
        f"{live_server.url}/orgs/{organization.pk}/members/{membership.pk}/role/",
        form={"role": "viewer"},
        headers={"X-CSRFToken": csrf_token(page)},
    )
    assert response.status == 403
    # Django's CSRF failure is a 403 too; this one must come from the role check.
    assert "This needs the admin role or higher." in response.text()
    page.reload()
    expect(member_row(page, owner.email)).to_contain_text("Owner")


def test_an_invitation_is_revoked_after_confirming(page, live_server, organization, owner):
    sign_in(page, live_server, owner.email)
    page.get_by_role("link", name="Members").click()
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email address").fill("leaving@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to leaving@example.com")

    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm, not an inline onclick
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("was revoked")
    expect(page.get_by_text("No pending invitations.")).to_be_visible()


def test_an_admin_changes_a_role_inline_with_htmx(page, live_server, organization, owner):
    colleague = MembershipFactory(organization=organization, role="viewer").user
    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server.url}/orgs/{organization.pk}/members/")
    # A full page load would wipe this; an htmx swap leaves it alone.
    page.evaluate("window.pageLoadMarker = 'still the same page'")

    page.get_by_label(f"Role of {colleague.email}").select_option(label="Admin")

    row = member_row(page, colleague.email)
    expect(row.get_by_role("status")).to_have_text("Saved")
    expect(row.get_by_label(f"Role of {colleague.email}")).to_have_value("admin")
    assert page.evaluate("window.pageLoadMarker") == "still the same page"

    page.get_by_label(f"Role of {owner.email}").select_option(label="Viewer")

    row = member_row(page, owner.email)
    expect(row.get_by_role("alert")).to_contain_text("last owner")
    expect(row.get_by_label(f"Role of {owner.email}")).to_have_value("owner")
    assert page.evaluate("window.pageLoadMarker") == "still the same page"


def sign_up(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()


def verify_email(page: Page, live_server: LiveServer, outbox: list, email: str) -> None:
    """Open the confirmation link from the verification email and confirm, which signs in."""
    page.goto(link_in(email_to(outbox, email), live_server))
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".usermenu summary")).to_have_text(email)


def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".usermenu summary")).to_have_text(email)


def email_to(outbox: list, address: str) -> mail.EmailMessage:
    """The latest email sent to `address`."""
    sent = [message for message in outbox if address in message.to]
    assert sent, f"no email to {address}; outbox has {[m.subject for m in outbox]}"
    return sent[-1]


def link_in(message: mail.EmailMessage, live_server: LiveServer) -> str:
    """The email's link, pointed at the live server.

    Outside DEBUG, allauth writes https links; the live server only speaks http.
    """
    match = re.search(r"https?://\S+", message.body)
    assert match, f"no link in {message.subject!r}"
    parts = urlsplit(match.group())
    return f"{live_server.url}{parts.path}"


def member_row(page: Page, email: str) -> Locator:
    return page.locator("tbody tr").filter(has_text=email)


def csrf_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
