"""Change history: what each sync added, changed and removed, field by field."""

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryRelation, EntryKind, SyncChange, SyncRun
from tests.dashboard.directory.test_views_entry import detail_url, section
from tests.dashboard.directory.test_views_listing import sync, visible

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(simulator, connection_to):
    connection = connection_to(simulator)
    sync(connection)
    return connection


FRAGMENT = {"HX-Request": "true", "HX-Target": "change-results"}


def changes_url(connection) -> str:
    return reverse(
        "connection_changes",
        kwargs={"org_id": connection.organization_id, "connection_id": connection.pk},
    )


def run_url(run) -> str:
    return reverse("sync_run_changes", kwargs={"org_id": run.organization_id, "run_id": run.pk})


@pytest.fixture
def changed(simulator, synced):
    """A second sync after renaming a user, deleting a contact and adding one."""
    sim = simulator.simulator
    routed = DirectoryRelation.objects.values_list("target_number", flat=True)
    user = visible(synced).exclude(number__in=routed).order_by("number").first()
    sim.update("Users", user.external_id, {"FirstName": "Renamed"})
    removed = visible(synced, EntryKind.CONTACT).order_by("external_id").last()
    sim.delete("Contacts", removed.external_id)
    added = sim.add("Contacts", {"FirstName": "Ana", "LastName": "Novák", "Email": "an@x.example"})
    run = sync(synced)
    assert (run.added, run.changed, run.removed) == (1, 1, 1)
    return {"run": run, "user": user, "removed": removed, "added_id": added["Id"]}


def test_a_change_shows_the_field_before_and_after(client_for, viewer, synced, changed):
    page = client_for(viewer).get(changes_url(synced)).content.decode()
    user = changed["user"]
    assert re.search(
        rf"<code>FirstName</code></th>\s*<td><del><bdi>{re.escape(user.first_name)}</bdi></del>"
        r"</td>\s*<td><ins><bdi>Renamed</bdi></ins>",
        page,
    )
    assert "1\N{EN DASH}3 of 3 changes" in page
    for action in ("Added", "Changed", "Removed"):
        assert f">{action}</span>" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "user"}, {("user", "changed")}),
        ({"kind": "contact"}, {("contact", "added"), ("contact", "removed")}),
        ({"action": "removed"}, {("contact", "removed")}),
        ({"q": "Renamed"}, {("user", "changed")}),
    ],
)
def test_changes_can_be_filtered_by_kind_and_action(
    client_for, viewer, synced, changed, params, expected
):
    response = client_for(viewer).get(changes_url(synced), params, headers=FRAGMENT)
    page = response.content.decode()
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]
    shown = {
        (c.kind, c.action)
        for c in SyncChange.objects.filter(run=changed["run"])
        if f"/{c.external_id}/" in page
    }
    assert shown == expected


def test_a_bad_change_filter_is_explained_in_place(client_for, viewer, synced, changed):
    page = (
        client_for(viewer)
        .get(changes_url(synced), {"kind": "password"}, headers=FRAGMENT)
        .content.decode()
    )
    assert re.search(
        r'id="id_kind_errors" class="error" role="alert" hx-swap-oob="true">'
        r"“password” is not a kind of entry",
        page,
    )


def test_a_run_page_lists_what_that_sync_changed(client_for, viewer, synced, changed):
    page = client_for(viewer).get(run_url(changed["run"])).content.decode()
    assert "1 added, 1 changed, 1 removed." in page
    assert "Ana Novák" in page
    assert unescape(changed["removed"].name or changed["removed"].number) in unescape(page)


def test_the_entry_page_shows_its_own_history(client_for, viewer, synced, changed):
    user = visible(synced).get(external_id=changed["user"].external_id)
    history = section(
        client_for(viewer).get(detail_url(user, "users")).content.decode(), "history-heading"
    )
    assert "<code>FirstName</code>" in history and "Renamed" in history
    assert run_url(changed["run"]) in history


def test_a_removed_entry_page_says_it_is_gone_and_when(client_for, viewer, synced, changed):
    removed = changed["removed"]
    response = client_for(viewer).get(detail_url(removed, "contacts"))
    assert response.status_code == 200  # change history links here: not a broken link
    page = response.content.decode()
    assert f'<bdi>{removed.name}</bdi> <span class="muted">is not in the directory' in page
    assert "no longer has this contact" in page
    assert ">Removed</span>" in page and run_url(changed["run"]) in page


