from django.http import HttpRequest

from dashboard.tenants.selectors import organizations_for_user


def organizations(request: HttpRequest) -> dict:
    """The organisation switcher's entries and the one being looked at."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "switcher_organizations": organizations_for_user(user=user).only("id", "name")[:50],
        "access": getattr(request, "access", None),
        "nav_section": _nav_section(request),
    }


def _nav_section(request: HttpRequest) -> str:
    """Which organisation tab the page belongs to, from the app that serves it."""
    match = getattr(request, "resolver_match", None)
    module = getattr(getattr(match, "func", None), "__module__", "")
    if module.startswith(("dashboard.connections", "dashboard.storage", "dashboard.console")):
        return "connections"
    if module.startswith("dashboard.directory"):
        return "directory"
    return ""
