"""manage.py xapi_operations and manage.py xapi_call, against the simulator over real HTTP."""

import json
import os
import subprocess
import sys
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.console.models import XapiCall
from dashboard.tenants.models import Activity
from integrations.threecx.operations.catalogue import operations, operations_search
from integrations.threecx.operations.masking import MASK
from tests.dashboard.console.conftest import USER_ID
from tests.workers import ROOT, worker_database_url

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    """Standard input as a person typing at a terminal gives it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def typed(monkeypatch):
    """typed("y") -> standard input is a terminal where that line is typed."""

    def type_line(line: str) -> None:
        monkeypatch.setattr(sys, "stdin", Terminal(f"{line}\n"))

    return type_line


@pytest.fixture
def piped(monkeypatch) -> None:
    """Standard input is a pipe, not a terminal."""
    monkeypatch.setattr(sys, "stdin", StringIO("y\n"))


def run(command: str, *args: str) -> tuple[str, str]:
    """(stdout, stderr) of a command that succeeds."""
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(command: str, *args: str) -> tuple[str, str]:
    """(the error, stderr) of a command that must fail."""
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(command, *args, stdout=StringIO(), stderr=err)
    return str(failure.value), err.getvalue()


def manage(*args: str) -> subprocess.CompletedProcess:
    """Run manage.py in a process of its own, on the test database, as a person would."""
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "THREECX_ALLOW_HTTP": "true",
        "THREECX_ALLOWED_ADDRESSES": "127.0.0.1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # not a terminal, as under cron or in a pipeline
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def first_name(simulator) -> str:
    return simulator.simulator.get("Users", USER_ID)["FirstName"]


# --- xapi_operations ----------------------------------------------------------------------------


def test_it_lists_every_operation_one_per_line_with_the_count_at_the_end():
    output, _ = run("xapi_operations")
    lines = output.splitlines()
    assert len(lines) == len(operations()) + 1
    assert lines[-1] == f"{len(operations())} operations."
    list_user = next(line for line in lines if line.split()[1] == "ListUser")
    assert list_user.split() == ["GET", "ListUser", "read", "/Users"]
    update_user = next(line for line in lines if line.split()[1] == "UpdateUser")
    assert update_user.split() == ["PATCH", "UpdateUser", "write", "/Users({Id})"]


def test_search_keeps_the_operations_matching_every_word():
    output, _ = run("xapi_operations", "--search", "directory info")
    lines = output.splitlines()
    expected = operations_search("directory info")
    assert [line.split()[1] for line in lines[:-1]] == [operation.id for operation in expected]
    assert "GetDirectoryInfo" in output
    count = f"{len(expected)} operation{'' if len(expected) == 1 else 's'}"
    assert lines[-1] == f"{count} matching 'directory info'."


def test_tag_keeps_one_tags_operations_whatever_the_case():
    output, _ = run("xapi_operations", "--tag", "users")
    lines = output.splitlines()
    expected = operations_search(tag="Users")
    assert [line.split()[1] for line in lines[:-1]] == [operation.id for operation in expected]
    assert lines[-1] == f"{len(expected)} operations matching in tag Users."


def test_an_unknown_tag_is_an_error_that_suggests_close_ones():
    error, _ = refused("xapi_operations", "--tag", "Userz")
    assert error.startswith("There is no tag 'Userz' in the XAPI spec. Did you mean Users")


def test_a_search_that_matches_nothing_says_so():
    output, _ = run("xapi_operations", "--search", "nothing like this")
    assert output == "No operation matches 'nothing like this'.\n"


# --- xapi_call: what it refuses before sending anything -----------------------------------------


def test_an_unknown_operation_is_an_error_that_suggests_close_ones(connection):
    error, _ = refused("xapi_call", str(connection.pk), "ListUsers")
    assert error.startswith("There is no operation 'ListUsers' in the XAPI spec. Did you mean ")
    assert "ListUser" in error.split("Did you mean ")[1]


def test_an_operation_id_typed_in_the_wrong_case_suggests_the_right_one(connection):
    error, _ = refused("xapi_call", str(connection.pk), "listuser")
    assert "Did you mean ListUser" in error


def test_validation_errors_name_each_field_and_nothing_is_recorded(connection, simulator):
    error, _ = refused(
        "xapi_call", str(connection.pk), "ListUser", "--param", "$top=many", "--param", "Nope=1"
    )
    lines = error.splitlines()
    assert lines[0] == "ListUser was not sent: the request does not match the spec."
    assert any(line.startswith("  $top: ") for line in lines)
    assert any(line.startswith("  Nope: ") for line in lines)
    assert not XapiCall.objects.exists()
    assert simulator.simulator.request_count(r"/xapi/") == 0


def test_a_missing_path_parameter_is_named(connection):
    error, _ = refused("xapi_call", str(connection.pk), "GetUser")
    assert "\n  Id: " in error


def test_a_body_that_is_not_json_is_named(connection, piped):
    error, _ = refused(
        "xapi_call", str(connection.pk), "UpdateUser", "--param", f"Id={USER_ID}", "--body", "{"
    )
    assert "\n  body" in error
    assert not XapiCall.objects.exists()


def test_a_param_without_a_value_is_refused(connection):
    error, _ = refused("xapi_call", str(connection.pk), "ListUser", "--param", "$top")
    assert error.startswith("--param '$top' is not NAME=VALUE")


def test_a_body_file_that_cannot_be_read_is_named(connection, tmp_path):
    missing = tmp_path / "missing.json"
    error, _ = refused("xapi_call", str(connection.pk), "ListUser", "--body", f"@{missing}")
    assert error == f"--body: cannot read {missing}: No such file or directory."


def test_an_unknown_connection_id_is_a_clear_error(db):
    missing = uuid.uuid4()
    error, _ = refused("xapi_call", str(missing), "ListUser")
    assert error == f"There is no 3CX connection with id {missing}."


def test_a_malformed_connection_id_is_a_clear_error(db):
    error, _ = refused("xapi_call", "42", "ListUser")
    assert error.startswith("'42' is not a connection id: expected a UUID")


def test_it_warns_when_the_servers_version_lacks_the_operation(connection, piped):
    connection.version = "20.0.8"
    connection.save()
    _, errors = refused("xapi_call", str(connection.pk), "UpdateAISettings", "--body", "{}")
    assert errors.startswith("UpdateAISettings: Not in 20.0.8 (this PBX runs 20.0.8)")


# --- xapi_call: reads ---------------------------------------------------------------------------


def test_a_read_prints_the_answer_as_json_and_the_status_on_stderr(connection):
    output, errors = run(
        "xapi_call", str(connection.pk), "ListUser", "--param", "$top=2", "--param", "$select=Id"
    )
    assert json.loads(output)["value"] == [{"Id": 5}, {"Id": 6}]
    assert errors.startswith("HTTP 200 OK in ")
    call = XapiCall.objects.get()
    assert call.status == XapiCall.Status.SUCCEEDED
    assert call.requested_by is None
    assert call.response_status == 200
    assert call.worker.startswith("manage.py xapi_call on ")


def test_secrets_in_the_answer_are_masked(connection, simulator):
    user = simulator.simulator.get("Users", USER_ID)
    output, _ = run("xapi_call", str(connection.pk), "GetUser", "--param", f"Id={USER_ID}")
    answer = json.loads(output)
    assert answer["FirstName"] == user["FirstName"]
    assert answer["AuthPassword"] == MASK
    assert answer["VMPIN"] == MASK
    assert user["AuthPassword"] not in output
    assert user["VMPIN"] not in output


def test_a_failed_call_exits_non_zero_with_the_clients_message_and_the_status(connection):
    error, _ = refused("xapi_call", str(connection.pk), "GetUser", "--param", "Id=999999")
    assert error.startswith("Not found: ")
    assert error.endswith(" (HTTP 404)")
    call = XapiCall.objects.get()
    assert call.status == XapiCall.Status.FAILED
    assert call.response_status == 404
    assert error == f"{call.error_title}: {call.error} (HTTP 404)"


# --- xapi_call: writes --------------------------------------------------------------------------


def test_a_write_with_yes_changes_the_server_and_is_in_the_activity_log(
    connection,
    simulator,
    tmp_path,
):
    body = tmp_path / "body.json"
    body.write_text('{"FirstName": "Zed"}', encoding="utf-8")
    output, errors = run(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        f"@{body}",
        "--yes",
    )
    assert first_name(simulator) == "Zed"
    assert errors.startswith("HTTP 204 No Content in ")
    assert output == ""
    call = XapiCall.objects.get()
    assert call.is_write
    assert call.status == XapiCall.Status.SUCCEEDED
    entry = Activity.objects.get(action="xapi.write")
    assert entry.organization == connection.organization
    assert entry.actor is None
    assert entry.details["method"] == "PATCH"
    assert entry.details["status"] == 204
    assert entry.details["body"] == {"FirstName": "Zed"}


def test_a_write_shows_the_exact_request_and_is_sent_when_confirmed(
    connection,
    simulator,
    typed,
):
    typed("yes")
    _, errors = run(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        '{"FirstName": "Zed"}',
    )
    url = f"{simulator.base_url}/xapi/v1/Users({USER_ID})"
    assert errors.startswith(
        f'A write to Main PBX (Acme Telecom):\nPATCH {url}\n{{\n  "FirstName": "Zed"\n}}\n'
        "Send this write? [y/N] "
    )
    assert first_name(simulator) == "Zed"


@pytest.mark.parametrize("answer", ["n", "", "yes please", "Y es"])
def test_anything_but_yes_cancels_the_write(connection, simulator, typed, answer):
    before = first_name(simulator)
    typed(answer)
    error, _ = refused(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        '{"FirstName": "Zed"}',
    )
    assert error == "Cancelled: nothing was sent."
    assert first_name(simulator) == before
    assert not XapiCall.objects.exists()


def test_secrets_in_the_request_shown_for_confirmation_are_masked(connection, piped):
    _, errors = refused(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        '{"FirstName": "Zed", "AuthPassword": "s3cret-typed", "VMPIN": "4711"}',
    )
    assert f'"AuthPassword": "{MASK}"' in errors
    assert f'"VMPIN": "{MASK}"' in errors
    assert "s3cret-typed" not in errors
    assert "4711" not in errors


def test_a_write_is_refused_when_stdin_is_not_a_terminal_and_yes_is_not_given(
    connection,
    simulator,
    piped,
):
    before = first_name(simulator)
    error, errors = refused(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        '{"FirstName": "Zed"}',
    )
    assert error.startswith("Not sent: this is a write and standard input is not a terminal")
    assert "add --yes" in error
    assert f"PATCH {simulator.base_url}/xapi/v1/Users({USER_ID})" in errors
    assert first_name(simulator) == before
    assert not XapiCall.objects.exists()


@pytest.mark.parametrize("confirm", [["--yes"], []], ids=["with --yes", "without"])
def test_writes_are_refused_when_the_organisation_turned_them_off(
    connection,
    simulator,
    typed,
    confirm,
):
    connection.organization.xapi_writes_enabled = False
    connection.organization.save()
    before = first_name(simulator)
    typed("y")
    error, errors = refused(
        "xapi_call",
        str(connection.pk),
        "UpdateUser",
        "--param",
        f"Id={USER_ID}",
        "--body",
        '{"FirstName": "Zed"}',
        *confirm,
    )
    assert "turned off for Acme Telecom" in error
    assert "Send this write" not in errors
    assert first_name(simulator) == before
    assert not XapiCall.objects.exists()


def test_reads_are_still_allowed_when_writes_are_turned_off(connection):
    connection.organization.xapi_writes_enabled = False
    connection.organization.save()
    output, _ = run("xapi_call", str(connection.pk), "GetUser", "--param", f"Id={USER_ID}")
    assert json.loads(output)["Id"] == USER_ID


# --- xapi_call from a real shell: exit status, streams, stdin -----------------------------------


@pytest.mark.django_db(transaction=True)  # the command's own process reads the connection
def test_from_the_shell_stdout_is_only_the_json_answer(connection):
    done = manage("xapi_call", str(connection.pk), "GetUser", "--param", f"Id={USER_ID}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Id"] == USER_ID
    assert any(line.startswith("HTTP 200 OK in ") for line in done.stderr.splitlines())


@pytest.mark.django_db(transaction=True)  # the command's own process reads the connection
def test_from_the_shell_a_write_without_yes_on_a_pipe_is_refused_with_a_non_zero_exit(
    connection,
    simulator,
):
    before = first_name(simulator)
    args = ["xapi_call", str(connection.pk), "UpdateUser", "--param", f"Id={USER_ID}"]
    done = manage(*args, "--body", '{"FirstName": "Zed"}')
    assert done.returncode != 0
    assert "standard input is not a terminal" in done.stderr
    assert done.stdout == ""
    assert first_name(simulator) == before
    assert not XapiCall.objects.exists()


@pytest.mark.django_db(transaction=True)  # the command's own process reads the connection
def test_from_the_shell_a_failed_call_exits_non_zero_with_the_clients_message(connection):
    done = manage("xapi_call", str(connection.pk), "GetUser", "--param", "Id=999999")
    assert done.returncode == 1
    assert "Not found: " in done.stderr
    assert "(HTTP 404)" in done.stderr
