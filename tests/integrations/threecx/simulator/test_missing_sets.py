"""An older 3CX lacks some sets and functions: `missing` makes them answer 404 like any
unknown path, while the rest of the API goes on."""

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig


def control(server, method, path, **kwargs):
    return requests.request(method, f"{server.base_url}/_simulator{path}", timeout=10, **kwargs)


@pytest.fixture
def old_pbx(make_simulator):
    return make_simulator(
        missing=("InboundRules", "LicenseStatus", "Backups/Pbx.GetBackupSettings")
    )


@pytest.fixture
def old_xapi(old_pbx, token_for):
    from tests.integrations.threecx.conftest import XapiSession

    with XapiSession(old_pbx.base_url, token_for(old_pbx)) as session:
        yield session


def test_missing_sets_answer_like_an_unknown_path(old_xapi):
    unknown = old_xapi.get("/NoSuchSet")
    for path in (
        "/InboundRules",
        "/InboundRules(1)",
        "/LicenseStatus",
        "/Backups/Pbx.GetBackupSettings()",
    ):
        response = old_xapi.get(path)
        assert response.status_code == 404 == unknown.status_code
        assert response.headers["Content-Type"] == unknown.headers["Content-Type"]
        error = response.json()["error"]
        assert error["code"] == "404" and error["message"].startswith("No HTTP resource was found")
        assert path in error["message"]


def test_the_rest_of_the_api_goes_on(old_xapi):
    for path in ("/Users", "/OutboundRules", "/Backups", "/SystemStatus", "/AntiHackingSettings"):
        assert old_xapi.get(path).status_code == 200, path
    names = {entry["name"] for entry in old_xapi.get("/").json()["value"]}
    assert "InboundRules" not in names and "LicenseStatus" not in names
    assert {"OutboundRules", "Backups"} <= names


def test_an_upgrade_brings_a_set_back(old_pbx, old_xapi):
    response = control(old_pbx, "POST", "/config", json={"missing": ["LicenseStatus"]})
    assert response.status_code == 200 and response.json()["missing"] == ["LicenseStatus"]
    assert old_xapi.get("/InboundRules").status_code == 200
    assert old_xapi.get("/LicenseStatus").status_code == 404
    old_pbx.simulator.reconfigure(missing=())
    assert old_xapi.get("/LicenseStatus").status_code == 200


@pytest.mark.parametrize("missing", [("InboundRulez",), "InboundRules", ("",)])
def test_a_name_the_spec_does_not_know_is_refused(missing):
    with pytest.raises(ValueError):
        SimulatorConfig(missing=missing)
    with pytest.raises(ValueError):
        Simulator().reconfigure(missing=missing)


def test_the_control_api_refuses_an_unknown_name(simulator):
    response = control(simulator, "POST", "/config", json={"missing": ["Nope"]})
    assert response.status_code == 400 and "Nope" in response.json()["error"]
