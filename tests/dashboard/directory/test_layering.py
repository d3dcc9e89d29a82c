"""The directory sits below the audit reports: it announces new generations
(dashboard.directory.signals) and never imports the apps that read it."""

import dashboard.directory
from tests.layering import imports_of


def test_it_imports_none_of_the_apps_built_on_it():
    assert not imports_of(dashboard.directory, prefixes=("dashboard.reports", "dashboard.storage"))
