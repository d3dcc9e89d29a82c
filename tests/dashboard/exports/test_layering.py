"""The exports app sits below the listings it exports: they register with it."""

import dashboard.exports
from tests.layering import imports_of

ABOVE = (
    "dashboard.connections",
    "dashboard.directory",
    "dashboard.reports",
    "dashboard.storage",
    "integrations",
)


def test_it_imports_none_of_the_apps_whose_listings_it_exports():
    assert not imports_of(dashboard.exports, prefixes=ABOVE)
