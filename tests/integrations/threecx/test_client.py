"""The XAPI client against the simulator over real loopback HTTP."""

import socket
import time

import pytest

from integrations.threecx import errors
from integrations.threecx.client import ANSWER_HEADERS
from integrations.threecx.odata import collection_items, quote
from integrations.threecx.operations.catalogue import operation_get
from integrations.threecx.operations.requests import request_prepare
from integrations.threecx.simulator import Fault
from integrations.threecx.spec import secret_fields
from tests.integrations.threecx.clients import simulator_client
from tests.integrations.threecx.stubs import TOKEN, Answer

pytestmark = pytest.mark.usefixtures("simulator_allowed")

USER_SECRETS = secret_fields("Pbx.User")


@pytest.fixture
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


class TestReading:
    def test_it_pages_through_a_collection_across_page_boundaries(self, simulator):
        client = simulator_client(simulator, page_size=7)
        users = client.collection("Users")
        items = list(users)
        expected = simulator.simulator.config.users
        assert len(items) == expected
        assert users.total == expected
        assert users.pages_read == expected // 7 + 1
        assert len({item["Id"] for item in items}) == expected

    def test_secret_fields_are_never_requested(self, simulator):
        client = simulator_client(simulator)
        for user in client.collection("Users"):
            assert not USER_SECRETS & set(user), user
        single = client.entity("Users", next(iter(client.collection("Users", select=["Id"])))["Id"])
        assert not USER_SECRETS & set(single)

    def test_asking_for_a_secret_is_refused_before_any_request(self, simulator):
        client = simulator_client(simulator)
        before = simulator.simulator.request_count(r"^/xapi/v1/Users")
        with pytest.raises(errors.InvalidInput, match="VMPIN is a secret"):
            client.collection("Users", select=["Id", "VMPIN"])
        assert simulator.simulator.request_count(r"^/xapi/v1/Users") == before

    def test_filters_quote_apostrophes_in_names(self, simulator):
        client = simulator_client(simulator)
        everyone = list(client.collection("Users", select=["Id", "LastName"]))
        tricky = next(u for u in everyone if "'" in (u.get("LastName") or ""))
        found = list(
            client.collection(
                "Users", select=["Id"], filter=f"LastName eq {quote(tricky['LastName'])}"
            )
        )
        assert tricky["Id"] in {u["Id"] for u in found}

    def test_entities_are_found_by_id_and_by_number(self, simulator):
        client = simulator_client(simulator)
        first = next(iter(client.collection("Users", select=["Id", "Number"])))
        assert client.entity("Users", first["Id"])["Number"] == first["Number"]
        assert client.entity("Users", str(first["Number"]))["Id"] == first["Id"]

    def test_unknown_fields_in_answers_are_kept(self, simulator):
        client = simulator_client(simulator)
        status = client.system_status()
        assert status["FQDN"] == simulator.simulator.config.fqdn


class TestVersionAndTokens:
    @pytest.mark.parametrize("version", ["20.0.8", "20.0.8.1109", "20.0.10", "20.0.10.999"])
    def test_token_lifetime_is_read_in_the_answers_unit(self, make_simulator, version):
        server = make_simulator(version=version, token_lifetime=3600)
        client = simulator_client(server)
        assert client.version() == version
        assert client.tokens._cached().expires_at - time.time() == pytest.approx(3600, abs=30)

    def test_the_version_comes_from_the_header(self, simulator):
        client = simulator_client(simulator)
        assert client.version().startswith(simulator.simulator.config.version)

    def test_a_token_is_reused_until_it_expires(self, simulator):
        client = simulator_client(simulator)
        client.version()
        client.system_status()
        list(client.collection("Groups"))
        assert simulator.simulator.token_requests == 1

    def test_a_token_revoked_mid_run_is_replaced_once_and_reading_goes_on(self, simulator):
        client = simulator_client(simulator, page_size=5)
        seen = []
        for index, user in enumerate(client.collection("Users", select=["Id"])):
            seen.append(user["Id"])
            if index == 12:
                simulator.simulator.revoke_tokens()
        assert len(seen) == simulator.simulator.config.users
        assert simulator.simulator.token_requests == 2


