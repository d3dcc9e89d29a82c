"""The data migration that masks licence keys stored in clear before they were masked."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("directory", "0003_review_warnings_masking")]
AFTER = [("directory", "0004_mask_stored_licence_keys")]


@pytest.fixture
def latest_migrations_restored():
    """Going back to 0003 unapplies every later migration (0005 drops the search function on
    PostgreSQL): put the whole schema back so later tests find it as migrated."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_migration_masks_licence_keys_already_stored(organization, latest_migrations_restored):
    from integrations.threecx.models import ThreeCXConnection

    saved = ThreeCXConnection.objects.create(
        organization=organization, name="Old", base_url="https://pbx.example.com", client_id="9"
    )
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    State = old_apps.get_model("directory", "DirectoryState")
    State.objects.create(
        connection_id=saved.pk,
        system_status={"FQDN": "pbx.example.com", "LicenseKey": "ABCD-EFGH-IJKL-9876"},
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    # The model as of the migration: later migrations add columns the table lacks here.
    State = executor.loader.project_state(AFTER).apps.get_model("directory", "DirectoryState")
    stored = State.objects.get(connection_id=saved.pk).system_status
    assert stored == {"FQDN": "pbx.example.com", "LicenseKey": "****9876"}
