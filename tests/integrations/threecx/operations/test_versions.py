"""Which operations a server offers, told from its X-3CX-Version and the carried spec lists."""

import json
import re
import shutil
from dataclasses import dataclass

import pytest

from integrations.threecx import spec
from integrations.threecx.operations import versions
from integrations.threecx.operations.versions import (
    operation_availability,
    spec_versions,
    version_match,
    version_update,
    versions_missing_operations,
)

#: Added by 20.0.10 (read from the official 20.0.9 spec; see spec/versions/SOURCE.md).
NEW_IN_20_0_10 = {
    ("GET", "/AISettings/Pbx.GetAIResources(provider={provider})"),
    ("GET", "/AISettings/Pbx.GetCurrentAIResources()"),
    ("POST", "/AISettings/Pbx.BatchDeleteFiles"),
    ("POST", "/Backups/Pbx.GetSftpHostKey"),
    ("POST", "/Defs/Pbx.ReportLogEvent"),
    ("GET", "/McpServers/Pbx.GetServerMetadata(targetIssuer={targetIssuer})"),
    ("POST", "/McpServers/Pbx.Register"),
    ("POST", "/McpServers/Pbx.Exchange"),
    ("POST", "/MyUser/Pbx.IssueDownloadTicket"),
    ("GET", "/OAuthClients"),
    ("GET", "/OAuthClients({Id})"),
    ("DELETE", "/OAuthClients({Id})"),
    ("POST", "/OAuthClients({Id})/Pbx.RefreshClientMetadata"),
    ("GET", "/GetUpdateDetails(key={key},id={id})"),
}
GONE_IN_20_0_10 = {
    ("GET", "/AISettings/Pbx.GetAIResources()"),
    ("GET", "/Recordings/Pbx.DownloadRecordingByName(recName={recName})"),
    ("GET", "/GetClientCrmUpdates()"),
}
#: Added by 20.0.9 (read from the official 20.0.8 spec; see spec/versions/SOURCE.md).
NEW_IN_20_0_9 = {
    ("GET", "/AISettings"),
    ("PATCH", "/AISettings"),
    ("GET", "/AISettings/Pbx.GetAIResources()"),
    ("GET", "/AISettings/Pbx.GetAITemplateContents(id={id})"),
    ("GET", "/AISettings/Pbx.GetVectorStores(limit={limit},after={after})"),
    ("GET", "/AISettings/Pbx.GetVectorStoreFiles(id={id},limit={limit},after={after})"),
    ("GET", "/AISettings/Pbx.GetVectorStore(id={id})"),
    ("POST", "/AISettings/Pbx.CreateVectorStore"),
    ("POST", "/AISettings/Pbx.UpdateVectorStore"),
    ("POST", "/AISettings/Pbx.DeleteVectorStore"),
    ("POST", "/AISettings/Pbx.DeleteVectorStoreFile"),
    ("POST", "/AISettings/Pbx.DeleteOpenAiFile"),
    ("POST", "/AISettings/Pbx.AddVectorStoreFiles"),
    ("GET", "/Contacts/Pbx.GetContactsByNumber(number={number})"),
    ("POST", "/Contacts/Pbx.CreateContactByNumber"),
    ("POST", "/Contacts/Pbx.DeleteContactsById"),
    ("POST", "/Contacts/Pbx.DeleteDepartmentContactsByType"),
    ("POST", "/Contacts/Pbx.DeletePersonalContactsByType"),
    ("POST", "/Contacts/Pbx.DeleteContactsByType"),
    ("POST", "/Defs/Pbx.SendEmail"),
    ("POST", "/Microsoft365Integration/Pbx.GetM365Groups"),
    ("GET", "/SyslogSettings"),
    ("PATCH", "/SyslogSettings"),
    ("POST", "/SyslogSettings/Pbx.TestConnection"),
    ("POST", "/Trunks/Pbx.GetProviderPhones"),
    ("POST", "/Users/Pbx.InstallFirmware"),
    (
        "GET",
        "/ReportChatLog/Pbx.GetChatLog(periodFrom={periodFrom},periodTo={periodTo},"
        "fromType={fromType},fromExtension={fromExtension},fromText={fromText},toType={toType},"
        "toExtension={toExtension},toText={toText},chatType={chatType},"
        "participantType={participantType})",
    ),
    (
        "GET",
        "/ReportChatLog/Pbx.DownloadChatLog(clientTimeZone={clientTimeZone},"
        "periodFrom={periodFrom},periodTo={periodTo},fromType={fromType},"
        "fromExtension={fromExtension},fromText={fromText},toType={toType},"
        "toExtension={toExtension},toText={toText},chatType={chatType},"
        "participantType={participantType})",
    ),
}
GONE_IN_20_0_9 = {
    ("POST", "/Contacts/Pbx.BatchContactsDelete"),
    ("POST", "/Contacts/Pbx.Office365PersonalContactsBulkDelete"),
    ("POST", "/Contacts/Pbx.GooglePersonalContactsBulkDelete"),
    ("POST", "/Contacts/Pbx.Office365ContactsBulkDelete"),
    ("POST", "/Contacts/Pbx.CRMContactsBulkDelete"),
    ("POST", "/Contacts/Pbx.AllContactsBulkDelete"),
    ("GET", "/Contacts/Pbx.ExportContacts()"),
    ("POST", "/Trunks/Pbx.GetProviderAvailablePhoneNumbers"),
    ("GET", "/Users/Pbx.GetMonitorStatus()"),
}
# A path template as the spec writes them: segments of names, keys and function parameters.
SANE_PATH = re.compile(r"(/[A-Za-z0-9_.]+(\([A-Za-z0-9_{}=,]*\))?)+")


