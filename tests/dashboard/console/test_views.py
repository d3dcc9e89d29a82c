"""The console's pages: the catalogue, an operation's page and form, running and confirming,
the call's fragment, downloads and the history."""

import csv
import html
import io
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.console.models import XapiCall
from dashboard.console.services import xapi_call_execute
from dashboard.tenants.models import Activity
from integrations.threecx.client import OperationAnswer, ThreeCXClient
from integrations.threecx.operations.catalogue import operations
from integrations.threecx.operations.masking import MASK
from tests.dashboard.console.conftest import HTMX, USER_ID
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","Click")'


@pytest.fixture
def urls(organization, connection):
    org, conn = organization.pk, connection.pk

    class Urls:
        catalogue = reverse("console_catalogue", args=[org, conn])
        history = reverse("console_history", args=[org, conn])

        @staticmethod
        def operation(operation_id):
            return reverse("console_operation", args=[org, conn, operation_id])

        @staticmethod
        def run(operation_id):
            return reverse("console_run", args=[org, conn, operation_id])

        @staticmethod
        def confirm(operation_id):
            return reverse("console_confirm", args=[org, conn, operation_id])

        @staticmethod
        def call(call):
            return reverse("console_call", args=[org, conn, call.pk])

        @staticmethod
        def download(call, format="json"):
            url = reverse("console_call_download", args=[org, conn, call.pk])
            return f"{url}?format={format}"

    return Urls


def field_block(page: str, name: str) -> str:
    """The markup of the form field named `name`: its label, input, help and errors."""
    for block in page.split('<div class="field')[1:]:
        if f'name="{name}"' in block:
            return html.unescape(block.split("</div>")[0])
    raise AssertionError(f"no field {name!r} on the page")


def answered_with(monkeypatch, data, *, status=200):
    """Make every operation_call answer `data` (an answer the simulator would not give)."""
    text = json.dumps(data)

    def operation_call(self, prepared):
        return OperationAnswer(
            status=status,
            elapsed_ms=7,
            headers={"Content-Type": "application/json"},
            data=data,
            content_type="application/json",
            size=len(text),
        )

    monkeypatch.setattr(ThreeCXClient, "operation_call", operation_call)


class TestCatalogue:
    def test_every_operation_is_listed_by_tag_with_its_method_path_and_access(
        self, client_for, viewer, urls
    ):
        page = client_for(viewer).get(urls.catalogue)
        assert page.status_code == 200
        assert f"{len(operations())} operations in" in page.text
        assert f'href="{urls.operation("ListUser")}"' in page.text
        assert '<span class="method method-patch">PATCH</span>' in page.text
        assert '<h2 id="console-tag-1">' in page.text
        assert 'class="badge badge-read">Read<' in page.text
        assert 'class="badge badge-write">Write<' in page.text
        assert f'href="{urls.history}"' in page.text

    def test_the_search_narrows_live_and_goes_into_the_address(self, client_for, viewer, urls):
        response = client_for(viewer).get(
            urls.catalogue,
            {"q": "directory INFO"},
            headers=HTMX | {"HX-Target": "console-catalogue"},
        )
        assert response.status_code == 200
        assert "<html" not in response.text
        assert "GetDirectoryInfo" in response.text
        assert ">ListUser<" not in response.text
        assert response["HX-Push-Url"] == f"{urls.catalogue}?q=directory+INFO"
        assert "HX-Request" in response["Vary"]

    def test_a_bookmarked_search_opens_narrowed(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.catalogue, {"q": "user", "tag": "Users"})
        assert 'value="user"' in page.text
        assert '<option value="Users" selected>' in page.text
        assert re.search(r"\d+ operations? match(es)? “user” in Users", page.text)
        assert "GetDirectoryInfo" not in page.text

    def test_an_unknown_tag_is_ignored(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.catalogue, {"tag": "<b>Nope</b>"})
        assert f"{len(operations())} operations in" in page.text

    def test_no_match_says_so_and_how_to_widen(self, client_for, viewer, urls):
        response = client_for(viewer).get(
            urls.catalogue, {"q": "zebra"}, headers=HTMX | {"HX-Target": "console-catalogue"}
        )
        assert "No operation matches" in response.text
        assert "every word of “zebra”" in response.text
        assert f'<a href="{urls.catalogue}">list every operation</a>' in response.text

    def test_operations_the_servers_version_lacks_are_marked(
        self, client_for, viewer, urls, connection
    ):
        connection.version = "20.0.9.1044"
        connection.save()
        page = client_for(viewer).get(urls.catalogue, {"q": "BatchDeleteFiles"})
        assert "Not in this version" in page.text
        assert 'class="console-absent"' in page.text
        assert "This PBX runs 20.0.9.1044" in page.text

    def test_an_unknown_version_is_said_plainly(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.catalogue)
        assert "3CX version is not known yet (test the connection to read it)" in page.text
        assert "Not in this version" not in page.text


