"""A newcomer's first sync from the overview: the card of a connection never synced offers
Sync now, shows the sync's progress and then the directory's counts, in Chromium with a real
Celery worker."""

import pytest
from playwright.sync_api import expect

from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.e2e.test_accounts_flow import sign_in
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SYNC_TIMEOUT_MS = 60_000


@pytest.fixture
def connection(settings, monkeypatch, organization):
    """A connection to a simulated PBX that this process and the worker may both call."""
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    monkeypatch.setenv("THREECX_ALLOW_HTTP", "true")
    monkeypatch.setenv("THREECX_ALLOWED_ADDRESSES", "127.0.0.1")
    config = SimulatorConfig(seed=5, users=30, contacts=80, groups=3, queues=2, ring_groups=2)
    with SimulatorServer(Simulator(config)) as server:
        yield connection_save(
            connection=ThreeCXConnection(
                organization=organization,
                name="Head office PBX",
                base_url=server.base_url,
                client_id=CLIENT_ID,
            ),
            client_secret=CLIENT_SECRET,
        )


def test_sync_now_on_the_overview_card_ends_with_the_directory_counts(
    page, live_server, organization, owner, connection, worker_process
):
    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server.url}/orgs/{organization.pk}/")
    card = page.locator(f"#connection-card-{connection.pk}")
    expect(card).to_contain_text("Not synced yet")
    card.get_by_role("button", name="Sync now").click()
    expect(card).to_contain_text("Last synced", timeout=SYNC_TIMEOUT_MS)
    expect(card).to_contain_text("Healthy")
    expect(card.locator("dl.counts")).to_contain_text("Users")
    expect(card.get_by_role("button", name="Sync now")).to_have_count(0)
    card.get_by_role("link", name="Directory").click()
    expect(page.locator("tbody tr")).to_have_count(30)