@dataclass(frozen=True)
class Op:
    """What operation_availability reads of a catalogue Operation."""

    id: str
    method: str
    path: str


LIST_USERS = Op("ListUser", "GET", "/Users")
LIST_OAUTH_CLIENTS = Op("ListOAuthClient", "GET", "/OAuthClients")
GET_AI_RESOURCES = Op(
    "GetAIResources", "GET", "/AISettings/Pbx.GetAIResources(provider={provider})"
)


def carried_files():
    return sorted(versions.VERSIONS_DIR.glob("*.json"))


@pytest.fixture
def versions_dir(tmp_path, monkeypatch):
    """A versions folder of the test's own, holding a copy of the real 20.0.9 list."""
    shutil.copy(versions.VERSIONS_DIR / "20.0.9.json", tmp_path)
    monkeypatch.setattr(versions, "VERSIONS_DIR", tmp_path)
    versions._carried.cache_clear()
    yield tmp_path
    versions._carried.cache_clear()


def listed(path):
    """The (method, path) pairs a carried file lists."""
    return {tuple(e.split(" ", 1)) for e in json.loads(path.read_text())["operations"]}


def write_version(folder, version, entries, changes=None):
    data = {
        "version": version,
        "source": {"repository": "example.org/spec", "path": "swagger.yaml", "commit": "abc"},
        "operation_count": len(entries),
        "operations": sorted(entries),
        **(changes or {}),
    }
    (folder / f"{version}.json").write_text(json.dumps(data))


# Reading the version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "update"),
    [
        ("20.0.10.870", (20, 0, 10)),
        ("20.0.9.1044", (20, 0, 9)),
        ("20.0.10", (20, 0, 10)),
        ("  20.0.8.1109\n", (20, 0, 8)),
        ("v20.0.9.1044", (20, 0, 9)),
    ],
)
def test_it_reads_the_update_of_three_and_four_part_versions(reported, update):
    assert version_update(reported) == update


@pytest.mark.parametrize(
    "reported", ["", None, "   ", "junk", "20", "20.0", "20.0.x", "20.0.10.870.1", "20.0.10 beta"]
)
def test_it_reads_nothing_from_empty_or_malformed_versions(reported):
    assert version_update(reported) is None


# The carried versions ----------------------------------------------------------------------


def test_it_carries_20_0_8_20_0_9_and_the_20_0_10_spec_oldest_first_with_their_sources():
    carried = spec_versions()

    assert [(v.version, v.operation_count) for v in carried] == [
        ("20.0.8", 571),
        ("20.0.9", 590),
        ("20.0.10", 601),
    ]
    assert "760baa5bef57d3d6496f312e4db9c16e8a6d91f9" in carried[0].source
    assert "ee3de055c15bc4724146ee19d016400b1b35ff2e" in carried[1].source
    assert "ceb6d0de3cc4f828e5afc24f8aa415073dffc483" in carried[2].source


