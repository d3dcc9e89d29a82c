"""Every answer carries a Content-Security-Policy and a Permissions-Policy; every answer to a
signed-in user is `no-store`, and no page needs the policy to allow inline code."""

import re

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
from dashboard.middleware import CONTENT_SECURITY_POLICY
from dashboard.storage.models import StorageBrowse
from integrations.threecx.models import ThreeCXConnection
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def connection(organization):
    connection = ThreeCXConnection(
        organization=organization, name="PBX", base_url="https://pbx.example.com", client_id="9"
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    DirectoryState.objects.create(connection=connection, generation=1, counts={"user": 1})
    DirectoryEntry.objects.create(
        organization=organization,
        connection=connection,
        kind=EntryKind.USER,
        external_id=7,
        generation_added=1,
        number="100",
        name="Ada Lovelace",
        content_hash="0",
    )
    return connection


@pytest.fixture
def tenant_urls(organization, connection):
    """A page, fragments and an export, each showing tenant data."""
    browse = StorageBrowse.objects.create(
        organization=organization, connection=connection, filesystem="Local"
    )
    directory = reverse("directory_list", args=[organization.pk, "users"])
    return {
        "page": (reverse("organization_home", args=[organization.pk]), {}),
        "listing fragment": (directory, {"HX-Request": "true", "HX-Target": "directory-results"}),
        "storage fragment": (
            reverse("storage_browse_status", args=[organization.pk, connection.pk, browse.pk]),
            HTMX,
        ),
        "export": (f"{directory}?format=csv", {}),
        "members": (reverse("member_list", args=[organization.pk]), {}),
    }


def test_pages_fragments_and_exports_of_tenant_data_are_never_stored(
    client_for, viewer, tenant_urls
):
    client = client_for(viewer)
    for name, (url, headers) in tenant_urls.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 200, name
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"no-store", "no-cache", "private"} <= cache_control, name
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, name
        assert "camera=()" in response["Permissions-Policy"], name


def test_the_policy_allows_no_inline_script_no_eval_and_no_inline_style():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"  # allauth's TOTP QR code is a data: image
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_a_post_answered_with_a_fragment_is_never_stored_either(
    client_for, viewer, organization, connection
):
    url = reverse("storage_browse", args=[organization.pk, connection.pk])
    response = client_for(viewer).post(url, {"filesystem": "Local"}, headers=HTMX)
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_anonymous_pages_and_redirects_carry_the_policies_too(client, organization):
    sign_in = client.get(reverse("account_login"))
    assert sign_in["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "geolocation=()" in sign_in["Permissions-Policy"]
    redirect = client.get(reverse("organization_home", args=[organization.pk]))
    assert redirect.status_code == 302
    assert redirect["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- what the policy forbids, in the pages as rendered ---------------------------------------

TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
EVENT_HANDLER = re.compile(r"\s(?:on[a-z]+|hx-on[:\-a-z]*)\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def inline_code(page: str) -> list[str]:
    """What a strict policy would block in `page`: inline scripts (JSON data blocks are
    inert), event handler attributes, hx-on, style attributes and elements, javascript: URLs."""
    found = []
    for attributes, body in SCRIPT.findall(page):
        if body.strip() and "application/json" not in attributes:
            found.append(f"inline script: {body.strip()[:60]}")
    for tag in TAG.findall(page):
        if EVENT_HANDLER.search(tag) or STYLE_ATTRIBUTE.search(tag):
            found.append(tag[:120])
    if re.search(r"<style\b", page, re.IGNORECASE):
        found.append("a <style> element")
    if re.search(r"javascript:", page, re.IGNORECASE):
        found.append("a javascript: URL")
    return found


def test_product_pages_as_rendered_have_no_inline_code(
    client_for, admin, organization, connection, tenant_urls
):
    client = client_for(admin)
    pages = [url for url, headers in tenant_urls.values() if not headers and "csv" not in url]
    pages += [
        reverse("storage_browser", args=[organization.pk, connection.pk])
        + "?filesystem=Local&path=%2F",
        reverse("connection_detail", args=[organization.pk, connection.pk]),
        reverse("connection_list", args=[organization.pk]),
        reverse("activity_list", args=[organization.pk]),
        reverse("organization_settings", args=[organization.pk]),
        reverse("directory_entry_detail", args=[organization.pk, connection.pk, "users", 7]),
        reverse("mfa_index"),
        reverse("account_email"),
        reverse("account_change_password"),
    ]
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_sign_in_sign_up_and_the_totp_set_up_with_its_qr_code_have_no_inline_code(client, viewer):
    for url in (reverse("account_login"), reverse("account_signup")):
        assert inline_code(client.get(url).content.decode()) == [], url
    client.force_login(viewer)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})  # as set-up asks
    totp = client.get(reverse("mfa_activate_totp"))
    assert totp.status_code == 200
    page = totp.content.decode()
    assert 'src="data:image/svg+xml' in page  # the QR code, allowed by img-src data:
    assert inline_code(page) == []
