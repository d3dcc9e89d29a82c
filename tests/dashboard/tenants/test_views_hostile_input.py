"""No query string makes the activity log or the member list fail."""

import html

import pytest
from django.urls import reverse

from tests.factories import ActivityFactory
from tests.hostile import HOSTILE_VALUES, RAW_QUERY_STRINGS, everywhere

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def urls(organization):
    for number in range(60):  # more than a page
        ActivityFactory(
            organization=organization,
            actor_label=f"person{number % 3}@example.com",
            action="member.invited",
            target_label=f"target {number}",
        )
    return [
        reverse("activity_list", args=[organization.pk]),
        reverse("member_list", args=[organization.pk]),
    ]


@pytest.mark.parametrize(("name", "value"), HOSTILE_VALUES, ids=[n for n, _ in HOSTILE_VALUES])
def test_a_hostile_value_in_every_parameter_never_fails(client_for, admin, urls, name, value):
    client = client_for(admin)
    for url in urls:
        assert client.get(url, everywhere(value)).status_code == 200, url
        assert client.get(url, everywhere(value), headers=HTMX).status_code == 200, url
        for parameter in ("actor", "action", "page"):
            assert client.get(url, {parameter: value}).status_code == 200, (url, parameter)


@pytest.mark.parametrize(
    ("name", "query"), RAW_QUERY_STRINGS, ids=[n for n, _ in RAW_QUERY_STRINGS]
)
def test_a_malformed_query_string_never_fails(client_for, admin, urls, name, query):
    client = client_for(admin)
    for url in urls:
        assert client.get(f"{url}?{query}").status_code == 200, url


def test_a_control_character_in_a_filter_is_refused_with_a_message(client_for, admin, urls):
    response = client_for(admin).get(urls[0], {"actor": "person1@example.com\x00"})
    assert response.status_code == 200
    assert "is not someone in this log" in html.unescape(response.text)
    assert "target 59" in response.text  # the filter is ignored, not the log


def test_the_pages_of_the_log_keep_the_filters(client_for, admin, urls):
    response = client_for(admin).get(urls[0], {"action": "member.invited"})
    assert 'href="?action=member.invited&amp;page=2"' in response.text
