"""One directory entry: its fields, memberships and routing both ways, history, raw JSON."""

import json
import re
from html import unescape

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, DirectoryRelation, EntryKind
from tests.dashboard.directory.test_views_listing import sync, visible

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(simulator, connection_to):
    connection = connection_to(simulator)
    sync(connection)
    return connection


def detail_url(entry: DirectoryEntry, slug: str) -> str:
    return reverse(
        "directory_entry_detail",
        kwargs={
            "org_id": entry.organization_id,
            "connection_id": entry.connection_id,
            "kind": slug,
            "external_id": entry.external_id,
        },
    )


def section(page: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by `heading_id`."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', page, re.S)
    assert match, heading_id
    return match.group(0)


def special_user(connection, name: str) -> DirectoryEntry:
    return visible(connection).filter(name=name).order_by("number")[0]


def test_a_user_page_shows_every_field_and_the_raw_json(client_for, viewer, synced):
    ada = special_user(synced, "Ada Lovelace")
    response = client_for(viewer).get(detail_url(ada, "users"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1><bdi>Ada Lovelace</bdi></h1>" in page
    fields = section(page, "fields-heading")
    for name in ("FirstName", "EmailAddress", "Require2FA", "Groups"):
        assert f"<code>{name}</code>" in fields
    raw = re.search(r"<summary>Show the JSON from 3CX</summary>\s*<pre>(.*?)</pre>", page, re.S)
    assert json.loads(unescape(raw.group(1)))["EmailAddress"] == ada.email


def test_secrets_are_never_shown_even_if_one_was_stored(client_for, viewer, synced):
    ada = special_user(synced, "Ada Lovelace")
    DirectoryEntry.objects.filter(pk=ada.pk).update(
        data={
            **ada.data,
            "AuthPassword": "hunter2-top",
            "VMPIN": "424242",
            "Phones": [{"Name": "Desk", "AccessPassword": "nested-secret"}],
        }
    )
    page = client_for(viewer).get(detail_url(ada, "users")).content.decode()
    for secret in ("hunter2-top", "424242", "nested-secret", "AuthPassword", "VMPIN"):
        assert secret not in page
    assert "Desk" in page


def test_a_queue_shows_its_agents_and_flags_missing_and_disabled_ones(client_for, viewer, synced):
    client = client_for(viewer)
    pages = {
        queue.number: section(
            client.get(detail_url(queue, "queues")).content.decode(), "links-heading"
        )
        for queue in visible(synced, EntryKind.QUEUE)
    }
    first, second = pages[min(pages)], pages[sorted(pages)[1]]
    zoe = special_user(synced, "Zoë Müller")  # disabled, yet an agent of the first queue
    assert f'href="{detail_url(zoe, "users")}"' in first
    assert "Disabled" in first
    # The second queue still points at an extension nobody has any more.
    assert "No such extension in the directory" in second
    assert "No such extension" not in first


def test_a_user_page_shows_departments_and_the_queues_and_ivrs_that_route_to_it(
    client_for, viewer, synced
):
    ada = special_user(synced, "Ada Lovelace")
    links = section(
        client_for(viewer).get(detail_url(ada, "users")).content.decode(), "links-heading"
    )
    default = visible(synced, EntryKind.GROUP).get(name="DEFAULT")
    assert f'href="{detail_url(default, "departments")}"' in links
    routed_by = [
        relation.source
        for relation in DirectoryRelation.objects.filter(
            connection=synced, target_number=ada.number, source__in=visible(synced, None)
        ).select_related("source")
    ]
    assert routed_by
    for source in routed_by:
        assert source.name in unescape(links)
    assert "Target of IVR" in links and "Key 0" in links


def test_a_department_page_lists_its_members(client_for, viewer, synced):
    default = visible(synced, EntryKind.GROUP).get(name="DEFAULT")
    links = section(
        client_for(viewer).get(detail_url(default, "departments")).content.decode(),
        "links-heading",
    )
    ada = special_user(synced, "Ada Lovelace")
    assert f'href="{detail_url(ada, "users")}"' in links


def test_an_ivr_shows_where_calls_go_and_which_target_is_missing(client_for, viewer, synced):
    ivr = visible(synced, EntryKind.IVR).order_by("number").first()
    links = section(
        client_for(viewer).get(detail_url(ivr, "ivrs")).content.decode(), "links-heading"
    )
    assert "Where calls go" in links
    queue = visible(synced, EntryKind.QUEUE).order_by("number").first()
    assert f'href="{detail_url(queue, "queues")}"' in links
    assert "Key 9" in links and "No such extension in the directory" in links


def test_a_listing_row_links_to_the_entry_page(client_for, viewer, organization, synced):
    ada = special_user(synced, "Ada Lovelace")
    listing = client_for(viewer).get(
        reverse("directory_list", kwargs={"org_id": organization.pk, "kind": "users"}),
        {"q": "Ada Lovelace"},
    )
    assert f'<a href="{detail_url(ada, "users")}"><bdi>Ada Lovelace</bdi></a>' in (
        listing.content.decode()
    )


def test_an_entry_of_another_kind_or_id_is_a_helpful_404(client_for, viewer, synced):
    ada = special_user(synced, "Ada Lovelace")
    client = client_for(viewer)
    response = client.get(detail_url(ada, "contacts").replace(f"/{ada.external_id}/", "/999999/"))
    assert response.status_code == 404
    assert "This contact is not in the directory" in response.content.decode()
    assert client.get(detail_url(ada, "nonsense")).status_code == 404


def test_an_entry_of_another_organisation_is_404(client_for, outsider, synced):
    ada = special_user(synced, "Ada Lovelace")
    assert client_for(outsider).get(detail_url(ada, "users")).status_code == 404


def test_a_contact_without_a_name_is_called_by_its_company(client_for, viewer, synced):
    contact = visible(synced, EntryKind.CONTACT).first()
    DirectoryEntry.objects.filter(pk=contact.pk).update(name="", company="Aardvark Ltd")
    page = client_for(viewer).get(detail_url(contact, "contacts")).content.decode()
    assert "<h1><bdi>Aardvark Ltd</bdi></h1>" in page
    assert "<title>Aardvark Ltd · Contacts" in page


def test_an_empty_field_shows_as_in_the_listings(client_for, viewer, synced):
    ada = special_user(synced, "Ada Lovelace")
    DirectoryEntry.objects.filter(pk=ada.pk).update(data={**ada.data, "EmailAddress": ""})
    page = client_for(viewer).get(detail_url(ada, "users")).content.decode()
    value = re.search(
        r"<code>EmailAddress</code></th>\s*<td>(.*?)</td>", section(page, "fields-heading"), re.S
    )
    assert value.group(1).strip() == render_to_string("includes/none.html")
