"""The daily path through the dashboard, for real: Chromium, the live site, a Celery worker
process on Redis, PostgreSQL, and the 3CX simulator over loopback HTTP."""

import re

import pytest
from playwright.sync_api import Page, expect

from dashboard.directory.models import EntryKind
from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.e2e.test_accounts_flow import sign_in
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.workers import wait_until, worker_settled

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

SYNC_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def _pbx_and_worker(django_db_setup):
    """A simulated 3CX server and a worker that may call it, for all the tests of the module
    (starting and stopping a worker takes seconds). No test changes the server's data."""
    from tests.workers import celery_worker

    config = SimulatorConfig(seed=3, users=40, contacts=300, groups=4, queues=3, ring_groups=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("THREECX_ALLOW_HTTP", "true")
        patch.setenv("THREECX_ALLOWED_ADDRESSES", "127.0.0.1")
        with SimulatorServer(Simulator(config)) as server, celery_worker(concurrency=2) as process:
            yield server, process


@pytest.fixture
def pbx(settings, _pbx_and_worker):
    """A simulated 3CX server that the site (this process) and the worker may both call."""
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    return _pbx_and_worker[0]


@pytest.fixture
def worker(pbx, _pbx_and_worker, transactional_db):
    process = _pbx_and_worker[1]
    assert process.poll() is None, "the module's worker process has died"
    yield process
    # A worker of the test's own would finish the audit that follows a sync as it stopped.
    wait_until(worker_settled, what="the worker never finished the syncs and audits")


def add_connection(page: Page, live_server, organization, base_url: str, secret: str) -> None:
    page.goto(f"{live_server.url}/orgs/{organization.pk}/connections/new/")
    page.get_by_label("Name").fill("Head office PBX")
    page.get_by_label("Server address").fill(base_url)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret (API key)").fill(secret)
    page.get_by_role("button", name="Add connection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Head office PBX")


def test_an_admin_connects_a_pbx_syncs_it_and_explores_the_directory(
    page, live_server, organization, owner, pbx, worker, screenshot
):
    sign_in(page, live_server, owner.email)
    add_connection(page, live_server, organization, pbx.base_url, CLIENT_SECRET)

    page.get_by_role("button", name="Test connection").click()
    check = page.locator("#check-result")
    expect(check).to_contain_text("Connected.", timeout=SYNC_TIMEOUT_MS)
    expect(check).to_contain_text(pbx.simulator.config.fqdn)

    page.get_by_role("button", name="Sync now").click()
    progress = page.locator(".sync-progress")
    expect(progress).to_contain_text("Done:", timeout=SYNC_TIMEOUT_MS)
    bars = progress.locator("progress")
    expect(bars).to_have_count(len(EntryKind))
    for index in range(len(EntryKind)):
        expect(bars.nth(index)).to_have_attribute("value", "100")
    expect(page.locator("#directory-summary")).to_contain_text("Last synced")
    screenshot(page, "connection")

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("Healthy")).to_be_visible()
    screenshot(page, "organisation-dashboard")

    user = pbx.simulator.get("Users", _first_user_id(pbx))
    page.get_by_role("link", name="Directory", exact=True).first.click()
    search = page.get_by_role("searchbox").first
    search.fill(user["LastName"])
    results = page.locator("tbody tr")
    expect(results.first).to_contain_text(user["LastName"])
    others = results.filter(has_not_text=user["LastName"])
    expect(others).to_have_count(0)  # the live search narrowed the list
    row_link = page.get_by_role("link", name=re.compile(re.escape(user["LastName"])))
    screenshot(page, "directory")
    row_link.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(user["LastName"])
    expect(page.get_by_text(user["Number"]).first).to_be_visible()
    screenshot(page, "entry-detail")


def test_a_storage_folder_is_browsed_two_levels_deep(
    page, live_server, organization, owner, pbx, worker, screenshot
):
    sign_in(page, live_server, owner.email)
    add_connection(page, live_server, organization, pbx.base_url, CLIENT_SECRET)
    page.get_by_role("link", name="Storage browser").click()
    page.get_by_role("button", name="Browse").click()
    first_level = page.get_by_role("link", name=re.compile(r"^(var|home|mnt)$"))
    expect(first_level.first).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    page.get_by_role("link", name="var", exact=True).click()
    expect(page.get_by_role("link", name="lib", exact=True)).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    page.get_by_role("link", name="lib", exact=True).click()
    expect(page.get_by_role("navigation", name=re.compile("[Bb]readcrumb"))).to_contain_text("lib")
    expect(page.get_by_role("link", name="3cxpbx", exact=True)).to_be_visible(
        timeout=SYNC_TIMEOUT_MS
    )
    screenshot(page, "storage-browser")

    # The folder is in the address bar: Back returns to the one before, a reload (or a
    # bookmark) opens the same one again.
    expect(page).to_have_url(re.compile(r"/storage/\?filesystem=Local&path=%2Fvar%2Flib"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/storage/\?filesystem=Local&path=%2Fvar&"))
    expect(page.get_by_role("link", name="lib", exact=True)).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    page.reload()
    expect(page.get_by_role("link", name="lib", exact=True)).to_be_visible(timeout=SYNC_TIMEOUT_MS)


def test_bad_credentials_are_explained(page, live_server, organization, owner, pbx, worker):
    sign_in(page, live_server, owner.email)
    add_connection(page, live_server, organization, pbx.base_url, "not-the-secret")
    page.get_by_role("button", name="Test connection").click()
    check = page.locator("#check-result")
    expect(check).to_contain_text("Authentication failed.", timeout=SYNC_TIMEOUT_MS)
    expect(check).to_contain_text("Check the client ID and secret")


def _first_user_id(pbx) -> int:
    store = pbx.simulator
    return min(
        user_id
        for user_id in range(1, 200)
        if _exists(store, user_id) and "'" not in store.get("Users", user_id).get("LastName", "'")
    )


def _exists(store, user_id: int) -> bool:
    try:
        store.get("Users", user_id)
    except KeyError:
        return False
    return True
