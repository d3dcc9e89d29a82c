"""Reads that are not the directory (version, system status) fail on their own: the run
records a warning, the directory still switches, and the licence key is never kept whole."""

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryState, EntryKind, SyncRun
from dashboard.directory.sources import masked
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db

STATUS = r"^/xapi/v1/SystemStatus$"
LICENCE_KEY = "SIMU-LATO-R000-0001"  # the simulator's


def test_a_failing_system_status_leaves_a_warning_and_the_directory_switches(simulator, connection):
    sync_now(connection)
    simulator.simulator.add("Contacts", {"FirstName": "Still", "LastName": "Synced"})
    status_before = DirectoryState.objects.get(connection=connection).system_status
    simulator.simulator.faults.add(Fault(match=STATUS, kind="status", status=500))

    run = sync_now(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.added == 1
    assert [w["step"] for w in run.warnings] == ["SystemStatus"]
    assert visible(connection, EntryKind.CONTACT).filter(first_name="Still").exists()
    state = DirectoryState.objects.get(connection=connection)
    assert state.last_run_id == run.pk
    assert state.system_status == status_before  # the last one known stays


def test_the_connection_page_shows_which_part_failed(simulator, connection, client_for, viewer):
    simulator.simulator.faults.add(Fault(match=STATUS, kind="status", status=500))
    run = sync_now(connection)
    url = reverse("sync_run_progress", args=[run.organization_id, connection.pk, run.pk])
    page = client_for(viewer).get(url).text
    assert "Sync succeeded with warnings" in page
    assert "SystemStatus could not be read" in page


def test_a_failing_version_read_is_a_warning_too(simulator, connection):
    simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Defs$", kind="status", status=500))
    run = sync_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert [w["step"] for w in run.warnings] == ["version"]


def test_bad_credentials_still_fail_the_run_at_the_first_read(simulator, connection_to):
    connection = connection_to(simulator, client_secret="wrong-secret")
    run = sync_now(connection)
    assert run.status == SyncRun.Status.FAILED and run.error_permanent


def test_the_licence_key_is_stored_masked(simulator, connection):
    run = sync_now(connection)
    state = DirectoryState.objects.get(connection=connection)
    assert state.system_status["LicenseKey"] == "****0001"
    assert run.system_status["LicenseKey"] == "****0001"
    assert LICENCE_KEY not in str(state.system_status)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (LICENCE_KEY, "****0001"),
        ("****0001", "****0001"),  # masking twice changes nothing
        ("ABCD1234", "****"),  # too short to show any of it
        ("", ""),
        (None, None),
    ],
)
def test_masking_keeps_only_the_last_four_characters_of_a_long_enough_key(value, stored):
    assert masked(value) == stored


def test_the_connection_page_lists_the_run_with_its_warning(
    simulator, connection, client_for, viewer
):
    simulator.simulator.faults.add(Fault(match=STATUS, kind="status", status=500))
    sync_now(connection)
    url = reverse("connection_detail", args=[connection.organization_id, connection.pk])
    page = client_for(viewer).get(url).text
    assert "Succeeded with warnings" in page and "SystemStatus could not be read" in page
