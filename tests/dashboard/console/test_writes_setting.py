"""The organisation setting that turns writes through the console off, where owners and
admins edit the organisation's settings."""

import re

import pytest
from django.urls import reverse

from dashboard.tenants.models import Activity

pytestmark = pytest.mark.django_db


def test_admins_turn_writes_off_and_the_change_is_logged(client_for, organization, admin):
    url = reverse("organization_settings", args=[organization.pk])
    client = client_for(admin)
    page = client.get(url)
    assert "<legend>Allow changes through the XAPI console</legend>" in page.text
    assert re.search(r'value="on"[^>]* checked', page.text)
    client.post(url, {"name": "Acme Telecom", "xapi_writes_enabled": "off"})
    organization.refresh_from_db()
    assert organization.xapi_writes_enabled is False
    entry = Activity.objects.get(action="organization.updated")
    assert entry.details == {"changes": {"xapi_writes_enabled": [True, False]}}
    assert re.search(r'value="off"[^>]* checked', client.get(url).text)


def test_a_form_posted_without_the_setting_leaves_it_as_it_was(client_for, organization, admin):
    organization.xapi_writes_enabled = False
    organization.save()
    url = reverse("organization_settings", args=[organization.pk])
    client_for(admin).post(url, {"name": "Acme Telecom", "require_mfa": "on"})
    organization.refresh_from_db()
    assert organization.require_mfa is True
    assert organization.xapi_writes_enabled is False


def test_an_unknown_value_is_refused_with_the_choices(client_for, organization, admin):
    url = reverse("organization_settings", args=[organization.pk])
    response = client_for(admin).post(url, {"name": "Acme Telecom", "xapi_writes_enabled": "x"})
    assert "Select a valid choice." in response.text
    organization.refresh_from_db()
    assert organization.xapi_writes_enabled is True
