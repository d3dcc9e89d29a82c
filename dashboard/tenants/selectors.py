"""Read-only queries about organisations and their members."""

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from dashboard.tenants.filters import ActivityFilter
from dashboard.tenants.models import Activity, Invitation, Membership, Organization, Role


def organizations_for_user(*, user: object) -> QuerySet[Organization]:
    """Every organisation the user can open: their memberships, or all for provider staff."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    if getattr(user, "is_provider_staff", False):
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user)


def user_requires_mfa(*, user: object) -> bool:
    """Whether the user must set up MFA before seeing any tenant data.

    Staff of any kind always must: provider staff read every organisation, including those
    that demand MFA of their own members, and Django staff reach tenant data in the admin.
    Everybody else must once any organisation of theirs demands it.
    """
    if any(
        getattr(user, flag, False) for flag in ("is_provider_staff", "is_staff", "is_superuser")
    ):
        return True
    return Membership.objects.filter(user=user, organization__require_mfa=True).exists()


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    """The members as the members page lists them (and exports them): by email address."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )


def owner_count(*, organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def invitation_pending_list(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def activity_list(*, organization: Organization) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(organization=organization)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def activity_filter(*, organization: Organization, params: QueryDict) -> ActivityFilter:
    """The activity log as its page shows it: filtered by `params` (the page's query string),
    newest first. The page and its export both read the log through this."""
    return ActivityFilter(params or None, queryset=activity_list(organization=organization))
