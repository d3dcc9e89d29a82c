"""The storage browser's page, its browse request and the fragment that polls the answer."""

import html
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse

from dashboard.storage.models import StorageBrowse
from integrations.threecx import spec

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def connection(simulator, connection_to):
    return connection_to(simulator)


@pytest.fixture
def urls(organization, connection):
    class Urls:
        page = reverse("storage_browser", args=[organization.pk, connection.pk])
        browse = reverse("storage_browse", args=[organization.pk, connection.pk])

        @staticmethod
        def status(browse):
            return reverse(
                "storage_browse_status", args=[organization.pk, connection.pk, browse.pk]
            )

    return Urls


@pytest.fixture
def enqueued():
    """The task's `delay`, patched: what the page would have queued for the worker."""
    with mock.patch("dashboard.storage.tasks.storage_browse_task.delay") as delay:
        yield delay


def make_browse(organization, connection, **fields) -> StorageBrowse:
    return StorageBrowse.objects.create(
        organization=organization, connection=connection, filesystem="Local", **fields
    )


class TestPage:
    def test_viewers_may_browse_every_file_system_type_of_the_spec(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.page)
        assert page.status_code == 200
        for value in spec.enum_values("Pbx.FileSystemType"):
            assert f'<option value="{value}"' in page.text
        assert "<details" in page.text and "Advanced" in page.text
        assert f'hx-get="{urls.browse}"' in page.text

    def test_outsiders_get_404(self, client_for, outsider, urls):
        assert client_for(outsider).get(urls.page).status_code == 404