@pytest.mark.parametrize("path", carried_files(), ids=lambda path: path.name)
def test_every_carried_file_lists_sane_unique_method_and_path_pairs(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = [entry.split(" ", 1) for entry in data["operations"]]

    assert path.stem == data["version"] and version_update(data["version"])
    assert {"repository", "path", "commit"} <= set(data["source"])
    assert len(pairs) == len({tuple(pair) for pair in pairs}) == data["operation_count"]
    for method, template in pairs:
        assert method in versions.METHODS
        assert SANE_PATH.fullmatch(template), template
        assert template.count("{") == template.count("}")


@pytest.mark.parametrize("path", carried_files(), ids=lambda path: path.name)
def test_every_carried_file_mostly_names_operations_the_current_spec_still_has(path):
    """A guard against a list of the wrong thing: updates add and drop a few operations."""
    pairs = listed(path)

    assert len(pairs - versions._current()) <= len(pairs) // 20


def test_the_20_0_9_list_differs_from_the_spec_by_what_was_read_from_20_0_9():
    pairs = listed(versions.VERSIONS_DIR / "20.0.9.json")

    assert versions._current() - pairs == NEW_IN_20_0_10
    assert pairs - versions._current() == GONE_IN_20_0_10


def test_the_20_0_8_list_differs_from_20_0_9_by_what_was_read_from_20_0_8():
    older = listed(versions.VERSIONS_DIR / "20.0.8.json")
    newer = listed(versions.VERSIONS_DIR / "20.0.9.json")

    assert newer - older == NEW_IN_20_0_9
    assert older - newer == GONE_IN_20_0_9


def test_the_20_0_8_list_differs_from_the_spec_by_both_updates_since():
    pairs = listed(versions.VERSIONS_DIR / "20.0.8.json")

    assert len(pairs) == 571
    assert versions._current() - pairs == NEW_IN_20_0_10 | (NEW_IN_20_0_9 - GONE_IN_20_0_10)
    assert pairs - versions._current() == GONE_IN_20_0_9 | (GONE_IN_20_0_10 - NEW_IN_20_0_9)


def test_the_current_list_is_every_operation_of_the_spec():
    paths = spec.load_spec()["paths"]

    assert len(versions._current()) == 601
    assert all(method.lower() in paths[path] for method, path in versions._current())


# What a server of a carried version offers -------------------------------------------------


def test_a_20_0_9_server_offers_what_20_0_9_had():
    availability = operation_availability(LIST_USERS, "20.0.9.1044")

    assert availability.available is True
    assert availability.note == "In 20.0.9 (this PBX runs 20.0.9.1044)."


def test_a_20_0_9_server_lacks_what_20_0_10_added_and_says_so():
    availability = operation_availability(LIST_OAUTH_CLIENTS, "20.0.9.1044")

    assert availability.available is False
    assert availability.note == (
        "Not in 20.0.9 (this PBX runs 20.0.9.1044): added in a later update (it is in 20.0.10)."
    )


def test_a_function_whose_parameters_changed_names_the_older_form():
    availability = operation_availability(GET_AI_RESOURCES, "20.0.9")

    assert availability.available is False
    assert "20.0.9 has it in another form: GET /AISettings/Pbx.GetAIResources()" in (
        availability.note
    )


def test_a_20_0_10_server_offers_every_operation_of_the_catalogue():
    from integrations.threecx.operations.catalogue import operations

    answers = {operation_availability(op, "20.0.10.870").available for op in operations().values()}

    assert answers == {True}


def test_under_20_0_9_exactly_the_operations_20_0_10_added_are_marked_absent():
    from integrations.threecx.operations.catalogue import operations

    absent = {
        (op.method, op.path)
        for op in operations().values()
        if operation_availability(op, "20.0.9.1044").available is not True
    }

    assert absent == NEW_IN_20_0_10
    assert versions_missing_operations("20.0.9.1044") == NEW_IN_20_0_10


def test_a_20_0_8_server_lacks_what_20_0_9_added_and_keeps_what_it_dropped():
    ai_settings = operation_availability(Op("GetAISettings", "GET", "/AISettings"), "20.0.8.1109")
    export_contacts = operation_availability(
        Op("ExportContacts", "GET", "/Contacts/Pbx.ExportContacts()"), "20.0.8.1109"
    )

    assert ai_settings.available is False
    assert ai_settings.note == (
        "Not in 20.0.8 (this PBX runs 20.0.8.1109): added in a later update (it is in 20.0.10)."
    )
    assert export_contacts.available is True
    assert versions_missing_operations("20.0.8.1109") == versions._current() - listed(
        versions.VERSIONS_DIR / "20.0.8.json"
    )


def test_the_method_is_matched_whatever_its_case():
    assert operation_availability(Op("x", "get", "/Users"), "20.0.9").available is True


# Versions the carried data cannot place ----------------------------------------------------


@pytest.mark.parametrize("reported", ["", None, "   "])
def test_an_unknown_version_leaves_availability_unknown(reported):
    availability = operation_availability(LIST_OAUTH_CLIENTS, reported)

    assert availability.available is None
    assert "not known yet" in availability.note
    assert versions_missing_operations(reported) == frozenset()


def test_an_unreadable_version_leaves_availability_unknown_and_quotes_it():
    availability = operation_availability(LIST_USERS, "3CX Phone System")

    assert availability.available is None
    assert "'3CX Phone System'" in availability.note


@pytest.mark.parametrize("reported", ["20.0.7.1057", "20.0.5.123", "18.0.9.20"])
def test_a_version_older_than_anything_carried_is_unknown(reported):
    availability = operation_availability(LIST_USERS, reported)

    assert availability.available is None
    assert availability.note == (
        f"This PBX runs {reported}, older than any XAPI description this project carries "
        "(20.0.8, 20.0.9 and 20.0.10): which operations it offers cannot be told."
    )
    assert versions_missing_operations(reported) == frozenset()


def test_a_later_update_is_read_as_20_0_10_with_a_warning():
    availability = operation_availability(LIST_OAUTH_CLIENTS, "20.0.11.120")

    assert availability.available is True
    assert "newer than the 20.0.10 description" in availability.note
    assert "newer updates may add or remove some" in availability.note
    assert versions_missing_operations("20.0.11.120") == frozenset()


@pytest.mark.parametrize("reported", ["21.0.0.10", "20.1.2"])
def test_a_later_release_line_is_unknown(reported):
    availability = operation_availability(LIST_USERS, reported)

    assert availability.available is None
    assert "a later release than the 20.0 updates" in availability.note


def test_the_match_names_the_carried_version_a_server_is_shown_as():
    match = version_match("20.0.9.1044")

    assert match.exact and match.lower.version == "20.0.9"
    assert match.note == "This PBX runs 20.0.9.1044: operations are shown as in 20.0.9."


# Between two carried versions (with a folder of the test's own) ----------------------------


def test_between_two_carried_versions_only_what_both_agree_on_is_told(versions_dir):
    listed = json.loads((versions_dir / "20.0.9.json").read_text())["operations"]
    older = set(listed) - {"GET /ActiveCalls"}
    write_version(versions_dir, "20.0.5", older)

    match = version_match("20.0.7.1057")
    in_both = operation_availability(LIST_USERS, "20.0.7.1057")
    added_between = operation_availability(Op("ListActiveCall", "GET", "/ActiveCalls"), "20.0.7")
    in_neither = operation_availability(LIST_OAUTH_CLIENTS, "20.0.7")

    assert (match.lower.version, match.upper.version) == ("20.0.5", "20.0.9")
    assert in_both.available is True
    assert added_between.available is None
    assert added_between.note == (
        "In 20.0.9 but not in 20.0.5; this PBX runs 20.0.7, in between, so it cannot be told."
    )
    assert in_neither.available is False
    assert ("GET", "/ActiveCalls") not in versions_missing_operations("20.0.7")
    assert ("GET", "/OAuthClients") in versions_missing_operations("20.0.7")


@pytest.mark.parametrize(
    ("name", "version", "changes"),
    [
        ("20.0.5", "20.0.5", {"operation_count": 3}),
        ("20.0.5", "20.0.5", {"operations": ["GET /Users", "FETCH /Users"]}),
        ("20.0.5", "20.0.5", {"operations": ["GET Users"]}),
        ("20.0.5", "20.0.5", {"source": {"repository": "example.org/spec"}}),
        ("20.0.5", "junk", {}),
        ("20.0.10", "20.0.10", {}),
    ],
)
def test_a_malformed_carried_file_is_refused_loudly(versions_dir, name, version, changes):
    write_version(versions_dir, version, {"GET /Users"}, changes)
    if name != version:
        (versions_dir / f"{version}.json").rename(versions_dir / f"{name}.json")

    with pytest.raises(ValueError, match=name):
        spec_versions()
