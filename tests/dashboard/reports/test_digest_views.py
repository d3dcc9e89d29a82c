"""Opting in to and out of the digests, for each role."""

import re

import pytest
from django.urls import reverse

from dashboard.reports.models import DigestSubscription
from dashboard.tenants.models import Activity

pytestmark = pytest.mark.django_db


def settings_url(organization) -> str:
    return reverse("reports:digest_settings", args=[organization.pk])


PROVIDER_URL = "/reports/digest/"


@pytest.mark.parametrize("role", ["viewer", "admin", "owner"])
def test_any_member_opts_in_for_themselves(client_for, organization, role, request):
    member = request.getfixturevalue(role)
    client = client_for(member)

    response = client.post(settings_url(organization), {"frequency": "daily"}, follow=True)

    assert response.status_code == 200
    assert f"You will get a daily audit digest of Acme Telecom at {member.email}." in response.text
    subscription = DigestSubscription.objects.get(user=member)
    assert (subscription.organization, subscription.frequency) == (organization, "daily")
    assert Activity.objects.filter(
        organization=organization, action="reports.digest_changed", actor=member
    ).exists()


def test_the_page_shows_the_current_choice(client_for, organization, viewer):
    DigestSubscription.objects.create(user=viewer, organization=organization, frequency="weekly")
    response = client_for(viewer).get(settings_url(organization))
    assert response.status_code == 200
    assert "You get it <strong>weekly</strong>" in response.text
    [checked] = re.findall(r'<input type="radio"[^>]*checked[^>]*>', response.text)
    assert 'value="weekly"' in checked


def test_changing_frequency_keeps_one_subscription(client_for, organization, viewer):
    client = client_for(viewer)
    client.post(settings_url(organization), {"frequency": "daily"})
    client.post(settings_url(organization), {"frequency": "weekly"})
    assert list(DigestSubscription.objects.values_list("frequency", flat=True)) == ["weekly"]


def test_opting_out_removes_the_subscription(client_for, organization, viewer):
    DigestSubscription.objects.create(user=viewer, organization=organization, frequency="weekly")
    response = client_for(viewer).post(
        settings_url(organization), {"frequency": "off"}, follow=True
    )
    assert "You will no longer get the audit digest of Acme Telecom." in response.text
    assert not DigestSubscription.objects.exists()


def test_one_members_choice_leaves_the_others_alone(client_for, organization, viewer, admin):
    DigestSubscription.objects.create(user=admin, organization=organization, frequency="daily")
    client_for(viewer).post(settings_url(organization), {"frequency": "off"})
    assert DigestSubscription.objects.filter(user=admin).exists()


def test_a_frequency_that_does_not_exist_is_refused(client_for, organization, viewer):
    response = client_for(viewer).post(settings_url(organization), {"frequency": "hourly"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not DigestSubscription.objects.exists()


def test_outsiders_get_404(client_for, organization, outsider):
    client = client_for(outsider)
    assert client.get(settings_url(organization)).status_code == 404
    assert client.post(settings_url(organization), {"frequency": "daily"}).status_code == 404
    assert not DigestSubscription.objects.exists()


def test_provider_staff_read_the_organisation_page_but_subscribe_to_the_provider_digest(
    client_for, organization, provider_staff
):
    client = client_for(provider_staff)
    response = client.get(settings_url(organization))
    assert response.status_code == 200
    assert PROVIDER_URL in response.text
    assert client.post(settings_url(organization), {"frequency": "daily"}).status_code == 403
    assert not DigestSubscription.objects.exists()


def test_provider_staff_opt_in_to_the_provider_digest(client_for, provider_staff):
    client = client_for(provider_staff)
    assert reverse("reports:provider_digest_settings") == PROVIDER_URL
    response = client.post(PROVIDER_URL, {"frequency": "weekly"}, follow=True)
    assert "You will get a weekly audit digest of every organisation" in response.text
    subscription = DigestSubscription.objects.get(user=provider_staff)
    assert subscription.organization is None
    client.post(PROVIDER_URL, {"frequency": "off"})
    assert not DigestSubscription.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_the_provider_digest_page_is_404_for_members(client_for, role, request):
    client = client_for(request.getfixturevalue(role))
    assert client.get(PROVIDER_URL).status_code == 404
    assert client.post(PROVIDER_URL, {"frequency": "daily"}).status_code == 404
    assert not DigestSubscription.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, organization):
    for url in (settings_url(organization), PROVIDER_URL):
        assert client.post(url, {"frequency": "daily"}).status_code == 302
    assert not DigestSubscription.objects.exists()


def test_the_form_needs_csrf(organization, viewer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    assert client.post(settings_url(organization), {"frequency": "daily"}).status_code == 403
    assert not DigestSubscription.objects.exists()