class TestBrowse:
    def test_a_browse_queues_a_job_after_commit_and_answers_a_polling_fragment(
        self, client_for, viewer, urls, enqueued, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(viewer).get(
                urls.browse, {"filesystem": "Logs", "path": ""}, headers=HTMX
            )
        browse = StorageBrowse.objects.get()
        assert (browse.filesystem, browse.path, browse.requested_by) == ("Logs", "", viewer)
        enqueued.assert_called_once_with(str(browse.pk))
        assert response.status_code == 200
        assert f'hx-get="{urls.status(browse)}"' in response.text
        assert 'hx-trigger="every 1s"' in response.text
        assert "Asking the PBX…" in response.text
        assert "HX-Request" in response["Vary"]
        assert "<html" not in response.text

    def test_without_htmx_the_whole_page_comes_back(self, client_for, viewer, urls, enqueued):
        response = client_for(viewer).get(urls.browse, {"filesystem": "Local", "path": "/mnt"})
        assert "<html" in response.text and "Asking the PBX…" in response.text

    def test_invalid_json_is_refused_with_line_and_column_before_anything_is_queued(
        self, client_for, admin, urls, enqueued, django_capture_on_commit_callbacks
    ):
        typed = '{"Filesystem": "Local",\n  "Path": }'
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client_for(admin).post(urls.browse, {"parameters": typed}, headers=HTMX)
        assert not StorageBrowse.objects.exists()
        assert not callbacks and not enqueued.called
        text = html.unescape(response.text)
        assert "Parameters are not valid JSON: Expecting value at line 2, column 11." in text
        assert typed in text  # what was typed is kept
        assert re.search(r"<textarea[^>]* autofocus", response.text)
        page = client_for(admin).post(urls.browse, {"parameters": typed})
        assert re.search(r"<details[^>]* open>", page.text)  # without htmx: the panel is open

    @pytest.mark.parametrize(
        ("method", "data"),
        [
            ("get", {"filesystem": "Dropbox", "path": "/"}),
            ("post", {"parameters": '{"Filesystem": "Dropbox"}'}),
        ],
        ids=["form", "advanced"],
    )
    def test_an_unknown_file_system_is_refused_with_the_allowed_values(
        self, client_for, admin, urls, enqueued, method, data
    ):
        response = getattr(client_for(admin), method)(urls.browse, data, headers=HTMX)
        text = html.unescape(response.text)
        assert "Filesystem 'Dropbox' is not one of Local, Ftp, GoogleDrive," in text
        assert not StorageBrowse.objects.exists()

    def test_an_unknown_parameter_is_refused(self, client_for, admin, urls, enqueued):
        response = client_for(admin).post(
            urls.browse, {"parameters": '{"Filesystem": "Local", "Folder": "/"}'}, headers=HTMX
        )
        assert "Unknown parameter Folder" in response.text
        assert not StorageBrowse.objects.exists()

    @pytest.mark.parametrize(
        "typed",
        [
            '{"parameters": {"Filesystem": "Sftp", "Path": "/home"}}',
            '{"Filesystem": "Sftp", "Path": "/home"}',
        ],
        ids=["whole-body", "inner-object"],
    )
    def test_advanced_takes_the_whole_body_or_the_inner_object(
        self, client_for, admin, urls, enqueued, typed
    ):
        response = client_for(admin).post(urls.browse, {"parameters": typed}, headers=HTMX)
        browse = StorageBrowse.objects.get()
        assert (browse.filesystem, browse.path, browse.parameters_typed()) == (
            "Sftp",
            "/home",
            typed,
        )
        assert "Sftp" not in browse.raw_parameters  # the typed JSON is stored encrypted
        assert 'hx-trigger="every 1s"' in response.text

    def test_advanced_json_needs_an_admin_as_it_may_carry_credentials(
        self, client_for, viewer, urls, enqueued
    ):
        client = client_for(viewer)
        assert "needs the admin role" in client.get(urls.page).text
        response = client.post(urls.browse, {"parameters": '{"Filesystem": "Local"}'})
        assert response.status_code == 403
        assert not StorageBrowse.objects.exists()

    def test_provider_staff_may_browse_too(self, client_for, provider_staff, urls, enqueued):
        response = client_for(provider_staff).get(urls.browse, {"filesystem": "Local"})
        assert response.status_code == 200
        assert StorageBrowse.objects.get().requested_by == provider_staff


class TestStatus:
    @pytest.mark.parametrize("status", [StorageBrowse.Status.QUEUED, StorageBrowse.Status.RUNNING])
    def test_an_unanswered_browse_keeps_polling(
        self, client_for, viewer, organization, connection, urls, status
    ):
        browse = make_browse(organization, connection, status=status)
        response = client_for(viewer).get(urls.status(browse), headers=HTMX)
        assert response.status_code == 200
        assert "Asking the PBX…" in response.text

    def test_a_browse_nobody_picks_up_asks_whether_the_worker_runs(
        self, client_for, viewer, organization, connection, urls
    ):
        browse = make_browse(organization, connection)
        StorageBrowse.objects.filter(pk=browse.pk).update(
            created_at=browse.created_at - timedelta(minutes=1)
        )
        response = client_for(viewer).get(urls.status(browse), headers=HTMX)
        assert response.status_code == 200
        assert "Is the background worker running?" in response.text

    def test_an_answer_stops_polling_and_lists_the_folders(
        self, client_for, viewer, organization, connection, urls
    ):
        browse = make_browse(
            organization,
            connection,
            status=StorageBrowse.Status.SUCCEEDED,
            root="/",
            result={"Path": "/mnt", "Dirs": ["/mnt/nas", "/mnt/usb stick"]},
        )
        response = client_for(viewer).get(urls.status(browse), headers=HTMX)
        assert response.status_code == 286
        assert "nas</a>" in response.text and "usb stick</a>" in response.text
        assert "filesystem=Local&amp;path=%2Fmnt%2Fnas&amp;root=%2F" in response.text
        assert 'aria-current="location">mnt<' in response.text
        assert 'id="storage-answer" hx-swap-oob="true"' in response.text
        assert html.escape('"Dirs": [\n    "/mnt/nas",') in response.text  # pretty-printed

    def test_an_error_stops_polling_and_says_what_to_do(
        self, client_for, viewer, organization, connection, urls
    ):
        browse = make_browse(
            organization,
            connection,
            status=StorageBrowse.Status.FAILED,
            path="/nowhere",
            error_title="Invalid parameters",
            error="The 3CX server refused the request (Path): The directory '/nowhere' ...",
        )
        response = client_for(viewer).get(urls.status(browse), headers=HTMX)
        assert response.status_code == 286
        assert "Invalid parameters." in response.text
        assert "go back up with the breadcrumb" in response.text

    def test_connection_errors_point_admins_to_the_connection_and_viewers_to_an_admin(
        self, client_for, viewer, admin, organization, connection, urls
    ):
        browse = make_browse(
            organization,
            connection,
            status=StorageBrowse.Status.FAILED,
            error_title="Authentication failed",
            error="The 3CX server did not accept the client ID and secret.",
        )
        edit_url = reverse("connection_edit", args=[organization.pk, connection.pk])
        assert "Ask an admin" in client_for(viewer).get(urls.status(browse), headers=HTMX).text
        assert edit_url in client_for(admin).get(urls.status(browse), headers=HTMX).text

    def test_a_browse_of_another_connection_is_404(
        self, client_for, viewer, organization, connection, connection_to, make_simulator, urls
    ):
        other = connection_to(make_simulator(), name="Branch PBX")
        browse = make_browse(organization, other)
        assert client_for(viewer).get(urls.status(browse), headers=HTMX).status_code == 404


class TestOnTheWorker:
    """The whole round trip, with the task run eagerly once the request's transaction commits."""

    @pytest.fixture(autouse=True)
    def eager(self, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = True

    def test_a_folder_opens_two_levels_deep_and_the_breadcrumb_goes_back(
        self, client_for, viewer, urls, django_capture_on_commit_callbacks
    ):
        client = client_for(viewer)

        def ask(url, data=None):
            with django_capture_on_commit_callbacks(execute=True):
                started = client.get(url, data, headers=HTMX)
            assert "Asking the PBX…" in started.text  # the request itself never waits
            answer = client.get(urls.status(StorageBrowse.objects.first()), headers=HTMX)
            assert answer.status_code == 286
            return answer.text

        def link(page, label):
            found = re.search(rf'href="([^"]+)"[^>]*>(?:<svg.*?</svg>\s*)?{label}</a>', page)
            assert found, f"no link to {label}"
            return html.unescape(found.group(1))

        top = ask(urls.browse, {"filesystem": "Local", "path": ""})
        assert "home</a>" in top and "mnt</a>" in top and "var</a>" in top
        mnt = ask(link(top, "mnt"))
        assert "/mnt/nas" in mnt
        nas = ask(link(mnt, "nas"))
        assert "3cx-backups</a>" in nas
        assert 'aria-current="location">nas<' in nas
        back = ask(link(nas, "Local disk"))
        assert "home</a>" in back and "mnt</a>" in back

    def test_bad_credentials_are_shown_in_place(
        self, client_for, viewer, connection, urls, django_capture_on_commit_callbacks
    ):
        connection.client_secret_set("wrong")
        connection.save()
        with django_capture_on_commit_callbacks(execute=True):
            client_for(viewer).get(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        answer = client_for(viewer).get(urls.status(StorageBrowse.objects.get()), headers=HTMX)
        assert answer.status_code == 286
        assert "Authentication failed." in answer.text
        assert "client ID and secret" in answer.text