def test_every_entry_link_in_the_change_history_answers(client_for, viewer, synced, changed):
    client = client_for(viewer)
    page = client.get(changes_url(synced)).content.decode()
    links = set(re.findall(r'href="(/orgs/[^"]+/directory/[a-z-]+/-?\d+/)"', page))
    assert len(links) == 3
    assert {client.get(link).status_code for link in links} == {200}


def test_an_id_no_sync_has_seen_is_not_found(client_for, viewer, synced):
    entry = visible(synced).first()
    entry.external_id = 999_999
    response = client_for(viewer).get(detail_url(entry, "users"))
    assert response.status_code == 404
    assert "This user is not in the directory" in response.content.decode()


def test_the_first_import_is_not_listed_entry_by_entry(client_for, viewer, synced):
    client = client_for(viewer)
    first = SyncRun.objects.get(connection=synced)
    assert "The first import" in client.get(run_url(first)).content.decode()
    assert "Nothing changed" in client.get(changes_url(synced)).content.decode()


def test_before_any_sync_the_history_says_how_to_start_one(
    client_for, viewer, simulator, connection_to
):
    connection = connection_to(simulator)
    page = client_for(viewer).get(changes_url(connection)).content.decode()
    assert "No sync has run yet" in page and "Sync now" in page


def test_a_failed_run_page_says_nothing_was_changed(client_for, viewer, synced):
    run = SyncRun.objects.create(
        organization=synced.organization,
        connection=synced,
        status=SyncRun.Status.FAILED,
        error="Timed out after 30 s.",
    )
    page = client_for(viewer).get(run_url(run)).content.decode()
    assert "Timed out after 30 s." in page and "This sync did not finish" in page


def test_long_histories_are_paged(client_for, viewer, simulator, synced):
    for contact in visible(synced, EntryKind.CONTACT).order_by("external_id")[:60]:
        simulator.simulator.delete("Contacts", contact.external_id)
    sync(synced, confirm_removals=True)  # half the contacts: a review would hold it
    client = client_for(viewer)
    first = client.get(changes_url(synced)).content.decode()
    assert "1\N{EN DASH}50 of 60 changes" in first and "Page 1 of 2" in first
    second = client.get(changes_url(synced), {"page": "99"}).content.decode()
    assert "51\N{EN DASH}60 of 60 changes" in second


def test_a_change_inside_a_list_names_the_item_and_the_field(client_for, viewer, simulator, synced):
    queue = visible(synced, EntryKind.QUEUE).order_by("number").first()
    agent = next(a for a in queue.data["Agents"] if a.get("Name"))
    user = visible(synced).get(number=agent["Number"])
    simulator.simulator.update("Users", user.external_id, {"FirstName": "Renamed"})
    sync(synced)
    page = client_for(viewer).get(changes_url(synced), {"kind": "queue"}).content.decode()
    assert re.search(
        rf"<code>Agents\[Id={agent['Id']}\]\.Name</code></th>\s*"
        rf"<td><del><bdi>{re.escape(agent['Name'])}</bdi></del>",
        unescape(page),
    )


def test_secrets_in_a_recorded_change_are_never_shown(client_for, viewer, synced):
    run = sync(synced)
    ada = visible(synced).order_by("number").first()
    SyncChange.objects.create(
        run=run,
        connection=synced,
        kind=EntryKind.USER,
        external_id=ada.external_id,
        label=ada.name,
        action=SyncChange.Action.CHANGED,
        fields={
            "VMPIN": ["1111", "2222"],
            "Phones": [
                [{"Id": 1, "AccessPassword": "old-pw"}],
                [{"Id": 1, "AccessPassword": "new-pw"}],
            ],
            "Mobile": ["+1 555 0100", "+1 555 0199"],
        },
    )
    page = client_for(viewer).get(run_url(run)).content.decode()
    assert "+1 555 0199" in page
    for secret in ("1111", "2222", "old-pw", "new-pw", "VMPIN", "AccessPassword"):
        assert secret not in page


def test_a_run_summary_writes_its_time_once_with_one_full_stop(client_for, viewer, synced):
    run = SyncRun.objects.filter(connection=synced).get()
    SyncRun.objects.filter(pk=run.pk).update(
        finished_at=datetime(2026, 12, 2, 14, 5, tzinfo=UTC), added=12345
    )
    page = client_for(viewer).get(run_url(run)).content.decode()
    assert "Finished 2 Dec 2026, 14:05." in page
    assert "12,345 added" in page
    assert ".." not in re.sub(r"<[^>]+>", "", page)
