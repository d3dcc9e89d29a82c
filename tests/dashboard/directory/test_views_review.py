"""The review page of a sync held for its removals: everyone who reads sees it, admins decide."""

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryState, EntryKind, SyncRun
from dashboard.tenants.models import Activity
from tests.dashboard.connections.test_views import form_data
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db

CONTACTS = 120


@pytest.fixture
def held(simulator, connection) -> SyncRun:
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED
    for contact in visible(connection, EntryKind.CONTACT).order_by("external_id")[:60]:
        simulator.simulator.delete("Contacts", contact.external_id)
    run = sync_now(connection)
    assert run.status == SyncRun.Status.NEEDS_REVIEW
    return run


def review_url(run: SyncRun, action: str = "") -> str:
    name = f"sync_run_review_{action}" if action else "sync_run_review"
    return reverse(name, args=[run.organization_id, run.pk])


def test_the_review_page_lists_what_would_be_removed_per_kind_with_counts(client_for, viewer, held):
    page = client_for(viewer).get(review_url(held)).text
    assert "Contact: 60 of 120 would be removed (50%)" in page
    removed = held.changes.filter(action="removed").order_by("label", "external_id")
    assert removed.first().label in page
    assert f"?kind={EntryKind.CONTACT}&amp;action=removed" in page  # the full list
    # Viewers read; the decision is an admin's.
    assert review_url(held, "apply") not in page
    assert "An admin of Acme Telecom can apply or discard this sync." in page


def test_the_progress_panel_links_a_held_sync_to_its_review(client_for, viewer, held):
    url = reverse("sync_run_progress", args=[held.organization_id, held.connection_id, held.pk])
    page = client_for(viewer).get(url).text
    assert "This sync would remove 60 entries" in page and review_url(held) in page


def test_an_admin_applies_a_held_sync_after_confirming(client_for, admin, held):
    client = client_for(admin)
    assert review_url(held, "apply") in client.get(review_url(held)).text

    unconfirmed = client.post(review_url(held, "apply"))
    assert unconfirmed.status_code == 302
    held.refresh_from_db()
    assert held.status == SyncRun.Status.NEEDS_REVIEW

    client.post(review_url(held, "apply"), {"confirm": "yes"})
    held.refresh_from_db()
    assert held.status == SyncRun.Status.SUCCEEDED
    assert visible(held.connection, EntryKind.CONTACT).count() == CONTACTS - 60
    assert Activity.objects.filter(action="directory.sync_review_applied", actor=admin).exists()


def test_an_admin_discards_a_held_sync(client_for, admin, held):
    response = client_for(admin).post(review_url(held, "discard"))
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == SyncRun.Status.DISCARDED
    assert visible(held.connection, EntryKind.CONTACT).count() == CONTACTS


@pytest.mark.parametrize("action", ["apply", "discard"])
def test_viewers_and_provider_staff_cannot_decide(client_for, viewer, provider_staff, held, action):
    for user in (viewer, provider_staff):
        response = client_for(user).post(review_url(held, action), {"confirm": "yes"})
        assert response.status_code in (403, 404)
    held.refresh_from_db()
    assert held.status == SyncRun.Status.NEEDS_REVIEW


def test_sync_now_and_apply_removals_queues_a_confirmed_run(
    client_for, admin, held, enqueued, django_capture_on_commit_callbacks
):
    url = reverse("connection_sync", args=[held.organization_id, held.connection_id])
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin).post(url, {"confirm_removals": "yes"})
    run = SyncRun.objects.get(status=SyncRun.Status.QUEUED)
    assert run.confirm_removals
    assert Activity.objects.filter(action="directory.sync_started_confirmed").exists()


def test_the_threshold_is_edited_on_the_connection_form(
    client_for, organization, admin, simulator, connection
):
    url = reverse("connection_edit", args=[organization.pk, connection.pk])
    client = client_for(admin)
    assert 'name="removal_review_percent"' in client.get(url).text
    client.post(
        url,
        form_data(simulator.base_url, removal_review_percent="25", removal_review_count="200"),
    )
    state = DirectoryState.objects.get(connection=connection)
    assert (state.removal_review_percent, state.removal_review_count) == (25, 200)


def test_a_threshold_out_of_range_is_refused_with_a_message(
    client_for, organization, admin, simulator, connection
):
    url = reverse("connection_edit", args=[organization.pk, connection.pk])
    page = client_for(admin).post(url, form_data(simulator.base_url, removal_review_percent="150"))
    assert "less than or equal to 100" in page.text


def test_the_change_history_leaves_out_a_held_sync_until_it_is_applied(
    client_for, viewer, admin, held
):
    url = reverse("connection_changes", args=[held.organization_id, held.connection_id])
    assert "of 60 changes" not in client_for(viewer).get(url).text
    client_for(admin).post(review_url(held, "apply"), {"confirm": "yes"})
    assert "1\N{EN DASH}50 of 60 changes" in client_for(viewer).get(url).text
