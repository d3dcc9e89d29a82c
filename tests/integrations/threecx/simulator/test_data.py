"""The generated directory: the same seed gives the same data, and the data is awkward enough."""

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from integrations.threecx.simulator import Simulator, SimulatorConfig
from tests.integrations.threecx.conftest import SMALL

E164 = re.compile(r"\+[1-9]\d{6,14}")
SETS = ["Users", "Groups", "Queues", "RingGroups", "Receptionists", "Trunks", "Parkings", "Peers"]


def wsgi_get(sim: Simulator, path: str) -> dict:
    """GET an /xapi/v1 path through the WSGI app alone (no sockets), with a fresh token."""
    answer = {}
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/xapi/v1{path}",
        "QUERY_STRING": "",
        "HTTP_HOST": "pbx.test",
        "HTTP_AUTHORIZATION": f"Bearer {sim.tokens.issue(sim.config.client_id)}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(sim.wsgi_app(environ, lambda status, headers: answer.update(status=status)))
    assert answer["status"].startswith("200"), body
    return json.loads(body)


def read_all(sim: Simulator, set_name: str) -> list[dict]:
    return wsgi_get(sim, f"/{set_name}")["value"]


@pytest.fixture(scope="module")
def twins():
    return Simulator(SMALL), Simulator(SMALL)


@pytest.fixture(scope="module")
def sim(twins):
    return twins[0]


class TestDeterminism:
    @pytest.mark.parametrize("set_name", SETS)
    def test_the_same_seed_gives_the_same_data(self, twins, set_name):
        first, second = twins
        assert read_all(first, set_name) == read_all(second, set_name)

    def test_the_same_seed_gives_the_same_contacts_anywhere_in_the_range(self):
        config = SimulatorConfig(users=10, contacts=200_000)
        first, second = Simulator(config), Simulator(config)
        for key in (1, 2, 99_999, 200_000):
            assert first.get("Contacts", key) == second.get("Contacts", key)

    def test_another_seed_gives_other_data(self, sim):
        other = Simulator(SimulatorConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
        assert read_all(sim, "Users") != read_all(other, "Users")
        assert sim.get("Contacts", 10) != other.get("Contacts", 10)


class TestAwkwardness:
    def test_names_come_in_many_scripts_and_with_apostrophes(self, sim):
        names = " ".join(f"{u['FirstName']} {u['LastName']}" for u in read_all(sim, "Users"))
        assert "O'Brien" in names
        assert re.search(r"[\u4e00-\u9fff]", names), "CJK"
        assert re.search(r"[\u0600-\u06ff]", names), "Arabic"
        assert re.search(r"[\u0590-\u05ff]", names), "Hebrew"
        assert re.search(r"[éëüøåł]", names), "accents"

    def test_some_users_have_no_email_or_no_mobile(self, sim):
        users = read_all(sim, "Users")
        assert any(u["EmailAddress"] is None for u in users)
        assert any(u["EmailAddress"] == "" for u in users)
        assert any(not u["Mobile"] for u in users)

    def test_emails_repeat_between_users_and_between_contacts(self, sim):
        emails = [u["EmailAddress"] for u in read_all(sim, "Users") if u["EmailAddress"]]
        assert len(emails) != len(set(emails))
        contact_emails = [sim.get("Contacts", key)["Email"] for key in range(1, 121)]
        filled = [email for email in contact_emails if email]
        assert len(filled) != len(set(filled))

    def test_contact_numbers_are_valid_e164_malformed_or_shared(self, sim):
        numbers = [sim.get("Contacts", key)["PhoneNumber"] for key in range(1, 121)]
        filled = [number for number in numbers if number]
        assert any(E164.fullmatch(number) for number in filled)
        assert any(not E164.fullmatch(number) for number in filled)
        assert len(filled) != len(set(filled))

    def test_admins_without_two_factor_exist(self, sim):
        users = {u["Id"]: u for u in read_all(sim, "Users")}
        admins = [
            user_id
            for user_id in users
            if sim.get("Users", user_id)["Groups"][0]["Rights"]["RoleName"]
            in ("system_owners", "system_admins", "group_owners", "group_admins")
        ]
        assert any(users[user_id]["Require2FA"] is False for user_id in admins)
        assert any(users[user_id]["Require2FA"] is True for user_id in admins)

    def test_queues_and_ring_groups_keep_disabled_and_vanished_members(self, sim):
        users = {u["Number"]: u for u in read_all(sim, "Users")}
        for set_name, nav in (("Queues", "Agents"), ("RingGroups", "Members")):
            members = [
                member
                for item in read_all(sim, set_name)
                for member in sim.get(set_name, item["Id"])[nav]
            ]
            assert any(m["Number"] in users and not users[m["Number"]]["Enabled"] for m in members)
            assert any(m["Number"] not in users for m in members)

    def test_some_trunks_are_offline(self, sim):
        online = [trunk["IsOnline"] for trunk in read_all(sim, "Trunks")]
        assert True in online and False in online

    def test_the_licence_expires_in_about_twenty_days(self, sim):
        status = wsgi_get(sim, "/SystemStatus")
        expires = datetime.fromisoformat(status["ExpirationDate"].replace("Z", "+00:00"))
        assert timedelta(days=19) <= expires - datetime.now(UTC) <= timedelta(days=21)

    def test_extension_numbers_widen_with_the_user_count(self):
        sim = Simulator(SimulatorConfig(users=1000, contacts=0, queues=1, ring_groups=1))
        numbers = [u["Number"] for u in read_all(sim, "Users")]
        assert len(set(numbers)) == 1000
        assert {len(number) for number in numbers} == {4}
