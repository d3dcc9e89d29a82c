"""Console calls recorded and sent in-process against the simulator over loopback HTTP, as
the worker sends them."""

import json
from unittest import mock

import pytest

from dashboard.console.models import XapiCall
from dashboard.console.services import (
    CallLimitReached,
    WritesDisabled,
    xapi_call_execute,
    xapi_call_request,
)
from dashboard.tenants.models import Activity
from integrations.threecx.client import OperationAnswer, ThreeCXClient
from integrations.threecx.operations.catalogue import operation_get
from integrations.threecx.operations.masking import MASK
from integrations.threecx.operations.requests import InvalidRequest
from integrations.threecx.simulator import Fault
from tests.dashboard.console.conftest import USER_ID

pytestmark = pytest.mark.django_db


def request(connection, operation_id, *, params=None, body=None, actor=None, **options):
    return xapi_call_request(
        connection=connection,
        actor=actor,
        operation=operation_get(operation_id),
        params=params or {},
        body=body,
        **options,
    )


def answered(status=200, data=None, *, size=None, content_type="application/json", headers=None):
    """What `operation_call` would return, for answers the simulator does not give."""
    text = json.dumps(data) if data is not None else ""
    return OperationAnswer(
        status=status,
        elapsed_ms=12,
        headers=headers or {"Content-Type": content_type},
        data=data,
        content_type=content_type,
        size=len(text) if size is None else size,
    )


class TestRequest:
    def test_an_invalid_request_records_nothing_and_names_every_problem(self, connection):
        with pytest.raises(InvalidRequest) as refused:
            request(connection, "UpdateUser", params={"Id": "five"}, body='{"FirstName": 5}')
        fields = {error.field for error in refused.value.errors}
        assert "Id" in fields
        assert any(field.startswith("body") for field in fields)
        assert not XapiCall.objects.exists()

    def test_a_write_is_refused_when_the_organisation_turned_writes_off(
        self, connection, organization
    ):
        organization.xapi_writes_enabled = False
        organization.save()
        with pytest.raises(WritesDisabled) as refused:
            request(connection, "UpdateUser", params={"Id": "5"}, body='{"FirstName": "Ada"}')
        assert refused.value.message == (
            "Writes through the XAPI console are turned off for Acme Telecom "
            "(Organisation settings)."
        )
        assert not XapiCall.objects.exists()
        assert request(connection, "GetUser", params={"Id": "5"}).is_read  # reads still go

    def test_the_typed_body_is_kept_encrypted_and_shown_masked(self, connection, admin):
        typed = '{"FirstName": "Ada", "AuthPassword": "hunter2-secret"}'
        call = request(connection, "UpdateUser", params={"Id": "5"}, body=typed, actor=admin)
        call.refresh_from_db()
        assert "hunter2" not in call.body_encrypted
        assert call.body_typed() == typed
        assert call.body_masked == {"FirstName": "Ada", "AuthPassword": MASK}
        assert (call.method, call.path, call.is_write, call.params) == (
            "PATCH",
            "/Users(5)",
            True,
            {"Id": "5"},
        )
        assert call.requested_by == admin

    def test_the_query_is_recorded_as_sent_and_the_params_as_typed(self, connection):
        call = request(connection, "ListUser", params={"$top": " 3", "$select": "", "$skip": "1"})
        assert call.query == {"$top": "3", "$skip": "1"}
        assert call.params == {"$top": " 3", "$skip": "1"}
        assert call.body_encrypted == "" and call.body_masked is None

    def test_the_task_is_queued_once_the_row_is_committed(
        self, connection, django_capture_on_commit_callbacks
    ):
        with mock.patch("dashboard.console.tasks.xapi_call_task.delay") as delay:
            with django_capture_on_commit_callbacks(execute=True):
                call = request(connection, "ListUser")
            delay.assert_called_once_with(str(call.pk))
            request(connection, "ListUser", enqueue=False)
            assert delay.call_count == 1

    def test_per_minute_limits_count_per_user_and_per_connection(
        self, connection, admin, viewer, settings
    ):
        settings.XAPI_CALLS_PER_USER = 2
        settings.XAPI_CALLS_PER_CONNECTION = 3
        for _ in range(2):
            request(connection, "ListUser", actor=admin, rate_limited=True)
        with pytest.raises(CallLimitReached, match="You have sent 2 calls in the last minute"):
            request(connection, "ListUser", actor=admin, rate_limited=True)
        request(connection, "ListUser", actor=viewer, rate_limited=True)
        with pytest.raises(CallLimitReached, match="Main PBX has been sent 3 calls"):
            request(connection, "ListUser", actor=viewer, rate_limited=True)
        request(connection, "ListUser", actor=viewer)  # the shell is not limited
        assert XapiCall.objects.count() == 4


