"""The jobs app sits below the product apps that use it."""

import dashboard.jobs
from tests.layering import imports_of

ABOVE = (
    "dashboard.connections",
    "dashboard.storage",
    "dashboard.directory",
    "dashboard.reports",
    "integrations",
)


def test_it_imports_none_of_the_apps_built_on_it():
    assert not imports_of(dashboard.jobs, prefixes=ABOVE)
