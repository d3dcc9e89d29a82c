"""The XAPI console in a real browser: a member finds an operation by searching, runs a read
and reads the answer; an admin changes a user's first name on the simulated PBX, after a
confirmation showing the exact request and the user's current state. A real Celery worker
sends the calls over loopback HTTP."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from dashboard.console.models import XapiCall
from dashboard.tenants.models import Activity
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.operations.masking import MASK
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorServer
from tests.e2e.test_accounts_flow import sign_in
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import SMALL
from tests.workers import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALL_TIMEOUT_MS = 60_000
USER_ID = 5


@pytest.fixture
def pbx(settings, monkeypatch) -> Iterator[SimulatorServer]:
    """A simulated 3CX server that the site (this process) and a worker may both call."""
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    monkeypatch.setenv("THREECX_ALLOW_HTTP", "true")
    monkeypatch.setenv("THREECX_ALLOWED_ADDRESSES", "127.0.0.1")
    with SimulatorServer(Simulator(SMALL)) as server:
        yield server


@pytest.fixture
def connection(organization, pbx) -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization,
        name="Head office PBX",
        base_url=pbx.base_url,
        client_id=CLIENT_ID,
        version="20.0.10.870",
    )
    return connection_save(connection=connection, client_secret=CLIENT_SECRET)


@pytest.fixture
def worker(pbx) -> Iterator[None]:
    with celery_worker():
        yield


def test_a_read_found_by_search_and_a_confirmed_write(
    page: Page, live_server, organization, owner, connection, pbx, worker, screenshot
):
    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server.url}/orgs/{organization.pk}/connections/{connection.pk}/")
    page.get_by_role("link", name="XAPI console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("XAPI console")
    expect(page.get_by_text("This PBX runs 20.0.10.870")).to_be_visible()

    # The search narrows the catalogue as one types, and goes into the address bar.
    search = page.get_by_role("searchbox", name="Search")
    search.press_sequentially("get user", delay=20)
    expect(page).to_have_url(re.compile(r"\?q=get\+user$"))
    expect(page.get_by_role("link", name="GetDirectoryInfo")).to_have_count(0)
    page.get_by_role("link", name="GetUser", exact=True).click()

    # A read: its form, then its answer, secrets masked.
    expect(page.get_by_role("heading", level=1)).to_have_text("GetUser")
    page.get_by_label(re.compile(r"^Id\b")).fill(str(USER_ID))
    page.get_by_label(re.compile(r"^Id\b")).press("Enter")
    result = page.locator("#console-result")
    expect(result).to_contain_text("HTTP 200", timeout=CALL_TIMEOUT_MS)
    first_name = pbx.simulator.get("Users", USER_ID)["FirstName"]
    expect(result.locator(".json-tree")).to_contain_text(f'FirstName: "{first_name}"')
    expect(result.locator(".json-tree")).to_contain_text(f'AuthPassword: "{MASK}"')
    expect(result.get_by_role("link", name="Download JSON")).to_be_visible()
    screenshot(page, "console")

    # A write: nothing is sent before the confirmation, which reads the user's state first.
    page.goto(f"{page.url.rsplit('/operations/', 1)[0]}/operations/UpdateUser/")
    page.get_by_label(re.compile(r"^Id\b")).fill(str(USER_ID))
    page.get_by_label("Request body (JSON)").fill('{"FirstName": "Grace"}')
    page.get_by_role("button", name="Review before sending…").click()
    confirmation = page.get_by_role("region", name=re.compile("Send this to Head office PBX"))
    expect(confirmation).to_contain_text(f"{pbx.base_url}/xapi/v1/Users({USER_ID})")
    expect(confirmation.locator("pre")).to_contain_text('"FirstName": "Grace"')
    expect(confirmation).to_contain_text("HTTP 200", timeout=CALL_TIMEOUT_MS)  # current state
    expect(confirmation.locator(".json-tree")).to_contain_text(f'FirstName: "{first_name}"')
    assert not XapiCall.objects.filter(is_write=True).exists()
    assert pbx.simulator.get("Users", USER_ID)["FirstName"] == first_name

    page.get_by_role("button", name="Send PATCH").click()
    expect(result).to_contain_text("HTTP 204", timeout=CALL_TIMEOUT_MS)
    expect(result).to_contain_text("No content: the PBX answered 204")
    assert pbx.simulator.get("Users", USER_ID)["FirstName"] == "Grace"
    assert Activity.objects.get(action="xapi.write").details["status"] == 204

    # The history lists all three calls, newest first.
    page.get_by_role("link", name="Call history").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("UpdateUser")
    expect(rows.first).to_contain_text("204")
