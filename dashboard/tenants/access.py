"""The one place that decides who may see or change what inside an organisation.

Every view that touches tenant data gets its organisation through `organization_access_get`
(usually via the `organization_view` decorator) and its objects through `tenant_object_get`.
Anything outside the user's memberships is a 404, never a 403, so ids of other tenants cannot
be probed; a member whose role is too low for a change gets a 403.
"""

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse

from dashboard.tenants.models import ROLE_RANK, Membership, Organization, Role

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class OrganizationAccess:
    organization: Organization
    role: Role
    membership: Membership | None
    #: Provider staff read every organisation without being a member.
    via_provider: bool = False

    def has_role(self, minimum: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    @property
    def can_manage(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def organization_access_get(
    *, user: object, organization_id: uuid.UUID | str
) -> OrganizationAccess:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such organisation.")
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization_id=organization_id)
        .first()
    )
    if membership is not None:
        return OrganizationAccess(
            organization=membership.organization,
            role=Role(membership.role),
            membership=membership,
        )
    if getattr(user, "is_provider_staff", False):
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is not None:
            return OrganizationAccess(
                organization=organization, role=Role.VIEWER, membership=None, via_provider=True
            )
    raise Http404("No such organisation.")


def organization_access_require(access: OrganizationAccess, minimum: Role) -> None:
    if not access.has_role(minimum):
        raise PermissionDenied(f"This needs the {minimum.label.lower()} role or higher.")


def tenant_object_get(queryset: models.QuerySet[M], access: OrganizationAccess, **lookup) -> M:
    """Fetch one object of the organisation, or 404 if it belongs to anybody else."""
    try:
        return queryset.get(organization=access.organization, **lookup)
    except (queryset.model.DoesNotExist, ValueError, models.ObjectDoesNotExist):
        raise Http404("Not found in this organisation.") from None


View = Callable[..., HttpResponse]


def organization_view(
    minimum: Role = Role.VIEWER, *, write_minimum: Role = Role.ADMIN, post_reads: bool = False
):
    """Decorate a view taking `org_id`: resolves access and enforces roles.

    `minimum` is needed for any request; unsafe methods (POST, PUT, PATCH, DELETE) also need
    `write_minimum`, and provider staff may not make them. A view whose POST only asks a
    question (`post_reads`: a POST for its CSRF check, as it makes a PBX work) takes it from
    anyone who may read. Sets `request.access` for the view and templates.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, org_id: uuid.UUID, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access = organization_access_get(user=request.user, organization_id=org_id)
            organization_access_require(access, minimum)
            if request.method not in ("GET", "HEAD", "OPTIONS") and not post_reads:
                organization_access_require(access, write_minimum)
                if access.via_provider:
                    raise PermissionDenied("Provider access is read-only.")
            request.access = access
            return view(request, access, *args, **kwargs)

        return wrapper

    return decorator