class TestOperationPage:
    def test_a_read_shows_its_documentation_and_a_form(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.operation("ListUser"))
        assert page.status_code == 200
        assert "<h1>ListUser</h1>" in page.text
        assert '<span class="method method-get">GET</span> <code>/Users</code>' in page.text
        assert "Only the items matching an OData expression" in page.text  # $filter's help
        assert "<code>value[].FirstName</code>" in page.text  # the answer's outline
        assert 'placeholder="10"' in field_block(page.text, "$top")
        assert ">Run</button>" in page.text
        assert "Press <strong>Run</strong>" in page.text

    def test_a_write_offers_a_body_editor_with_an_example(self, client_for, admin, urls):
        page = client_for(admin).get(urls.operation("GetDirectoryInfo"))
        body = field_block(page.text, "body")
        assert 'class="code-input"' in body
        assert '"parameters": {}' in body
        page = client_for(admin).get(urls.operation("UpdateUser"))
        assert "Review before sending…" in page.text
        assert "with the current state of what it changes" in page.text
        assert "<code>FirstName</code>" in page.text  # the body's outline

    def test_viewers_see_a_write_documented_without_its_form(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.operation("UpdateUser"))
        assert page.status_code == 200
        assert "only admins and owners of Acme Telecom may send it" in page.text
        assert 'id="console-form"' not in page.text
        assert "<code>FirstName</code>" in page.text

    def test_provider_staff_read_but_are_told_writes_are_not_theirs(
        self, client_for, provider_staff, urls
    ):
        client = client_for(provider_staff)
        assert 'id="console-form"' in client.get(urls.operation("ListUser")).text
        page = client.get(urls.operation("UpdateUser"))
        assert "Provider access is read-only" in page.text
        assert 'id="console-form"' not in page.text

    def test_writes_turned_off_are_explained_with_the_way_back(
        self, client_for, admin, viewer, organization, urls
    ):
        organization.xapi_writes_enabled = False
        organization.save()
        page = client_for(admin).get(urls.operation("UpdateUser"))
        assert "Writes through the XAPI console are turned off for Acme Telecom" in page.text
        settings_url = reverse("organization_settings", args=[organization.pk])
        assert f'href="{settings_url}#xapi-writes"' in page.text
        assert 'id="console-form"' not in page.text
        assert 'id="console-form"' in client_for(admin).get(urls.operation("ListUser")).text
        page = client_for(viewer).get(urls.operation("UpdateUser"))
        assert "only admins and owners" in page.text

    def test_an_unknown_operation_is_404(self, client_for, viewer, urls):
        assert client_for(viewer).get(urls.operation("listuser")).status_code == 404