class TestExecute:
    def test_a_read_records_status_headers_time_and_the_answer(self, connection, call_now):
        call = call_now(connection, "ListUser", params={"$top": "2", "$select": "Id,FirstName"})
        assert call.status == XapiCall.Status.SUCCEEDED, call.error
        assert call.response_status == 200
        assert call.response_headers["OData-Version"] == "4.0"
        assert call.response_headers["Content-Type"].startswith("application/json")
        assert call.elapsed_ms is not None and call.answer_bytes > 0
        assert [user["Id"] for user in call.answer["value"]] == [USER_ID, USER_ID + 1]
        assert not Activity.objects.exists()  # reads are in the history only

    def test_secret_fields_are_masked_before_the_answer_is_kept(
        self, simulator, connection, call_now
    ):
        secret = simulator.simulator.get("Users", USER_ID)["AuthPassword"]
        assert secret and secret != MASK
        call = call_now(connection, "GetUser", params={"Id": str(USER_ID)})
        call.refresh_from_db()
        assert call.answer["AuthPassword"] == MASK
        assert secret not in json.dumps(call.answer)

    def test_an_answer_that_is_a_secret_as_a_whole_is_masked(self, connection, call_now):
        call = call_now(connection, "GetPhoneSecret", params={"Id": str(USER_ID)})
        assert call.answer["value"] == MASK

    def test_a_write_changes_the_pbx_and_is_written_to_the_activity_log(
        self, simulator, connection, admin, call_now
    ):
        body = '{"FirstName": "Grace", "AuthPassword": "hunter2-secret"}'
        call = call_now(
            connection, "UpdateUser", params={"Id": str(USER_ID)}, body=body, actor=admin
        )
        assert (call.status, call.response_status) == (XapiCall.Status.SUCCEEDED, 204)
        assert simulator.simulator.get("Users", USER_ID)["FirstName"] == "Grace"
        assert call.answer is None and call.answer_note == ""
        entry = Activity.objects.get(action="xapi.write")
        assert (entry.actor, entry.target_id) == (admin, str(connection.pk))
        assert entry.target_label == "PATCH /Users(5) on Main PBX"
        assert entry.details == {
            "operation": "UpdateUser",
            "method": "PATCH",
            "path": "/Users(5)",
            "query": {},
            "status": 204,
            "outcome": "succeeded",
            "body": {"FirstName": "Grace", "AuthPassword": MASK},
        }
        assert "hunter2" not in json.dumps(entry.details)

    def test_a_failed_write_is_logged_with_its_status_and_error(
        self, simulator, connection, admin, call_now
    ):
        simulator.simulator.faults.add(Fault(match=r"Users\(5\)", method="PATCH", status=500))
        call = call_now(
            connection, "UpdateUser", params={"Id": "5"}, body='{"FirstName": "X"}', actor=admin
        )
        assert call.status == XapiCall.Status.FAILED
        assert (call.error_title, call.response_status) == ("3CX server error", 500)
        call.refresh_from_db()
        assert call.response_status == 500 and call.elapsed_ms is not None
        details = Activity.objects.get(action="xapi.write").details
        assert (details["status"], details["outcome"]) == (500, "failed")
        assert details["error"].startswith("3CX server error: ")

    def test_an_unknown_entity_fails_with_the_servers_status(self, connection, call_now):
        call = call_now(connection, "GetUser", params={"Id": "999999"})
        assert call.status == XapiCall.Status.FAILED
        assert (call.error_title, call.response_status) == ("Not found", 404)

    def test_an_answer_over_the_size_limit_is_noted_not_kept(self, connection, settings):
        settings.XAPI_ANSWER_MAX_BYTES = 1024
        client = mock.Mock(spec=ThreeCXClient)
        client.operation_call.return_value = answered(data={"value": ["x" * 2000]})
        call = request(connection, "ListUser", enqueue=False)
        call = xapi_call_execute(call_id=call.pk, client=client)
        assert call.status == XapiCall.Status.SUCCEEDED
        assert call.answer is None and call.answer_bytes > 1024
        assert "bigger than the 1.0\xa0KB the console keeps" in call.answer_note
        assert "$select" in call.answer_note

    def test_an_answer_that_is_not_json_is_noted(self, connection):
        client = mock.Mock(spec=ThreeCXClient)
        client.operation_call.return_value = answered(data=None, size=2048, content_type="text/csv")
        call = request(connection, "ListUser", enqueue=False)
        call = xapi_call_execute(call_id=call.pk, client=client)
        assert call.answer is None
        assert call.answer_note == (
            "The answer is not JSON (text/csv, 2.0\xa0KB): the console shows JSON answers only."
        )

    def test_the_answer_is_kept_as_it_came_nul_characters_and_key_order_included(self, connection):
        data = {"value": [{"Name\x00": "a\x00b", "Id": 1, "AVeryLongPropertyName": True}]}
        client = mock.Mock(spec=ThreeCXClient)
        client.operation_call.return_value = answered(data=data)
        call = request(connection, "ListUser", params={"$top": "1", "$skip": "2"}, enqueue=False)
        xapi_call_execute(call_id=call.pk, client=client)
        call = XapiCall.objects.get(pk=call.pk)
        assert call.answer == data
        assert list(call.answer["value"][0]) == ["Name\x00", "Id", "AVeryLongPropertyName"]
        assert list(call.query) == ["$top", "$skip"]  # as sent, for the URL shown

    def test_a_call_is_sent_once_even_if_the_task_comes_twice(
        self, simulator, connection, call_now
    ):
        call = call_now(connection, "GetUser", params={"Id": "5"})
        again = xapi_call_execute(call_id=call.pk)
        assert again.status == XapiCall.Status.SUCCEEDED
        assert simulator.simulator.request_count(r"Users\(5\)") == 1

    def test_an_unexpected_failure_still_finishes_the_row_and_logs_the_write(
        self, connection, admin, monkeypatch
    ):
        def explode(self, prepared):
            raise RuntimeError("bug")

        monkeypatch.setattr(ThreeCXClient, "operation_call", explode)
        call = request(
            connection, "UpdateUser", params={"Id": "5"}, body='{"FirstName": "X"}', actor=admin
        )
        with pytest.raises(RuntimeError):
            xapi_call_execute(call_id=call.pk)
        call.refresh_from_db()
        assert (call.status, call.error_title) == (XapiCall.Status.FAILED, "Unexpected error")
        assert Activity.objects.get(action="xapi.write").details["outcome"] == "failed"
