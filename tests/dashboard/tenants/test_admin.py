import pytest
from django.urls import reverse

from dashboard.tenants.models import Organization
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_refuses_organisation_names_with_a_line_break(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, mfa=True))
    response = client.post(
        reverse("admin:tenants_organization_add"),
        {
            "name": "Acme\r\nBcc: x@example.com",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Name contains a line break" in response.text
    assert not Organization.objects.exists()
