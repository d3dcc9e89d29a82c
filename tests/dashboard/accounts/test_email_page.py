"""The account's email page offers only what can be done to each address."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_single_verified_address_has_no_stray_controls(client_for, viewer):
    page = client_for(viewer).get(reverse("account_email")).text
    assert viewer.email in page and "Primary" in page
    for control in ('type="radio"', "action_primary", "action_send", "action_remove"):
        assert control not in page
    assert 'name="action_add"' in page
    assert "css/app.css" in page  # the product's layout


def test_a_second_address_can_be_verified_again_or_removed(client_for, viewer):
    EmailAddress.objects.create(user=viewer, email="second@example.com", verified=False)
    client = client_for(viewer)
    page = client.get(reverse("account_email")).text
    assert 'value="second@example.com"' in page
    assert "action_send" in page and "action_remove" in page
    assert "action_primary" not in page  # an unverified address cannot become primary
    response = client.post(
        reverse("account_email"), {"email": "second@example.com", "action_remove": ""}
    )
    assert response.status_code == 302
    assert not EmailAddress.objects.filter(email="second@example.com").exists()


def test_a_verified_second_address_can_become_primary(client_for, viewer):
    EmailAddress.objects.create(user=viewer, email="second@example.com", verified=True)
    client = client_for(viewer)
    assert "action_primary" in client.get(reverse("account_email")).text
    client.post(reverse("account_email"), {"email": "second@example.com", "action_primary": ""})
    assert EmailAddress.objects.get(email="second@example.com").primary
