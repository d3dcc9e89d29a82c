"""Listings larger than a person pages through: counted and paged up to the first 1,000."""

import re

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
from dashboard.directory.selectors import PAGE_DEPTH
from tests.dashboard.directory.test_listing_queries import connection_of, fill

pytestmark = pytest.mark.django_db

CONTACTS = 2 * PAGE_DEPTH


@pytest.fixture
def big(organization):
    connection = connection_of(organization)
    fill(connection, EntryKind.CONTACT, CONTACTS)
    DirectoryState.objects.filter(connection=connection).update(
        counts={EntryKind.CONTACT: CONTACTS}
    )
    return connection


def get(client, organization, **params):
    url = reverse("directory_list", kwargs={"org_id": organization.pk, "kind": "contacts"})
    return client.get(url, params).content.decode()


def test_an_unfiltered_list_shows_its_total_and_pages_through_the_first_thousand(
    client_for, viewer, organization, big
):
    client = client_for(viewer)
    assert "1\N{EN DASH}50 of 2,000 contacts" in get(client, organization)
    last = get(client, organization, page="9999")
    assert "951\N{EN DASH}1000 of 2,000 contacts" in last and "Page 20 of 20" in last
    assert "Only the first 1,000 can be paged through" in last


def test_a_filter_with_more_matches_counts_to_a_thousand(client_for, viewer, organization, big):
    page = get(client_for(viewer), organization, entry_type="CRM", per_page="100")
    assert "1\N{EN DASH}100 of 1,000 contacts matching" in page
    page = get(client_for(viewer), organization, has_email="yes", sort="-name")
    assert "1\N{EN DASH}50 of more than 1,000 contacts matching" in page
    names = re.findall(r"<bdi>(Contact \d+)</bdi></a>", page)
    expected = DirectoryEntry.objects.exclude(email="").order_by("-name", "-pk")[:50]
    assert names == [e.name for e in expected]


def test_a_search_with_more_matches_sorts_a_thousand_of_them_and_says_so(
    client_for, viewer, organization, big
):
    page = get(client_for(viewer), organization, q="contact", page="20")
    assert "951\N{EN DASH}1000 of more than 1,000 contacts matching" in page
    assert "these pages hold 1,000 of them" in page
    names = re.findall(r"<bdi>(Contact \d+)</bdi></a>", page)
    assert names == sorted(names) and len(names) == 50


def test_a_narrow_search_is_counted_exactly_and_sorted_over_every_match(
    client_for, viewer, organization, big
):
    page = get(client_for(viewer), organization, q="contact 10", sort="-name")
    expected = [
        e
        for e in DirectoryEntry.objects.order_by("-name", "-pk")
        if re.search(r"(^|\s)10", f"{e.number} {e.name} {e.email}")
    ]
    assert 50 < len(expected) < PAGE_DEPTH
    assert f"of {len(expected)} contacts matching" in page
    assert re.findall(r"<bdi>(Contact \d+)</bdi></a>", page) == [e.name for e in expected[:50]]