class TestValidation:
    @pytest.mark.parametrize(
        ("operation_id", "data", "field", "expected"),
        [
            ("ListUser", {"$top": "ten"}, "$top", "whole number"),
            ("ListUser", {"$skip": "-1"}, "$skip", "0"),
            ("GetUser", {"Id": ""}, "Id", "required"),
            ("GetUser", {"Id": "5.5"}, "Id", "whole number"),
            ("ListUser", {"$select": "Id,Nope"}, "$select", "Nope"),
            ("ListUser", {"$count": "maybe"}, "$count", "Select a valid choice"),
            ("GetLogs", {"startDate": "yesterday"}, "startDate", "2024-01-31T09:00:00Z"),
            ("GetOAuthClient", {"Id": "not-a-uuid"}, "Id", "UUID"),
            ("GetCallLogData", {"hidePcalls": "perhaps"}, "hidePcalls", "Select a valid choice"),
            ("GetDirectoryInfo", {"body": '{"parameters": '}, "body", "JSON"),
            (
                "GetDirectoryInfo",
                {"body": '{"parameters": {"Filesystem": "Dropbox"}}'},
                "body",
                "parameters.Filesystem",
            ),
            ("ListUser", {"$filter": "Name eq 'a\x00'"}, "$filter", "control character"),
        ],
        ids=[
            "integer",
            "minimum",
            "required",
            "path-integer",
            "list",
            "odata-bool",
            "date-time",
            "uuid",
            "boolean",
            "body-json",
            "body-enum",
            "control-character",
        ],
    )
    def test_errors_are_shown_beside_the_field_they_name_and_nothing_is_sent(
        self, client_for, admin, urls, enqueued, operation_id, data, field, expected
    ):
        response = client_for(admin).post(urls.run(operation_id), data, headers=HTMX)
        assert response.status_code == 200
        block = field_block(response.text, field)
        assert 'role="alert"' in block, block
        assert expected in block, block
        assert "Not sent:" in response.text
        assert "Nothing was sent." in response.text
        assert not XapiCall.objects.exists()
        assert not enqueued.called

    def test_every_problem_is_shown_at_once(self, client_for, admin, urls):
        response = client_for(admin).post(
            urls.run("ListUser"), {"$filter": "a\x00", "$top": "ten"}, headers=HTMX
        )
        assert "control character" in field_block(response.text, "$filter")
        assert "whole number" in field_block(response.text, "$top")

    def test_what_was_typed_is_kept_and_the_first_problem_has_the_cursor(
        self, client_for, admin, urls
    ):
        response = client_for(admin).post(
            urls.run("ListUser"), {"$top": "ten", "$filter": "Number eq '100'"}, headers=HTMX
        )
        assert "value=\"Number eq '100'\"" in field_block(response.text, "$filter")
        assert "autofocus" in field_block(response.text, "$top")


