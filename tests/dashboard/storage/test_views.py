"""The storage browser's page, its browse requests and the fragment that polls the answer."""

import html
import json
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.storage.models import StorageBrowse
from integrations.threecx import spec
from tests.hostile import HOSTILE_VALUES, RAW_QUERY_STRINGS, everywhere

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
        advanced = reverse("storage_browse_advanced", args=[organization.pk, connection.pk])

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
        assert f'hx-post="{urls.browse}"' in page.text

    def test_outsiders_get_404(self, client_for, outsider, urls):
        assert client_for(outsider).get(urls.page).status_code == 404


class TestBrowse:
    def test_a_browse_queues_a_job_after_commit_and_answers_a_polling_fragment(
        self, client_for, viewer, urls, enqueued, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(viewer).post(
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
        response = client_for(viewer).post(urls.browse, {"filesystem": "Local", "path": "/mnt"})
        assert "<html" in response.text and "Asking the PBX…" in response.text

    def test_invalid_json_is_refused_with_line_and_column_before_anything_is_queued(
        self, client_for, admin, urls, enqueued, django_capture_on_commit_callbacks
    ):
        typed = '{"Filesystem": "Local",\n  "Path": }'
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client_for(admin).post(urls.advanced, {"parameters": typed}, headers=HTMX)
        assert not StorageBrowse.objects.exists()
        assert not callbacks and not enqueued.called
        text = html.unescape(response.text)
        assert "Parameters are not valid JSON: Expecting value at line 2, column 11." in text
        assert typed in text  # what was typed is kept
        assert re.search(r"<textarea[^>]* autofocus", response.text)
        page = client_for(admin).post(urls.advanced, {"parameters": typed})
        assert re.search(r"<details[^>]* open>", page.text)  # without htmx: the panel is open

    @pytest.mark.parametrize(
        ("url", "data"),
        [
            ("browse", {"filesystem": "Dropbox", "path": "/"}),
            ("advanced", {"parameters": '{"Filesystem": "Dropbox"}'}),
        ],
        ids=["form", "advanced"],
    )
    def test_an_unknown_file_system_is_refused_with_the_allowed_values(
        self, client_for, admin, urls, enqueued, url, data
    ):
        response = client_for(admin).post(getattr(urls, url), data, headers=HTMX)
        text = html.unescape(response.text)
        assert "Filesystem 'Dropbox' is not one of Local, Ftp, GoogleDrive," in text
        assert not StorageBrowse.objects.exists()

    def test_an_unknown_parameter_is_refused(self, client_for, admin, urls, enqueued):
        response = client_for(admin).post(
            urls.advanced, {"parameters": '{"Filesystem": "Local", "Folder": "/"}'}, headers=HTMX
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
        response = client_for(admin).post(urls.advanced, {"parameters": typed}, headers=HTMX)
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
        response = client.post(urls.advanced, {"parameters": '{"Filesystem": "Local"}'})
        assert response.status_code == 403
        assert not StorageBrowse.objects.exists()

    def test_provider_staff_may_browse_too(self, client_for, provider_staff, urls, enqueued):
        response = client_for(provider_staff).post(urls.browse, {"filesystem": "Local"})
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
        assert f'href="{urls.page}?filesystem=Local&amp;path=%2Fmnt%2Fnas&amp;root=%2F"' in (
            response.text
        )
        assert f'hx-post="{urls.browse}"' in response.text
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

        def ask(data):
            with django_capture_on_commit_callbacks(execute=True):
                started = client.post(urls.browse, data, headers=HTMX)
            assert "Asking the PBX…" in started.text  # the request itself never waits
            answer = client.get(urls.status(StorageBrowse.objects.first()), headers=HTMX)
            assert answer.status_code == 286
            return answer.text

        def link(page, label):
            found = re.search(rf'hx-vals="([^"]+)"[^>]*>(?:<svg.*?</svg>\s*)?{label}</a>', page)
            assert found, f"no link to {label}"
            return json.loads(html.unescape(found.group(1)))

        top = ask({"filesystem": "Local", "path": ""})
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
            client_for(viewer).post(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        answer = client_for(viewer).get(urls.status(StorageBrowse.objects.get()), headers=HTMX)
        assert answer.status_code == 286
        assert "Authentication failed." in answer.text
        assert "client ID and secret" in answer.text


class TestOnlyPostsAsk:
    """A GET (a link followed, prefetched or crawled) never records a question or calls."""

    def test_the_page_at_a_folder_records_nothing_and_asks_from_the_browser_once_loaded(
        self, client_for, viewer, urls, enqueued, django_capture_on_commit_callbacks
    ):
        folder = {"filesystem": "Local", "path": "/mnt/nas", "root": "/"}
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            page = client_for(viewer).get(urls.page, folder)
        assert page.status_code == 200
        assert not StorageBrowse.objects.exists()
        assert not callbacks and not enqueued.called
        section = re.search(r'<section id="storage-result"[^>]*>', page.text).group()
        assert f'hx-post="{urls.browse}"' in section and 'hx-trigger="load"' in section
        values = re.search(r'hx-vals="([^"]+)"', section).group(1)
        assert json.loads(html.unescape(values)) == folder
        assert 'value="/mnt/nas"' in page.text  # the form shows the folder too

    def test_the_page_without_a_folder_asks_nothing(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.page)
        section = re.search(r'<section id="storage-result"[^>]*>', page.text).group()
        assert "hx-post" not in section

    @pytest.mark.parametrize("url", ["browse", "advanced"])
    def test_a_get_of_the_browse_urls_is_refused(self, client_for, admin, urls, enqueued, url):
        response = client_for(admin).get(getattr(urls, url), {"filesystem": "Local"})
        assert response.status_code == 405
        assert not StorageBrowse.objects.exists() and not enqueued.called

    def test_a_post_without_the_csrf_token_is_refused(self, viewer, urls, enqueued):
        client = Client(enforce_csrf_checks=True)
        client.force_login(viewer)
        response = client.post(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        assert response.status_code == 403
        assert not StorageBrowse.objects.exists() and not enqueued.called

    def test_a_post_with_the_csrf_token_of_the_page_browses(self, viewer, urls, enqueued):
        client = Client(enforce_csrf_checks=True)
        client.force_login(viewer)
        page = client.get(urls.page)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', page.text).group(1)
        response = client.post(
            urls.browse, {"filesystem": "Local"}, headers=HTMX | {"X-CSRFToken": token}
        )
        assert response.status_code == 200
        assert StorageBrowse.objects.get().requested_by == viewer


class TestAddressBar:
    def test_a_folder_opened_from_the_page_gets_a_history_entry_for_back_and_bookmarks(
        self, client_for, viewer, urls, enqueued
    ):
        response = client_for(viewer).post(
            urls.browse, {"filesystem": "Local", "path": "/mnt", "root": "/"}, headers=HTMX
        )
        assert response["HX-Push-Url"] == f"{urls.page}?filesystem=Local&path=%2Fmnt&root=%2F"

    def test_the_folder_a_page_asks_for_on_load_replaces_its_entry(
        self, client_for, viewer, urls, enqueued
    ):
        response = client_for(viewer).post(
            urls.browse,
            {"filesystem": "Local", "path": "/mnt"},
            headers=HTMX | {"HX-Trigger": "storage-result"},
        )
        assert response["HX-Replace-Url"] == f"{urls.page}?filesystem=Local&path=%2Fmnt&root="
        assert "HX-Push-Url" not in response

    def test_advanced_json_never_goes_into_the_address_bar(self, client_for, admin, urls, enqueued):
        response = client_for(admin).post(
            urls.advanced,
            {"parameters": '{"Filesystem": "Sftp", "Path": "/", "Json": "{\\"password\\": 1}"}'},
            headers=HTMX,
        )
        assert response.status_code == 200
        assert "HX-Push-Url" not in response and "HX-Replace-Url" not in response

    def test_a_browse_without_htmx_gets_no_address_bar_headers(
        self, client_for, viewer, urls, enqueued
    ):
        response = client_for(viewer).post(urls.browse, {"filesystem": "Local", "path": "/mnt"})
        assert "HX-Push-Url" not in response and "HX-Replace-Url" not in response


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_every_url_with_a_fragment_and_a_page_varies_on_hx_request(
    client_for, admin, organization, connection, urls, enqueued, headers
):
    """A cache must not hand the fragment to someone opening the page, or the reverse."""
    client = client_for(admin)
    responses = [
        client.post(urls.browse, {"filesystem": "Local", "path": "/mnt"}, headers=headers),
        client.post(urls.browse, {"filesystem": "Nowhere"}, headers=headers),
        client.post(urls.advanced, {"parameters": '{"Filesystem": "Logs"}'}, headers=headers),
        client.get(urls.status(make_browse(organization, connection)), headers=headers),
    ]
    for response in responses:
        assert response["Vary"].count("HX-Request") == 1, response.request["PATH_INFO"]


class TestRateLimits:
    def test_a_user_over_the_limit_gets_a_429_saying_to_wait_and_nothing_is_asked(
        self, client_for, viewer, urls, enqueued, settings
    ):
        settings.STORAGE_BROWSE_PER_USER = 2
        client = client_for(viewer)
        for _ in range(2):
            assert (
                client.post(urls.browse, {"filesystem": "Local"}, headers=HTMX).status_code == 200
            )
        response = client.post(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        assert response.status_code == 429
        assert "You have opened 2 folders in the last minute" in response.text
        assert "Wait a minute, then try again." in response.text
        assert 'id="storage-result"' in response.text and 'role="alert"' in response.text
        assert StorageBrowse.objects.count() == 2

    def test_the_limit_of_a_connection_counts_everyone_and_advanced_too(
        self, client_for, viewer, admin, urls, enqueued, settings
    ):
        settings.STORAGE_BROWSE_PER_CONNECTION = 2
        client_for(viewer).post(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        client_for(admin).post(urls.advanced, {"parameters": '{"Filesystem": "Local"}'})
        response = client_for(admin).post(urls.browse, {"filesystem": "Local"}, headers=HTMX)
        assert response.status_code == 429
        assert "Main PBX has been asked for 2 folders in the last minute" in response.text
        assert StorageBrowse.objects.count() == 2

    def test_without_htmx_the_page_says_so_too(self, client_for, viewer, urls, enqueued, settings):
        settings.STORAGE_BROWSE_PER_USER = 1
        client = client_for(viewer)
        client.post(urls.browse, {"filesystem": "Local"})
        response = client.post(urls.browse, {"filesystem": "Local"})
        assert response.status_code == 429
        assert "<html" in response.text and "Too many requests." in response.text

    def test_viewers_and_provider_staff_keep_browsing_within_the_limits(
        self, client_for, viewer, provider_staff, urls, enqueued
    ):
        for user in (viewer, provider_staff):
            assert client_for(user).post(urls.browse, {"filesystem": "Local"}).status_code == 200
        assert StorageBrowse.objects.count() == 2


class TestControlCharacters:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("path", "/mnt\x00/nas"), ("path", "/mnt/\x1b[2J"), ("root", "/\x00"), ("path", "/a\nb")],
    )
    def test_a_control_character_in_the_path_is_refused_with_a_message(
        self, client_for, viewer, urls, enqueued, field, value
    ):
        data = {"filesystem": "Local", "path": "/mnt"} | {field: value}
        response = client_for(viewer).post(urls.browse, data, headers=HTMX)
        assert response.status_code == 200
        assert "contains a control character" in response.text or "a line break" in response.text
        assert not StorageBrowse.objects.exists()

    def test_the_page_at_a_folder_with_a_nul_shows_the_message_and_asks_nothing(
        self, client_for, viewer, urls, enqueued
    ):
        page = client_for(viewer).get(urls.page, {"filesystem": "Local", "path": "/mnt\x00"})
        assert page.status_code == 200
        assert "Path contains a control character" in html.unescape(page.text)
        section = re.search(r'<section id="storage-result"[^>]*>', page.text).group()
        assert "hx-post" not in section
        assert not StorageBrowse.objects.exists()

    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            ('{"Filesystem": "Local", "Path": "/mnt\\u0000"}', "Path contains a control"),
            ('{"Filesystem": "Local", "Path": "/mnt\\u0007"}', "Path contains a control"),
            ('{"Filesystem": "Local\\u0000"}', "Filesystem 'Local\\x00' is not one of"),
            ('{"Filesystem": "Sftp", "Json": "{\\"k\\": \\"\\u0000\\"}"}', "Json contains a"),
            ('{"Filesystem": "Local", "Path": "/a\\nb"}', "Path contains a line break"),
        ],
    )
    def test_a_control_character_escaped_in_the_advanced_json_is_refused(
        self, client_for, admin, urls, enqueued, typed, message
    ):
        response = client_for(admin).post(urls.advanced, {"parameters": typed}, headers=HTMX)
        assert response.status_code == 200
        assert message in html.unescape(response.text)
        assert not StorageBrowse.objects.exists()

    def test_line_breaks_in_the_advanced_json_itself_are_fine(
        self, client_for, admin, urls, enqueued
    ):
        typed = '{\n  "Filesystem": "Sftp",\n  "Json": "{\\n  \\"host\\": \\"nas\\"\\n}"\n}'
        response = client_for(admin).post(urls.advanced, {"parameters": typed}, headers=HTMX)
        assert response.status_code == 200
        assert StorageBrowse.objects.get().filesystem == "Sftp"


class TestHostileInput:
    @pytest.mark.parametrize(("name", "value"), HOSTILE_VALUES, ids=[n for n, _ in HOSTILE_VALUES])
    def test_no_value_fails_the_page_or_a_browse(
        self, client_for, admin, urls, enqueued, name, value
    ):
        client = client_for(admin)
        assert client.get(urls.page, everywhere(value)).status_code == 200
        response = client.post(
            urls.browse, everywhere(value) | {"filesystem": "Local"}, headers=HTMX
        )
        assert response.status_code == 200
        typed = json.dumps({"Filesystem": "Local", "Path": value, "Json": value})
        assert client.post(urls.advanced, {"parameters": typed}).status_code == 200
        assert client.post(urls.advanced, {"parameters": value}).status_code == 200

    @pytest.mark.parametrize(
        ("name", "query"), RAW_QUERY_STRINGS, ids=[n for n, _ in RAW_QUERY_STRINGS]
    )
    def test_no_query_string_fails_the_page(self, client_for, viewer, urls, name, query):
        assert client_for(viewer).get(f"{urls.page}?{query}").status_code == 200
        assert not StorageBrowse.objects.exists()
