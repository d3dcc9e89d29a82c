"""The directory tabs' own `?format=csv` link keeps working beside the export menu: a small
export streams straight back (and is recorded), a big one is offered to the worker."""

import csv
import io

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
from dashboard.exports.models import Export
from dashboard.tenants.models import Activity
from integrations.threecx.models import ThreeCXConnection

pytestmark = pytest.mark.django_db


def synced_connection(organization, name: str = "Main PBX") -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization, name=name, base_url="https://pbx.example.com", client_id="9"
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    DirectoryState.objects.create(connection=connection, generation=1)
    return connection


def add_user(connection, number: str, name: str) -> DirectoryEntry:
    return DirectoryEntry.objects.create(
        organization=connection.organization,
        connection=connection,
        kind=EntryKind.USER,
        external_id=int(number),
        generation_added=1,
        number=number,
        name=name,
        enabled=True,
        content_hash=number,
    )


@pytest.fixture
def users(organization) -> ThreeCXConnection:
    connection = synced_connection(organization)
    for number, name in (("100", "=cmd|' /C calc'!A0"), ("101", "Zoë"), ("102", "王秀英")):
        add_user(connection, number, name)
    return connection


def tab(organization, connection=None) -> str:
    if connection is None:
        return reverse("directory_list", args=[organization.pk, "users"])
    return reverse("connection_directory_list", args=[organization.pk, connection.pk, "users"])


def test_a_small_export_streams_with_the_filters_and_is_recorded(
    client_for, viewer, organization, users
):
    response = client_for(viewer).get(
        tab(organization, users), {"format": "csv", "q": "Zoë", "page": "3"}
    )
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="main-pbx-users-')
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert header[:4] == ["Connection", "3CX Id", "Number", "Name"]
    assert [row[3] for row in rows] == ["Zoë"]
    activity = Activity.objects.get(action="export.created")
    assert activity.details["filters"] == "Search “Zoë”" and activity.details["rows"] == 1


def test_formulas_are_neutralised(client_for, viewer, organization, users):
    response = client_for(viewer).get(tab(organization, users), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert "'=cmd|' /C calc'!A0" in [row[3] for row in rows]


def test_a_big_export_is_offered_to_the_background_worker(
    client_for, viewer, organization, users, settings
):
    settings.EXPORT_DIRECT_MAX_ROWS = 2
    response = client_for(viewer).get(
        tab(organization, users), {"format": "csv", "sort": "-number"}
    )
    assert response.status_code == 200 and not response.streaming
    page = response.content.decode()
    assert "Prepare this export in the background" in page
    assert f'action="{reverse("exports:create")}"' in page
    assert 'name="params" value="sort=-number"' in page
    assert f'name="kwargs" value="kind=users&amp;connection_id={users.pk}"' in page
    assert not Activity.objects.exists() and not Export.objects.exists()


def test_a_tab_across_several_connections_is_offered_to_the_worker(
    client_for, viewer, organization, users
):
    add_user(synced_connection(organization, "Second PBX"), "200", "Ann")
    page = client_for(viewer).get(tab(organization), {"format": "csv"}).content.decode()
    assert "Prepare this export in the background" in page
    assert 'name="kwargs" value="kind=users"' in page


def test_outsiders_get_404(client_for, outsider, organization, users):
    assert client_for(outsider).get(tab(organization, users), {"format": "csv"}).status_code == 404