class TestRun:
    def test_a_read_is_queued_at_once_and_its_answer_polled(
        self, client_for, viewer, urls, enqueued, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(viewer).post(
                urls.run("ListUser"), {"$top": "5", "$select": "Id,FirstName"}, headers=HTMX
            )
        call = XapiCall.objects.get()
        enqueued.assert_called_once_with(str(call.pk))
        assert (call.operation_id, call.requested_by, call.is_write) == ("ListUser", viewer, False)
        assert call.query == {"$top": "5", "$select": "Id,FirstName"}
        assert f'hx-get="{urls.call(call)}"' in response.text
        assert 'hx-trigger="every 1s"' in response.text
        assert 'id="console-request" class="card console-request"' in response.text
        assert 'id="console-result"' in response.text and 'hx-swap-oob="true"' in response.text
        assert "<html" not in response.text

    def test_without_htmx_the_whole_page_comes_back(self, client_for, viewer, urls, enqueued):
        page = client_for(viewer).post(urls.run("ListUser"), {"$top": "5"})
        assert "<html" in page.text and "Waiting for the PBX…" in page.text
        assert XapiCall.objects.count() == 1

    def test_a_write_is_shown_for_confirmation_with_the_current_state_being_read(
        self, client_for, admin, urls, enqueued, connection
    ):
        body = '{"FirstName": "Grace", "AuthPassword": "hunter2-secret"}'
        response = client_for(admin).post(
            urls.run("UpdateUser"), {"Id": str(USER_ID), "body": body}, headers=HTMX
        )
        text = html.unescape(response.text)
        assert "Send this to Main PBX?" in text
        assert "Nothing has been sent yet." in text
        assert '<span class="method method-patch">PATCH</span>' in text
        assert f"{connection.base_url}/xapi/v1/Users({USER_ID})" in text
        assert '"FirstName": "Grace"' in text and f'"AuthPassword": "{MASK}"' in text
        assert ">Send PATCH</button>" in text
        state = XapiCall.objects.get()  # the current state's read; the write is not queued
        assert (state.operation_id, state.params, state.is_write) == (
            "GetUser",
            {"Id": str(USER_ID)},
            False,
        )
        assert f'hx-get="{urls.call(state)}"' in text
        assert "Its current state" in text

    def test_send_queues_the_write_as_it_was_confirmed(
        self, client_for, admin, urls, enqueued, django_capture_on_commit_callbacks
    ):
        body = '{"FirstName": "Grace"}'
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(admin).post(
                urls.confirm("UpdateUser"), {"Id": str(USER_ID), "body": body}, headers=HTMX
            )
        call = XapiCall.objects.get()
        assert (call.operation_id, call.method, call.path, call.is_write) == (
            "UpdateUser",
            "PATCH",
            f"/Users({USER_ID})",
            True,
        )
        assert call.body_typed() == body
        enqueued.assert_called_once_with(str(call.pk))
        assert f'hx-get="{urls.call(call)}"' in response.text
        xapi_call_execute(call_id=call.pk)  # as the worker would
        entry = Activity.objects.get(action="xapi.write")
        assert (entry.actor, entry.ip_address) == (admin, "127.0.0.1")

    @pytest.mark.parametrize("step", ["run", "confirm"])
    def test_viewers_cannot_send_a_write(self, client_for, viewer, urls, enqueued, step):
        url = getattr(urls, step)("UpdateUser")
        response = client_for(viewer).post(url, {"Id": "5", "body": "{}"}, headers=HTMX)
        assert response.status_code == 403
        assert not XapiCall.objects.exists()

    def test_provider_staff_run_reads_but_never_writes(
        self, client_for, provider_staff, urls, enqueued
    ):
        client = client_for(provider_staff)
        assert client.post(urls.run("GetUser"), {"Id": "5"}, headers=HTMX).status_code == 200
        for step in (urls.run, urls.confirm):
            response = client.post(step("UpdateUser"), {"Id": "5", "body": "{}"}, headers=HTMX)
            assert response.status_code == 403
        assert list(XapiCall.objects.values_list("operation_id", flat=True)) == ["GetUser"]

    def test_with_writes_turned_off_not_even_an_admin_can_send_one(
        self, client_for, owner, organization, urls, enqueued
    ):
        organization.xapi_writes_enabled = False
        organization.save()
        client = client_for(owner)
        data = {"Id": "5", "body": '{"FirstName": "X"}'}
        assert client.post(urls.confirm("UpdateUser"), data).status_code == 403
        for step in (urls.run, urls.confirm):
            response = client.post(step("UpdateUser"), data, headers=HTMX)
            assert response.status_code == 200  # swapped in, saying why
            assert "Not sent." in response.text
            assert "turned off for Acme Telecom" in response.text
        assert not XapiCall.objects.exists()

    def test_a_call_over_the_limit_is_refused_with_429(
        self, client_for, viewer, urls, enqueued, settings
    ):
        settings.XAPI_CALLS_PER_USER = 1
        client = client_for(viewer)
        client.post(urls.run("ListUser"), {}, headers=HTMX)
        response = client.post(urls.run("ListUser"), {}, headers=HTMX)
        assert response.status_code == 429
        assert "Too many calls." in response.text
        assert XapiCall.objects.count() == 1


class TestCall:
    def test_the_fragment_polls_until_the_call_ends_then_stops_with_286(
        self, client_for, viewer, urls, connection, call_now
    ):
        queued = XapiCall.objects.create(
            organization=connection.organization,
            connection=connection,
            operation_id="GetUser",
            method="GET",
            path="/Users(5)",
            params={"Id": "5"},
        )
        client = client_for(viewer)
        waiting = client.get(urls.call(queued), headers=HTMX)
        assert waiting.status_code == 200
        assert "Waiting for the PBX…" in waiting.text
        assert 'hx-trigger="every 1s"' in waiting.text
        call = call_now(connection, "GetUser", params={"Id": str(USER_ID)})
        answered = client.get(urls.call(call), headers=HTMX)
        assert answered.status_code == 286
        assert "hx-trigger" not in answered.text
        assert "<html" not in answered.text

    def test_the_answer_shows_status_time_headers_and_foldable_json(
        self, client_for, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "ListUser", params={"$top": "3", "$select": "Id,FirstName"})
        fragment = html.unescape(client_for(viewer).get(urls.call(call), headers=HTMX).text)
        assert '<span class="status status-succeeded">Succeeded</span>' in fragment
        assert "HTTP 200" in fragment
        assert re.search(r"in \d+ ms", fragment)
        assert "<dt>OData-Version</dt><dd><code>4.0</code></dd>" in fragment
        assert '<details class="json-branch" open>' in fragment
        assert '<span class="json-key">FirstName</span>: <span class="json-string">"Ada"' in (
            fragment
        )
        assert "3 items" in fragment
        assert f'href="{urls.download(call)}"' in fragment.replace("&amp;", "&")
        assert f'href="{urls.download(call, "csv")}"' in fragment
        assert "Raw JSON" in fragment

    def test_an_error_shows_the_clients_title_message_and_status(
        self, client_for, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "GetUser", params={"Id": "999999"})
        fragment = client_for(viewer).get(urls.call(call), headers=HTMX).text
        assert "<strong>Not found (HTTP 404).</strong>" in fragment
        assert call.error in html.unescape(fragment)
        assert "Download JSON" not in fragment

    def test_a_write_without_content_says_so(self, client_for, admin, urls, connection, call_now):
        call = call_now(
            connection, "UpdateUser", params={"Id": "5"}, body='{"FirstName": "Ada"}', actor=admin
        )
        fragment = client_for(admin).get(urls.call(call), headers=HTMX).text
        assert "No content: the PBX answered 204, without a body." in fragment

    def test_the_calls_page_shows_the_request_and_the_answer(
        self, client_for, admin, urls, connection, call_now
    ):
        call = call_now(connection, "ListUser", params={"$top": "2"}, actor=admin)
        page = client_for(admin).get(urls.call(call))
        assert "<html" in page.text
        assert f"{connection.base_url}/xapi/v1/Users?%24top=2" in page.text
        assert f"Sent by {admin.email}" in page.text
        assert f'href="{urls.operation("ListUser")}?again={call.pk}"' in page.text
        assert '<details class="json-branch" open>' in page.text

    def test_a_call_whose_worker_stopped_ends_polling_with_a_clear_message(
        self, client_for, viewer, urls, connection, settings
    ):
        settings.JOB_STALE_AFTER = 60
        then = timezone.now() - timedelta(seconds=61)
        call = XapiCall.objects.create(
            organization=connection.organization,
            connection=connection,
            operation_id="ListUser",
            method="GET",
            path="/Users",
        )
        XapiCall.objects.filter(pk=call.pk).update(
            status="running", created_at=then, started_at=then, heartbeat_at=then
        )
        response = client_for(viewer).get(urls.call(call), headers=HTMX)
        assert response.status_code == 286
        assert "The worker stopped." in response.text


class TestDownloads:
    def test_the_answer_downloads_as_json(self, client_for, viewer, urls, connection, call_now):
        call = call_now(connection, "ListUser", params={"$top": "2", "$select": "Id,FirstName"})
        response = client_for(viewer).get(urls.download(call))
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert re.fullmatch(
            r'attachment; filename="main-pbx-ListUser-\d{8}-\d{6}\.json"',
            response["Content-Disposition"],
        )
        assert json.loads(response.content) == call.answer

    def test_a_collection_downloads_as_csv_with_every_property_and_no_formula(
        self, client_for, viewer, urls, connection, call_now, monkeypatch
    ):
        answered_with(
            monkeypatch,
            {
                "value": [
                    {"Id": 1, "FirstName": FORMULA, "Groups": [{"Name": "Sales"}]},
                    {"Id": 2, "Email": "ada@example.com", "IsAdmin": True},
                ]
            },
        )
        call = call_now(connection, "ListUser")
        response = client_for(viewer).get(urls.download(call, "csv"))
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].endswith('.csv"')
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows == [
            ["Id", "FirstName", "Groups", "Email", "IsAdmin"],
            ["1", f"'{FORMULA}", '[{"Name": "Sales"}]', "", ""],
            ["2", "", "", "ada@example.com", "yes"],
        ]

    def test_only_a_collection_downloads_as_csv(
        self, client_for, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "GetUser", params={"Id": str(USER_ID)})
        client = client_for(viewer)
        assert client.get(urls.download(call, "csv")).status_code == 404
        assert client.get(urls.download(call, "json")).status_code == 200

    def test_a_call_without_an_answer_has_nothing_to_download(
        self, client_for, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "GetUser", params={"Id": "999999"})
        assert client_for(viewer).get(urls.download(call)).status_code == 404