class TestFailures:
    def test_bad_credentials_are_a_permanent_authentication_failure(self, simulator):
        client = simulator_client(simulator, client_secret="wrong")
        with pytest.raises(errors.AuthenticationFailed) as caught:
            client.version()
        assert caught.value.permanent
        assert "client ID and secret" in str(caught.value)
        assert "Enterprise licence" in str(caught.value)

    def test_a_401_after_a_fresh_token_fails_after_one_retry(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/SystemStatus", kind="status", status=401)
        )
        client = simulator_client(simulator)
        with pytest.raises(errors.AuthenticationFailed, match="refused a freshly issued"):
            client.system_status()
        assert simulator.simulator.token_requests == 2

    def test_forbidden_explains_the_role(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Trunks", kind="status", status=403))
        with pytest.raises(errors.Forbidden, match="System Owner") as caught:
            list(simulator_client(simulator).collection("Trunks"))
        assert caught.value.permanent

    def test_invalid_parameters_carry_the_odata_message(self, simulator):
        client = simulator_client(simulator)
        with pytest.raises(errors.InvalidParameters) as caught:
            list(client.collection("Users", select=["Id"], filter="Nonsense eq 1"))
        assert "Nonsense" in str(caught.value)
        assert caught.value.permanent

    def test_an_unknown_operation_is_not_found(self, simulator):
        with pytest.raises(errors.NotFound, match="this 3CX version does not have"):
            simulator_client(simulator).get("/NoSuchThing")

    def test_rate_limits_are_retried_honouring_retry_after(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Groups", kind="status", status=429, retry_after=0, times=2)
        )
        assert list(simulator_client(simulator).collection("Groups"))

    def test_a_429_storm_ends_as_a_transient_error_with_retry_after(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Groups", kind="status", status=429, retry_after=1)
        )
        with pytest.raises(errors.RateLimited) as caught:
            list(simulator_client(simulator).collection("Groups"))
        assert not caught.value.permanent
        assert caught.value.retry_after == 1

    def test_unavailable_is_transient(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Groups", kind="status", status=503, retry_after=1)
        )
        with pytest.raises(errors.Unavailable) as caught:
            list(simulator_client(simulator).collection("Groups"))
        assert not caught.value.permanent

    def test_a_server_error_then_recovery_succeeds(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Groups", kind="status", status=500, times=1)
        )
        assert list(simulator_client(simulator).collection("Groups"))

    def test_persistent_server_errors_are_transient_failures(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Groups", kind="status", status=500))
        with pytest.raises(errors.ServerError, match="HTTP 500") as caught:
            list(simulator_client(simulator).collection("Groups"))
        assert not caught.value.permanent

    def test_malformed_json_is_a_bad_response(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Groups", kind="malformed_json"))
        with pytest.raises(errors.BadResponse, match="Expected JSON"):
            list(simulator_client(simulator).collection("Groups"))

    def test_a_truncated_body_is_a_bad_response(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Groups", kind="truncated"))
        with pytest.raises(errors.BadResponse, match="cut off"):
            list(simulator_client(simulator).collection("Groups"))

    def test_a_reset_connection_is_a_connection_failure(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Groups", kind="reset"))
        with pytest.raises(errors.ConnectionFailed, match="closed the connection"):
            list(simulator_client(simulator).collection("Groups"))

    def test_a_slow_server_times_out(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Groups", kind="latency", delay=2))
        with pytest.raises(errors.ConnectionFailed, match="did not answer within 0.5 s"):
            list(simulator_client(simulator, timeout=0.5).collection("Groups"))

    @pytest.mark.parametrize("page", [{"value": 5}, [1, 2], {"items": []}])
    def test_the_wrong_shape_is_a_bad_response(self, page):
        with pytest.raises(errors.BadResponse, match="Expected an OData collection"):
            collection_items(page, path="/xapi/v1/Users")

    def test_objects_are_expected_inside_collections(self):
        with pytest.raises(errors.BadResponse, match="something other than objects"):
            collection_items({"value": [1]}, path="/xapi/v1/Users")

    def test_a_refused_port_says_so(self, simulator):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = simulator_client(simulator, base_url=f"http://127.0.0.1:{port}")
        with pytest.raises(errors.ConnectionFailed, match="refused the connection"):
            client.version()

    def test_tls_problems_say_so(self, simulator):
        client = simulator_client(simulator, base_url=simulator.base_url.replace("http:", "https:"))
        with pytest.raises(errors.ConnectionFailed, match="TLS handshake"):
            client.version()

    def test_an_unresolvable_host_says_so(self, simulator):
        client = simulator_client(simulator, base_url="https://pbx.invalid", check_address=False)
        with pytest.raises(errors.ConnectionFailed, match="cannot be resolved"):
            client.version()


class TestGetDirectoryInfo:
    def test_it_lists_the_folders_of_a_path(self, simulator):
        client = simulator_client(simulator)
        root = client.get_directory_info('{"Filesystem": "Local", "Path": "/"}')
        assert root["Dirs"]
        child = client.get_directory_info(
            {"parameters": {"Filesystem": "Local", "Path": root["Dirs"][0]}}
        )
        assert child["Path"].rstrip("/") == root["Dirs"][0].rstrip("/")

    def test_invalid_json_makes_no_request(self, simulator):
        client = simulator_client(simulator)
        with pytest.raises(errors.InvalidInput, match="line 1, column"):
            client.get_directory_info('{"Filesystem": Local}')
        assert simulator.simulator.request_count("GetDirectoryInfo") == 0

    def test_an_unknown_path_carries_the_servers_message(self, simulator):
        client = simulator_client(simulator)
        with pytest.raises(errors.InvalidParameters) as caught:
            client.get_directory_info('{"Filesystem": "Local", "Path": "/no/such/folder"}')
        assert caught.value.target and "Path" in caught.value.target

    def test_server_errors_are_reported(self, simulator):
        simulator.simulator.faults.add(Fault(match="GetDirectoryInfo", kind="status", status=500))
        with pytest.raises(errors.ServerError):
            simulator_client(simulator).get_directory_info('{"Filesystem": "Logs"}')

    def test_a_wrong_server_url_is_not_found(self, simulator):
        simulator.simulator.faults.add(Fault(match="GetDirectoryInfo", kind="status", status=404))
        with pytest.raises(errors.NotFound, match="Check the server address"):
            simulator_client(simulator).get_directory_info('{"Filesystem": "Logs"}')


class TestOperationCall:
    """Any operation of the catalogue, prepared from text as the console's form sends it."""

    @staticmethod
    def call(client, operation_id: str, body: str | None = None, **params: str):
        prepared = request_prepare(operation_get(operation_id), params=params, body=body)
        return client.operation_call(prepared)

    def test_a_collection_is_read_with_its_options(self, simulator):
        answer = self.call(
            simulator_client(simulator),
            "ListUser",
            **{"$top": "3", "$select": "Id,Number", "$count": "true", "$orderby": "Id"},
        )
        assert answer.status == 200
        assert [set(user) for user in answer.data["value"]] == [{"Id", "Number"}] * 3
        assert answer.data["@odata.count"] == simulator.simulator.config.users
        assert answer.content_type == "application/json"
        assert answer.size == int(answer.headers["Content-Length"]) > 0
        assert answer.headers["X-3CX-Version"] == simulator.simulator.config.version
        assert isinstance(answer.elapsed_ms, int) and answer.elapsed_ms >= 0

    def test_only_the_headers_that_matter_are_kept(self, simulator):
        answer = self.call(simulator_client(simulator), "GetSystemStatus")
        assert set(answer.headers) <= set(ANSWER_HEADERS)
        assert "Content-Type" in answer.headers and "Date" not in answer.headers

    def test_a_read_only_action_is_posted_with_its_body(self, simulator):
        body = '{"parameters": {"Filesystem": "Local", "Path": "/"}}'
        answer = self.call(simulator_client(simulator), "GetDirectoryInfo", body)
        assert answer.status == 200 and answer.data["Dirs"]
        assert simulator.simulator.request_count("GetDirectoryInfo", "POST") == 1

    def test_a_patch_changes_the_entity_and_answers_nothing(self, simulator):
        client = simulator_client(simulator)
        first = client.get("/Users", {"$top": "1", "$select": "Id"})["value"][0]
        answer = self.call(client, "UpdateUser", '{"FirstName": "Ada"}', Id=str(first["Id"]))
        assert (answer.status, answer.data, answer.size) == (204, None, 0)
        read = self.call(client, "GetUser", Id=str(first["Id"]), **{"$select": "FirstName"})
        assert read.data["FirstName"] == "Ada"

    def test_an_unknown_entity_is_not_found_with_its_status_and_time(self, simulator):
        with pytest.raises(errors.NotFound) as caught:
            self.call(simulator_client(simulator), "GetUser", Id="999999")
        assert caught.value.status == 404
        assert caught.value.elapsed_ms >= 0

    def test_reads_are_retried(self, simulator):
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Groups", kind="status", status=503, times=1)
        )
        assert self.call(simulator_client(simulator), "ListGroup").status == 200
        assert simulator.simulator.request_count(r"^/xapi/v1/Groups$", "GET") == 2

    def test_writes_are_sent_once(self, simulator):
        client = simulator_client(simulator)
        first = client.get("/Users", {"$top": "1", "$select": "Id"})["value"][0]
        simulator.simulator.faults.add(
            Fault(match=r"^/xapi/v1/Users\(", method="PATCH", kind="status", status=503)
        )
        with pytest.raises(errors.Unavailable):
            self.call(client, "UpdateUser", '{"FirstName": "Ada"}', Id=str(first["Id"]))
        assert simulator.simulator.request_count(r"^/xapi/v1/Users\(", "PATCH") == 1

    def test_an_answer_that_claims_json_but_is_not_is_a_bad_response(self, simulator):
        simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Users", kind="malformed_json"))
        with pytest.raises(errors.BadResponse, match="Expected JSON"):
            self.call(simulator_client(simulator), "ListUser")

    def test_a_file_comes_back_without_data_but_with_its_type_and_size(self, serve):
        csv = b"Number,Name\n100,Ada\n"
        pbx = serve(
            {
                "/connect/token": TOKEN,
                "/xapi/v1/Users/Pbx.ExportExtensions()": Answer(
                    200, {"Content-Type": "text/csv; charset=utf-8"}, csv
                ),
            }
        )
        client = simulator_client(pbx)
        answer = self.call(client, "ExportExtensions")
        assert (answer.status, answer.data) == (200, None)
        assert (answer.content_type, answer.size) == ("text/csv", len(csv))
