"""Browsing run in-process against the simulator over loopback HTTP, as the worker runs it."""

from urllib.parse import parse_qsl

import pytest

from dashboard.storage import selectors
from dashboard.storage.models import StorageBrowse
from dashboard.storage.services import storage_browse_execute, storage_browse_request
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.directory_info import directory_parameters_parse
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Fault

pytestmark = pytest.mark.django_db


def follow(browse_now, connection, place: selectors.Place) -> StorageBrowse:
    """Open a folder or crumb the way the page does: a GET of its query, or a POST of its JSON."""
    if place.parameters:
        inner = directory_parameters_parse(place.parameters)["parameters"]
        return browse_now(
            connection,
            filesystem=inner["Filesystem"],
            path=inner["Path"],
            raw_parameters=place.parameters,
        )
    query = dict(parse_qsl(place.query, keep_blank_values=True))
    return browse_now(
        connection, filesystem=query["filesystem"], path=query["path"], root=query["root"]
    )


def folder(browse: StorageBrowse, label: str) -> selectors.Place:
    return next(place for place in selectors.browse_folders(browse) if place.label == label)


def test_the_top_folder_lists_its_subfolders(simulator, connection_to, browse_now):
    browse = browse_now(connection_to(simulator), filesystem="Local")
    assert browse.status == StorageBrowse.Status.SUCCEEDED, browse.error
    assert browse.result["Dirs"] == ["/home", "/mnt", "/var"]
    assert browse.root == "/"
    assert browse.finished_at is not None
    assert [place.label for place in selectors.browse_folders(browse)] == ["home", "mnt", "var"]


def test_folders_open_two_levels_deep_and_the_breadcrumb_leads_back(
    simulator, connection_to, browse_now
):
    connection = connection_to(simulator)
    top = browse_now(connection, filesystem="Local")
    mnt = follow(browse_now, connection, folder(top, "mnt"))
    nas = follow(browse_now, connection, folder(mnt, "nas"))
    assert nas.result["Path"] == "/mnt/nas"
    assert nas.result["Dirs"] == ["/mnt/nas/3cx-backups"]
    crumbs = selectors.browse_breadcrumb(nas)
    assert [(crumb.label, crumb.path) for crumb in crumbs] == [
        ("Local disk", "/"),
        ("mnt", "/mnt"),
        ("nas", "/mnt/nas"),
    ]
    back = follow(browse_now, connection, crumbs[1])
    assert back.result["Dirs"] == ["/mnt/nas"]


def test_a_deep_top_folder_starts_the_breadcrumb(simulator, connection_to, browse_now):
    connection = connection_to(simulator)
    logs = browse_now(connection, filesystem="Logs")
    services = follow(browse_now, connection, folder(logs, "Services"))
    assert [crumb.label for crumb in selectors.browse_breadcrumb(services)] == [
        "Logs",
        "Services",
    ]
    assert selectors.browse_breadcrumb(services)[0].path == logs.result["Path"]


def test_advanced_json_is_sent_as_typed_and_kept_while_browsing(
    simulator, connection_to, browse_now
):
    connection = connection_to(simulator)
    raw = '{"parameters": {"Filesystem": "GoogleDrive", "Path": "/My Drive", "Json": "{}"}}'
    drive = browse_now(connection, filesystem="GoogleDrive", path="/My Drive", raw_parameters=raw)
    assert drive.status == StorageBrowse.Status.SUCCEEDED, drive.error
    assert "/My Drive/3CX Backups" in drive.result["Dirs"]
    backups = follow(browse_now, connection, folder(drive, "3CX Backups"))
    assert "GoogleDrive" not in backups.raw_parameters  # stored encrypted
    assert backups.parameters_typed() == (
        '{"Filesystem": "GoogleDrive", "Path": "/My Drive/3CX Backups", "Json": "{}"}'
    )
    assert backups.result["Dirs"] == ["/My Drive/3CX Backups/Données"]
    assert '"Données"' not in selectors.browse_answer_json(backups)  # full paths, unescaped
    assert "/My Drive/3CX Backups/Données" in selectors.browse_answer_json(backups)


def test_an_unknown_path_is_reported_with_what_to_do(simulator, connection_to, browse_now):
    browse = browse_now(connection_to(simulator), filesystem="Local", path="/nowhere")
    assert browse.status == StorageBrowse.Status.FAILED
    assert browse.error_title == "Invalid parameters"
    assert "The directory '/nowhere' does not exist on Local" in browse.error
    assert "breadcrumb" in selectors.browse_advice(browse)
    assert [crumb.path for crumb in selectors.browse_breadcrumb(browse)] == ["", "/nowhere"]


def test_a_server_error_is_reported_as_such(simulator, connection_to, browse_now):
    simulator.simulator.faults.add(Fault(match="GetDirectoryInfo", kind="status", status=500))
    browse = browse_now(connection_to(simulator))
    assert browse.status == StorageBrowse.Status.FAILED
    assert browse.error_title == "3CX server error"
    assert "HTTP 500" in browse.error
    assert "Try again" in selectors.browse_advice(browse)


def test_a_missing_operation_blames_the_connection(simulator, connection_to, browse_now):
    simulator.simulator.faults.add(Fault(match="GetDirectoryInfo", kind="status", status=404))
    browse = browse_now(connection_to(simulator))
    assert browse.error_title == "Not found"
    assert "Check the server address" in browse.error
    assert selectors.browse_blames_connection(browse)


def test_bad_credentials_are_reported_with_where_to_fix_them(simulator, connection_to, browse_now):
    connection = connection_to(simulator)
    connection.client_secret_set("not-the-secret")
    connection.save()
    browse = browse_now(connection)
    assert browse.status == StorageBrowse.Status.FAILED
    assert browse.error_title == "Authentication failed"
    assert "client ID and secret" in browse.error
    assert "not-the-secret" not in browse.error
    assert selectors.browse_blames_connection(browse)


def test_a_wrong_server_address_is_reported(organization, browse_now):
    connection = connection_save(
        connection=ThreeCXConnection(
            organization=organization, name="Nobody", base_url="http://127.0.0.1:9", client_id="9"
        ),
        client_secret="secret",
    )
    browse = browse_now(connection)
    assert browse.error_title == "Connection failed"
    assert "refused the connection" in browse.error


def test_a_question_is_asked_once_even_if_the_task_comes_twice(
    simulator, connection_to, browse_now
):
    browse = browse_now(connection_to(simulator))
    again = storage_browse_execute(browse_id=browse.pk)
    assert again.status == StorageBrowse.Status.SUCCEEDED
    assert simulator.simulator.request_count("GetDirectoryInfo") == 1


def test_an_unexpected_failure_still_finishes_the_row(simulator, connection_to, monkeypatch):
    def explode(self, parameters):
        raise RuntimeError("bug")

    monkeypatch.setattr(ThreeCXClient, "get_directory_info", explode)
    queued = storage_browse_request(
        connection=connection_to(simulator), actor=None, filesystem="Local"
    )
    with pytest.raises(RuntimeError):
        storage_browse_execute(browse_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == StorageBrowse.Status.FAILED
    assert queued.error_title == "Unexpected error"