class TestMasking:
    def test_a_secret_of_the_answer_is_never_shown_downloaded_or_listed(
        self, client_for, viewer, urls, connection, call_now, simulator
    ):
        secret = simulator.simulator.get("Users", USER_ID)["AuthPassword"]
        call = call_now(connection, "GetUser", params={"Id": str(USER_ID)})
        client = client_for(viewer)
        fragment = client.get(urls.call(call), headers=HTMX).text
        assert MASK in fragment
        for response in (
            fragment,
            client.get(urls.call(call)).text,
            client.get(urls.download(call)).content.decode(),
            client.get(urls.history).text,
        ):
            assert secret not in response

    def test_a_secret_typed_in_a_body_is_never_shown_again(
        self, client_for, admin, viewer, urls, connection, call_now
    ):
        body = '{"FirstName": "Ada", "AuthPassword": "hunter2-secret"}'
        call = call_now(connection, "UpdateUser", params={"Id": "5"}, body=body, actor=admin)
        client = client_for(viewer)
        for page in (client.get(urls.call(call)), client.get(urls.history)):
            assert "hunter2" not in page.text
        assert f"&quot;AuthPassword&quot;: &quot;{MASK}&quot;" in client.get(urls.call(call)).text


class TestHistory:
    def test_it_lists_who_when_what_how_and_how_long_newest_first(
        self, client_for, viewer, admin, urls, connection, call_now
    ):
        call_now(connection, "ListUser", params={"$top": "1"}, actor=admin)
        call_now(connection, "GetUser", params={"Id": "999999"}, actor=viewer)
        page = client_for(viewer).get(urls.history)
        assert page.status_code == 200
        rows = page.text.split("<tbody>")[1].split("<tr>")[1:]
        assert len(rows) == 2
        assert ">GetUser<" in rows[0] and viewer.email in rows[0] and "Not found" in rows[0]
        assert ">ListUser<" in rows[1] and admin.email in rows[1] and "Succeeded" in rows[1]
        assert "/Users?$top=1" in rows[1]
        assert re.search(r"\d+ ms", rows[1])
        assert "Call again" in rows[0]

    def test_the_history_is_paginated(self, client_for, viewer, urls, connection):
        XapiCall.objects.bulk_create(
            XapiCall(
                organization=connection.organization,
                connection=connection,
                operation_id="ListUser",
                method="GET",
                path="/Users",
            )
            for _ in range(51)
        )
        client = client_for(viewer)
        assert "Page 1 of 2" in client.get(urls.history).text
        second = client.get(
            urls.history, {"page": "2"}, headers=HTMX | {"HX-Target": "console-history"}
        )
        assert second.text.count("<tr>") == 2  # the header and the 51st call
        assert "<html" not in second.text

    def test_an_empty_history_says_how_to_fill_it(self, client_for, viewer, urls):
        page = client_for(viewer).get(urls.history)
        assert "No calls yet" in page.text
        assert f'href="{urls.catalogue}"' in page.text

    def test_viewers_are_offered_to_call_again_reads_only(
        self, client_for, admin, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "UpdateUser", params={"Id": "5"}, body="{}", actor=admin)
        for url in (urls.history, urls.call(call)):
            assert "Call again" not in client_for(viewer).get(url).text
            assert "Call again" in client_for(admin).get(url).text

    def test_call_again_fills_the_form_in_as_the_call_was_sent(
        self, client_for, admin, urls, connection, call_now
    ):
        body = '{"FirstName": "Ada", "AuthPassword": "hunter2-secret"}'
        call = call_now(connection, "UpdateUser", params={"Id": "5"}, body=body, actor=admin)
        other_admin = UserFactory()
        connection.organization.memberships.create(user=other_admin, role="admin")
        page = client_for(other_admin).get(urls.operation("UpdateUser"), {"again": call.pk})
        assert 'value="5"' in field_block(page.text, "Id")
        assert "hunter2-secret" in field_block(page.text, "body")  # admins get the typed body
        assert "Filled in as sent" in page.text and admin.email in page.text

    def test_call_again_gives_others_the_masked_body_only(
        self, client_for, admin, viewer, urls, connection, call_now
    ):
        body = '{"parameters": {"Filesystem": "Local", "Path": "/", "Password": "hunter2"}}'
        call = call_now(connection, "GetDirectoryInfo", body=body, actor=admin)
        page = client_for(viewer).get(urls.operation("GetDirectoryInfo"), {"again": call.pk})
        assert "hunter2" not in page.text
        assert MASK in field_block(page.text, "body")
        assert "type them again before sending" in page.text
        own = call_now(connection, "GetDirectoryInfo", body=body, actor=viewer)
        page = client_for(viewer).get(urls.operation("GetDirectoryInfo"), {"again": own.pk})
        assert "hunter2" in field_block(page.text, "body")  # one's own typing

    def test_call_again_of_a_call_of_another_operation_is_404(
        self, client_for, viewer, urls, connection, call_now
    ):
        call = call_now(connection, "ListUser")
        page = client_for(viewer).get(urls.operation("GetUser"), {"again": call.pk})
        assert page.status_code == 404


def test_the_connections_page_links_to_the_console(
    client_for, viewer, organization, connection, urls
):
    page = client_for(viewer).get(
        reverse("connection_detail", args=[organization.pk, connection.pk])
    )
    assert f'<a href="{urls.catalogue}">XAPI console</a>' in page.text
