import re

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from dashboard.connections.models import ConnectionCheck
from dashboard.connections.services import connection_check_execute
from dashboard.directory.models import SyncRun
from dashboard.directory.sync import sync_run_execute
from dashboard.tenants.models import Activity
from integrations.threecx.models import ThreeCXConnection
from tests.integrations.threecx.clients import CLIENT_SECRET

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def form_data(server_url, **overrides):
    data = {
        "name": "Head office",
        "base_url": server_url,
        "client_id": "900",
        "client_secret": CLIENT_SECRET,
        "sync_interval": "6h",
        "verify_tls": "on",
        "timeout_seconds": "30",
        "enabled": "on",
    }
    data.update(overrides)
    return data


class TestList:
    def test_admins_are_invited_to_add_the_first_connection(self, client_for, organization, admin):
        page = client_for(admin).get(reverse("connection_list", args=[organization.pk]))
        assert "Connect your first 3CX server" in page.text
        assert reverse("connection_create", args=[organization.pk]) in page.text

    def test_viewers_are_told_to_ask_an_admin(self, client_for, organization, viewer):
        page = client_for(viewer).get(reverse("connection_list", args=[organization.pk]))
        assert "Ask an admin" in page.text
        assert reverse("connection_create", args=[organization.pk]) not in page.text

    def test_cards_show_health_and_counts_after_a_sync(
        self, client_for, organization, viewer, simulator, connection_to
    ):
        connection = connection_to(simulator)
        run = SyncRun.objects.create(organization=organization, connection=connection)
        sync_run_execute(run_id=run.pk)
        page = client_for(viewer).get(reverse("organization_home", args=[organization.pk]))
        assert "Healthy" in page.text
        assert "Contacts" in page.text and str(simulator.simulator.config.contacts) in page.text
        counts = page.text.split('aria-label="Directory counts">', 1)[1].split("</dl>", 1)[0]
        labels = re.findall(r"<dt>([^<]+)</dt>", counts)
        # In the directory's order, whatever order the database grouped them in.
        assert labels[:3] == ["Users", "Departments", "Contacts"]
        assert labels[-1] == "SIP devices"

    @pytest.mark.parametrize("page", ["organization_home", "connection_list"])
    def test_a_card_never_synced_offers_sync_now_to_admins(
        self, client_for, organization, admin, viewer, simulator, connection_to, page
    ):
        connection = connection_to(simulator)
        sync_url = reverse("connection_sync", args=[organization.pk, connection.pk])
        admin_page = client_for(admin).get(reverse(page, args=[organization.pk]))
        assert "Not synced yet" in admin_page.text
        assert f'hx-post="{sync_url}"' in admin_page.text and "Sync now" in admin_page.text
        viewer_page = client_for(viewer).get(reverse(page, args=[organization.pk]))
        assert sync_url not in viewer_page.text
        assert "an administrator can start the first sync" in viewer_page.text

    def test_a_card_whose_first_sync_failed_still_offers_sync_now(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator, client_secret="wrong")
        run = SyncRun.objects.create(organization=organization, connection=connection)
        sync_run_execute(run_id=run.pk)
        page = client_for(admin).get(reverse("organization_home", args=[organization.pk]))
        assert "Authentication failed" in page.text
        assert reverse("connection_sync", args=[organization.pk, connection.pk]) in page.text

    def test_a_card_with_a_running_sync_shows_its_progress(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        run = SyncRun.objects.create(organization=organization, connection=connection)
        page = client_for(admin).get(reverse("organization_home", args=[organization.pk]))
        progress = reverse("sync_run_progress", args=[organization.pk, connection.pk, run.pk])
        assert progress in page.text
        assert reverse("connection_sync", args=[organization.pk, connection.pk]) not in page.text

    def test_two_running_syncs_on_the_overview_each_cancel_into_their_own_card(
        self, client_for, organization, admin, simulator, connection_to
    ):
        client = client_for(admin)
        targets = []
        for name in ("Head office", "Branch"):
            connection = connection_to(simulator, name=name)
            run = SyncRun.objects.create(organization=organization, connection=connection)
            args = [organization.pk, connection.pk, run.pk]
            fragment = client.get(reverse("sync_run_progress", args=args), headers=HTMX).text
            own_id = re.search(r'<div id="([^"]+)" class="sync-progress"', fragment)
            cancel = re.search(
                rf'hx-post="{reverse("sync_run_cancel", args=args)}" hx-target="#([^"]+)"',
                fragment,
            )
            assert own_id and cancel, fragment
            assert cancel[1] == own_id[1]  # Cancel replaces this card's progress, no other
            targets.append(own_id[1])
        assert len(set(targets)) == 2


class TestCreateAndEdit:
    def test_adding_a_connection_encrypts_the_secret_and_schedules_syncs(
        self, client_for, organization, admin, simulator
    ):
        response = client_for(admin).post(
            reverse("connection_create", args=[organization.pk]), form_data(simulator.base_url)
        )
        connection = ThreeCXConnection.objects.get()
        assert response["Location"] == reverse(
            "connection_detail", args=[organization.pk, connection.pk]
        )
        assert connection.client_secret_get() == CLIENT_SECRET
        assert CLIENT_SECRET not in connection.client_secret_encrypted
        assert PeriodicTask.objects.get(name=f"directory-sync-{connection.pk}").interval.every == 6
        assert Activity.objects.filter(action="connection.created").exists()

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"base_url": "pbx.example.com"}, "must start with"),
            ({"base_url": "http://127.0.0.1:9"}, "loopback"),
            ({"client_secret": ""}, "This field is required."),
            ({"timeout_seconds": "0"}, "greater than or equal to 1"),
        ],
    )
    def test_bad_input_is_explained_next_to_the_field(
        self, client_for, organization, admin, simulator, settings, overrides, message
    ):
        settings.THREECX_ALLOWED_ADDRESSES = []
        settings.THREECX_ALLOW_HTTP = True
        data = form_data(simulator.base_url, **overrides)
        response = client_for(admin).post(
            reverse("connection_create", args=[organization.pk]), data
        )
        assert response.status_code == 200
        assert message in response.text
        assert 'value="Head office"' in response.text  # nothing typed is lost
        assert not ThreeCXConnection.objects.exists()

    def test_names_are_unique_per_organisation(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection_to(simulator, name="Head office")
        response = client_for(admin).post(
            reverse("connection_create", args=[organization.pk]), form_data(simulator.base_url)
        )
        assert "Another connection of this organisation has this name." in response.text

    def test_the_secret_is_write_only(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        url = reverse("connection_edit", args=[organization.pk, connection.pk])
        client = client_for(admin)
        page = client.get(url)
        assert CLIENT_SECRET not in page.text
        assert "Leave empty to keep the current secret." in page.text
        client.post(url, form_data(simulator.base_url, name="Renamed", client_secret=""))
        connection.refresh_from_db()
        assert connection.name == "Renamed"
        assert connection.client_secret_get() == CLIENT_SECRET

    def test_turning_the_schedule_off_removes_it(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        url = reverse("connection_edit", args=[organization.pk, connection.pk])
        client_for(admin).post(url, form_data(simulator.base_url, sync_interval="1h"))
        assert PeriodicTask.objects.filter(name=f"directory-sync-{connection.pk}").exists()
        client_for(admin).post(url, form_data(simulator.base_url, sync_interval="off"))
        assert not PeriodicTask.objects.filter(name=f"directory-sync-{connection.pk}").exists()

    def test_deleting_asks_first_then_removes_everything(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        url = reverse("connection_delete", args=[organization.pk, connection.pk])
        client = client_for(admin)
        assert "Delete Main PBX?" in client.get(url).text
        assert ThreeCXConnection.objects.exists()
        client.post(url)
        assert not ThreeCXConnection.objects.exists()


class TestSecretStaysWithItsServer:
    """The stored secret is only ever sent to the address and client ID it was given for."""

    @pytest.mark.parametrize("changed", ["base_url", "client_id"])
    def test_it_asks_for_the_secret_again_when_the_address_or_client_id_changes(
        self, client_for, organization, admin, simulator, make_simulator, connection_to, changed
    ):
        connection = connection_to(simulator)
        elsewhere = make_simulator()
        new_value = {"base_url": elsewhere.base_url, "client_id": "901"}[changed]
        client = client_for(admin)
        response = client.post(
            reverse("connection_edit", args=[organization.pk, connection.pk]),
            form_data(simulator.base_url, client_secret="", **{changed: new_value}),
        )
        assert response.status_code == 200
        assert "enter the client secret again" in response.text
        assert f'value="{new_value}"' in response.text  # what was typed is kept
        stored = ThreeCXConnection.objects.get()
        assert (stored.base_url, stored.client_id) == (connection.base_url, connection.client_id)
        assert not Activity.objects.filter(action="connection.updated").exists()
        # Pressing Test afterwards still talks only to the server the secret belongs to.
        client.post(reverse("connection_test", args=[organization.pk, connection.pk]))
        connection_check_execute(check_id=ConnectionCheck.objects.get().pk)
        assert elsewhere.simulator.token_requests == 0
        assert simulator.simulator.token_requests == 1

    def test_a_new_address_with_the_secret_typed_again_is_saved(
        self, client_for, organization, admin, simulator, make_simulator, connection_to
    ):
        connection = connection_to(simulator)
        moved = make_simulator()
        client_for(admin).post(
            reverse("connection_edit", args=[organization.pk, connection.pk]),
            form_data(moved.base_url),
        )
        connection.refresh_from_db()
        assert connection.base_url == moved.base_url
        assert connection.client_secret_get() == CLIENT_SECRET


class TestControlCharacters:
    @pytest.mark.parametrize(
        ("field", "label", "value"),
        [
            ("name", "Name", "Head\r\noffice"),
            ("name", "Name", "Head\x00office"),
            ("client_id", "Client ID", "90\x000"),
            ("base_url", "Server address", "https://pbx.example.com\x00"),
            ("client_secret", "Client secret (API key)", "sec\x1bret"),
        ],
    )
    def test_they_are_refused_with_a_message_naming_the_field(
        self, client_for, organization, admin, simulator, field, label, value
    ):
        data = form_data(simulator.base_url, **{field: value})
        response = client_for(admin).post(
            reverse("connection_create", args=[organization.pk]), data
        )
        assert response.status_code == 200
        assert f"{label} contains a" in response.text
        assert not ThreeCXConnection.objects.exists()


class TestTestConnection:
    def test_a_test_runs_in_the_background_and_shows_what_it_found(
        self,
        client_for,
        organization,
        admin,
        simulator,
        connection_to,
        django_capture_on_commit_callbacks,
    ):
        connection = connection_to(simulator)
        client = client_for(admin)
        with django_capture_on_commit_callbacks() as callbacks:
            started = client.post(
                reverse("connection_test", args=[organization.pk, connection.pk]), headers=HTMX
            )
        assert len(callbacks) == 1  # the task is queued after commit, not run in the request
        assert 'hx-trigger="every 1s"' in started.text
        check = ConnectionCheck.objects.get()
        status_url = reverse(
            "connection_check_status", args=[organization.pk, connection.pk, check.pk]
        )
        assert client.get(status_url, headers=HTMX).status_code == 200  # still waiting
        connection_check_execute(check_id=check.pk)
        finished = client.get(status_url, headers=HTMX)
        assert finished.status_code == 286
        assert "Connected." in finished.text
        assert simulator.simulator.config.fqdn in finished.text
        assert "Licence expires" in finished.text
        assert "days)" in finished.text  # the expiry date is shown with how far away it is

    def test_a_failed_test_says_what_to_do(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        connection.client_secret_set("wrong")
        connection.save()
        check = ConnectionCheck.objects.create(organization=organization, connection=connection)
        connection_check_execute(check_id=check.pk)
        page = client_for(admin).get(
            reverse("connection_check_status", args=[organization.pk, connection.pk, check.pk]),
            headers=HTMX,
        )
        assert "Authentication failed." in page.text
        assert "client ID and secret" in page.text
        assert "wrong" not in page.text


class TestSyncButtons:
    def test_sync_now_shows_progress_and_a_second_press_joins_the_same_run(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        url = reverse("connection_sync", args=[organization.pk, connection.pk])
        client = client_for(admin)
        first = client.post(url, headers=HTMX)
        client.post(url, headers=HTMX)
        run = SyncRun.objects.get()
        assert "Waiting for a worker" in first.text
        progress_url = reverse("sync_run_progress", args=[organization.pk, connection.pk, run.pk])
        assert client.get(progress_url, headers=HTMX).status_code == 200
        sync_run_execute(run_id=run.pk)
        done = client.get(progress_url, headers=HTMX)
        assert done.status_code == 286
        assert done["HX-Trigger"] == "syncFinished"  # the counts and run list reload
        assert 'value="100"' in done.text
        assert "Done:" in done.text

    def test_cancel_stops_a_queued_sync(
        self, client_for, organization, admin, simulator, connection_to
    ):
        connection = connection_to(simulator)
        run = SyncRun.objects.create(organization=organization, connection=connection)
        response = client_for(admin).post(
            reverse("sync_run_cancel", args=[organization.pk, connection.pk, run.pk]), headers=HTMX
        )
        run.refresh_from_db()
        assert run.status == SyncRun.Status.CANCELLED
        assert "Cancelled." in response.text

    def test_the_detail_page_lists_recent_runs_and_errors(
        self, client_for, organization, viewer, simulator, connection_to
    ):
        connection = connection_to(simulator)
        connection.client_secret_set("wrong")
        connection.save()
        run = SyncRun.objects.create(organization=organization, connection=connection)
        sync_run_execute(run_id=run.pk)
        page = client_for(viewer).get(
            reverse("connection_detail", args=[organization.pk, connection.pk])
        )
        assert "Authentication failed" in page.text
        assert "Scheduled syncs are paused" in page.text
        assert "Sync now" not in page.text  # viewers change nothing


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["plain", "htmx"])
def test_urls_that_answer_htmx_and_plain_requests_vary_on_hx_request(
    client_for, organization, admin, simulator, connection_to, headers
):
    connection = connection_to(simulator)
    client = client_for(admin)
    args = [organization.pk, connection.pk]
    check = ConnectionCheck.objects.create(organization=organization, connection=connection)
    responses = [
        client.post(reverse("connection_sync", args=args), headers=headers),
        client.post(reverse("connection_test", args=args), headers=headers),
        client.get(reverse("connection_check_status", args=[*args, check.pk]), headers=headers),
    ]
    for response in responses:
        assert response["Vary"].count("HX-Request") == 1, response.request["PATH_INFO"]


def test_the_add_page_says_add_not_edit(client_for, organization, admin):
    page = client_for(admin).get(reverse("connection_create", args=[organization.pk]))
    assert "Add a 3CX connection" in page.text
    assert "Save changes" not in page.text
