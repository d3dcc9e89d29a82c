"""A newcomer's first sync from the overview: the card of a connection never synced offers
Sync now, shows the sync's progress and then the directory's counts, in Chromium with a real
Celery worker."""

import pytest
from playwright.sync_api import expect

from dashboard.directory.models import SyncRun
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
    expect(card.get_by_label("Directory counts")).to_contain_text("Users")
    expect(card.get_by_role("button", name="Sync now")).to_have_count(0)
    card.get_by_role("link", name="Directory").click()
    expect(page.locator("tbody tr")).to_have_count(30)


def test_cancel_in_one_of_two_running_syncs_on_the_overview_stays_in_its_card(
    page, live_server, organization, owner, connection
):
    """No worker runs here, so both syncs wait in the queue, each card polling its own."""
    branch = connection_save(
        connection=ThreeCXConnection(
            organization=organization,
            name="Branch PBX",
            base_url=connection.base_url,
            client_id=CLIENT_ID,
        ),
        client_secret=CLIENT_SECRET,
    )
    head_run, branch_run = (
        SyncRun.objects.create(organization=organization, connection=each)
        for each in (connection, branch)
    )
    sign_in(page, live_server, owner.email)
    page.on("dialog", lambda dialog: dialog.accept())  # "Stop this sync?"
    page.goto(f"{live_server.url}/orgs/{organization.pk}/")
    head = page.locator(f"#connection-card-{connection.pk}")
    branch_card = page.locator(f"#connection-card-{branch.pk}")
    for card in (head, branch_card):
        expect(card.get_by_role("button", name="Cancel")).to_be_visible()
    # Where each Cancel's answer goes: into its own card's progress, never the other's.
    lands_in_own_card = page.evaluate(
        """() => [...document.querySelectorAll(".connection-card form[hx-target]")].map(
            (form) => form.closest(".connection-card").contains(
                document.querySelector(form.getAttribute("hx-target"))))"""
    )
    assert lands_in_own_card == [True, True]

    branch_card.get_by_role("button", name="Cancel").click()
    expect(branch_card).to_contain_text("Cancelled.")
    expect(head.get_by_role("button", name="Cancel")).to_be_visible()
    expect(head).not_to_contain_text("Cancelled")
    head_run.refresh_from_db()
    branch_run.refresh_from_db()
    assert (head_run.status, branch_run.status) == (SyncRun.Status.QUEUED, SyncRun.Status.CANCELLED)
