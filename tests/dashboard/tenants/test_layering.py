"""The tenants app is the base of the product: the apps built on it import it, never the
other way round."""

from pathlib import Path

from django.conf import settings

import dashboard.tenants
from tests.layering import imported_modules

#: Apps the tenants app may use: the user model's app and its own.
BELOW_OR_SAME = {"dashboard.accounts", "dashboard.tenants"}


def test_it_imports_no_product_app():
    product_apps = {
        app
        for app in settings.INSTALLED_APPS
        if app.startswith(("dashboard.", "integrations.")) and app not in BELOW_OR_SAME
    }
    assert {"dashboard.connections", "dashboard.directory"} <= product_apps
    root = Path(dashboard.tenants.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 10  # the walk found the app's modules
    offending = {
        f"{path.relative_to(root.parent.parent)} imports {module}"
        for path in modules
        for module in imported_modules(path)
        if any(module == app or module.startswith(f"{app}.") for app in product_apps)
    }
    assert not offending
