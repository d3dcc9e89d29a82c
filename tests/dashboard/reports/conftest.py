import pytest

from tests.dashboard.reports.directory import SyncedDirectory


@pytest.fixture
def directory(organization) -> SyncedDirectory:
    """A synced connection of `organization` on which no rule fires yet."""
    return SyncedDirectory(organization)
