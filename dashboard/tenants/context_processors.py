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
    }
