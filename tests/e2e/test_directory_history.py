"""Back and Forward through a directory listing's searches and filters, in Chromium: the
form always shows the state in the address bar, and the next change builds on it."""

import re

import pytest
from playwright.sync_api import Page, expect

from dashboard.directory.models import SyncRun
from dashboard.directory.sync import sync_run_execute
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.e2e.test_accounts_flow import sign_in
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def users_url(settings, live_server, organization):
    """The users listing of an organisation whose one connection has been synced."""
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    config = SimulatorConfig(seed=3, users=40, contacts=50, groups=4, queues=2, ring_groups=2)
    with SimulatorServer(Simulator(config)) as server:
        connection = connection_save(
            connection=ThreeCXConnection(
                organization=organization, name="PBX", base_url=server.base_url, client_id=CLIENT_ID
            ),
            client_secret=CLIENT_SECRET,
        )
        run = SyncRun.objects.create(organization=organization, connection=connection)
        assert sync_run_execute(run_id=run.pk).status == SyncRun.Status.SUCCEEDED
    return f"{live_server.url}/orgs/{organization.pk}/directory/users/"


def test_back_and_forward_keep_the_search_and_filters_in_step_with_the_address(
    page: Page, live_server, owner, users_url
):
    sign_in(page, live_server, owner.email)
    page.goto(users_url)
    search = page.get_by_role("searchbox", name="Search")
    enabled = page.get_by_label("Enabled")

    search.fill("an")
    expect(page).to_have_url(re.compile(r"\?q=an$"))
    enabled.select_option("yes")
    expect(page).to_have_url(re.compile(r"\?q=an&enabled=yes$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=an$"))
    expect(search).to_have_value("an")
    expect(enabled).to_have_value("")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/directory/users/$"))
    expect(search).to_have_value("")
    expect(enabled).to_have_value("")

    page.go_forward()
    expect(page).to_have_url(re.compile(r"\?q=an$"))
    expect(search).to_have_value("an")
    expect(enabled).to_have_value("")

    # The next change starts from what Back restored, rather than dropping it.
    enabled.select_option("no")
    expect(page).to_have_url(re.compile(r"\?q=an&enabled=no$"))
    expect(search).to_have_value("an")
