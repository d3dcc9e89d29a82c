"""The provider roll-up: every organisation in one table, for provider staff only, at a
constant number of queries however many organisations there are."""

import re
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.directory.models import DirectoryState
from dashboard.reports.models import AuditState
from dashboard.tenants.models import Organization
from integrations.threecx.models import ThreeCXConnection
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

URL = reverse("reports:rollup")


def customer(name: str, *connections: dict) -> object:
    """An organisation whose connections' audits found what each dict says."""
    organization = OrganizationFactory(name=name)
    for number, fields in enumerate(connections):
        fields = dict(fields)
        connection = ThreeCXConnection(
            organization=organization,
            name=f"PBX {number}",
            base_url="https://pbx.example.com",
            client_id="900",
            version=fields.pop("version", "20.0.8.1"),
            last_error=fields.pop("last_error", ""),
        )
        connection.client_secret_set("not-a-real-secret")
        connection.save()
        DirectoryState.objects.create(
            connection=connection,
            generation=1,
            last_success_at=fields.pop("synced", timezone.now() - timedelta(hours=2)),
        )
        AuditState.objects.create(
            connection=connection,
            organization=organization,
            last_audit_at=timezone.now(),
            **fields,
        )
    return organization


def table(page: str) -> str:
    return page.split('<table class="table rollup">', 1)[-1]


def rows(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', page)


def test_only_provider_staff_see_it(client, client_for, owner, provider_staff):
    assert client.get(URL).status_code == 302  # to sign in
    assert client_for(owner).get(URL).status_code == 404
    page = client_for(provider_staff).get(URL)
    assert page.status_code == 200
    digest = reverse("reports:provider_digest_settings")
    assert f'<a href="{digest}">E-mail digest of all organisations</a>' in page.content.decode()


def test_provider_staff_get_a_link_to_it_in_the_top_bar(client_for, owner, provider_staff):
    home = reverse("organization_list")
    assert f'href="{URL}"' in client_for(provider_staff).get(home).content.decode()
    assert f'href="{URL}"' not in client_for(owner).get(home).content.decode()


def test_each_organisation_sums_its_connections_and_links_down(client_for, provider_staff):
    soon = timezone.now() + timedelta(days=5)
    acme = customer(
        "Acme",
        {"critical": 2, "high": 1, "worst_rule": "trunks.unregistered", "licence_expires_at": soon},
        {"medium": 4, "low": 1, "version": "20.0.9.2", "last_error": "Server error"},
    )
    customer("Calm Co")
    page = table(client_for(provider_staff).get(URL).content.decode())
    assert rows(page) == ["Acme", "Calm Co"]  # most critical first
    acme_row = page[page.index(">Acme<") : page.index(">Calm Co<")]
    report = reverse("reports:organization", args=[acme.pk])
    assert f'href="{report}?severity=critical">2</a>' in acme_row
    assert f'href="{report}?severity=medium">4</a>' in acme_row
    assert f'href="{report}?rule=trunks.unregistered">Trunks not registered</a>' in acme_row
    assert "20.0.8.1, 20.0.9.2" in acme_row
    assert f'href="{reverse("connection_list", args=[acme.pk])}">2</a>' in acme_row  # connections
    assert 'class="error"' in acme_row and ">1</a>" in acme_row  # one sync failure
    assert soon.strftime("%-d %b %Y") in acme_row


def test_it_filters_searches_and_sorts(client_for, provider_staff):
    customer("Alpha Dental", {"critical": 1})
    customer("Beta Law", {"high": 3})
    customer("Gamma Dental", {"low": 9}, {"low": 1, "last_error": "Timed out"})
    client = client_for(provider_staff)

    def names(**params) -> list[str]:
        return rows(client.get(URL, params).content.decode())

    assert names(q="dental") == ["Alpha Dental", "Gamma Dental"]
    assert names(having="critical") == ["Alpha Dental"]
    assert names(having="high") == ["Alpha Dental", "Beta Law"]
    assert names(having="failures") == ["Gamma Dental"]
    assert names(sort="name") == ["Alpha Dental", "Beta Law", "Gamma Dental"]
    assert names(sort="-low") == ["Gamma Dental", "Alpha Dental", "Beta Law"]
    assert names(sort="-connections")[0] == "Gamma Dental"
    assert "No organisations match" in client.get(URL, {"q": "zebra"}).content.decode()


def test_sorting_with_htmx_answers_the_table_and_a_bookmarkable_url(client_for, provider_staff):
    customer("Alpha")
    response = client_for(provider_staff).get(
        URL,
        {"sort": "name", "q": "al"},
        headers={"HX-Request": "true", "HX-Target": "rollup-results"},
    )
    assert "<html" not in response.content.decode()
    assert response["HX-Push-Url"] == f"{URL}?sort=name&q=al"


def test_it_pages_fifty_organisations_at_a_time(client_for, provider_staff):
    for number in range(51):
        OrganizationFactory(name=f"Customer {number:03}")
    client = client_for(provider_staff)
    first = client.get(URL, {"sort": "name"}).content.decode()
    assert len(rows(first)) == 50 and "1\u201350 of 51 organisations" in first
    assert rows(client.get(URL, {"sort": "name", "page": 2}).content.decode()) == ["Customer 050"]


def queries_for(client, count: int) -> int:
    """Queries of the roll-up once `count` organisations exist."""
    for number in range(Organization.objects.count(), count):
        customer(
            f"Org {number}", {"critical": number % 3, "worst_rule": "groups.empty"}, {"low": 1}
        )
    client.get(URL)  # the session, the MFA check and the like, once
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(URL)
    assert len(rows(table(response.content.decode()))) == count
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_organisations(client_for, provider_staff):
    client = client_for(provider_staff)
    few = queries_for(client, 3)
    many = queries_for(client, 30)
    assert few == many
