"""Organisation pages. Views stay thin: access comes from `access`, changes from `services`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.htmx import HtmxHttpRequest, fragment_or_page, fragment_or_redirect
from dashboard.tenants import selectors, services
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from dashboard.tenants.forms import (
    InvitationForm,
    OrganizationCreateForm,
    OrganizationForm,
    RoleForm,
)
from dashboard.tenants.models import Invitation, Membership, Role

CURRENT_ORGANIZATION_KEY = "current_organization_id"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the organisation they used last, their only one, or the list."""
    organizations = selectors.organizations_for_user(user=request.user)
    last = request.session.get(CURRENT_ORGANIZATION_KEY)
    if last and organizations.filter(pk=last).exists():
        return redirect("organization_home", org_id=last)
    ids = list(organizations.values_list("pk", flat=True)[:2])
    if len(ids) == 1:
        return redirect("organization_home", org_id=ids[0])
    if not ids:
        return redirect("organization_create")
    return redirect("organization_list")


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    organizations = selectors.organizations_for_user(user=request.user)
    return render(request, "tenants/organization_list.html", {"organizations": organizations})


@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], owner=request.user, request=request
        )
        messages.success(request, f"{organization.name} is ready. You are its owner.")
        return redirect("organization_home", org_id=organization.pk)
    return render(request, "tenants/organization_create.html", {"form": form})


@organization_view()
def organization_home(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    request.session[CURRENT_ORGANIZATION_KEY] = str(access.organization.pk)
    member_count = selectors.membership_list(organization=access.organization).count()
    return render(
        request,
        "tenants/organization_home.html",
        {
            "organization": access.organization,
            "member_count": member_count,
        },
    )


@organization_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def organization_settings(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    organization = access.organization
    form = OrganizationForm(
        request.POST or None,
        initial={
            "name": organization.name,
            "require_mfa": organization.require_mfa,
            "xapi_writes_enabled": "on" if organization.xapi_writes_enabled else "off",
        },
    )
    if request.method == "POST" and form.is_valid():
        services.organization_update(
            organization=organization,
            actor=request.user,
            name=form.cleaned_data["name"],
            require_mfa=form.cleaned_data["require_mfa"],
            xapi_writes_enabled=form.cleaned_data["xapi_writes_enabled"],
            request=request,
        )
        messages.success(request, "Settings saved.")
        return redirect("organization_settings", org_id=organization.pk)
    return render(
        request, "tenants/organization_settings.html", {"organization": organization, "form": form}
    )


@organization_view()
@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    organization = access.organization
    form = InvitationForm(request.POST or None, can_invite_owner=access.is_owner)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                organization=organization,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                request=request,
            )
        except services.MembershipError as exc:
            form.add_error("email", str(exc))
        except services.InvitationEmailFailed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("member_list", org_id=organization.pk)
    context = {
        "organization": organization,
        "memberships": selectors.membership_list(organization=organization),
        "invitations": selectors.invitation_pending_list(organization=organization),
        "form": form,
        "roles": Role.choices,
        "owner_count": selectors.owner_count(organization=organization),
        "invitation_days": settings.INVITATION_VALID_DAYS,
    }
    return render(request, "tenants/member_list.html", context)


@organization_view()
@require_POST
def member_role_change(
    request: HtmxHttpRequest, access: OrganizationAccess, membership_id: str
) -> HttpResponse:
    membership = tenant_object_get(
        Membership.objects.select_related("user"), access, pk=membership_id
    )
    form = RoleForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose one of the listed roles."
    else:
        try:
            services.membership_role_change(
                membership=membership,
                actor=request.user,
                role=Role(form.cleaned_data["role"]),
                request=request,
            )
        except services.MembershipError as exc:
            error = str(exc)
            membership.refresh_from_db()
    return fragment_or_redirect(
        request,
        lambda: render(
            request,
            "tenants/_member_row.html",
            {
                "membership": membership,
                "roles": Role.choices,
                "owner_count": selectors.owner_count(organization=access.organization),
                "error": error,
                "saved": not error,
            },
        ),
        redirect_to=reverse("member_list", args=[access.organization.pk]),
        message=error or f"{membership.user.email} is now {membership.get_role_display()}.",
        level=messages.ERROR if error else messages.SUCCESS,
    )


@organization_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def member_remove(
    request: HttpRequest, access: OrganizationAccess, membership_id: str
) -> HttpResponse:
    membership = tenant_object_get(
        Membership.objects.select_related("user"), access, pk=membership_id
    )
    if request.method == "POST":
        try:
            services.membership_remove(membership=membership, actor=request.user, request=request)
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{membership.user.email} no longer has access.")
            if membership.user_id == request.user.pk:
                return redirect("home")
        return redirect("member_list", org_id=access.organization.pk)
    return render(
        request,
        "tenants/member_remove.html",
        {"organization": access.organization, "membership": membership},
    )


@organization_view()
@require_POST
def invitation_revoke(
    request: HttpRequest, access: OrganizationAccess, invitation_id: str
) -> HttpResponse:
    invitation = tenant_object_get(
        Invitation.objects.filter(accepted_at__isnull=True), access, pk=invitation_id
    )
    services.invitation_revoke(invitation=invitation, actor=request.user, request=request)
    messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("member_list", org_id=access.organization.pk)


@organization_view(Role.ADMIN)
def activity_list(request: HtmxHttpRequest, access: OrganizationAccess) -> HttpResponse:
    activity_filter = selectors.activity_filter(
        organization=access.organization, params=request.GET
    )
    page = Paginator(activity_filter.qs, 50).get_page(request.GET.get("page"))
    return fragment_or_page(
        request,
        fragment="tenants/_activity_fragment.html",
        page="tenants/activity_list.html",
        context={"organization": access.organization, "filter": activity_filter, "page": page},
    )


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = (
        Invitation.objects.select_related("organization", "invited_by").filter(token=token).first()
    )
    error = ""
    try:
        services.invitation_check(invitation=invitation, user=request.user)
    except services.InvitationError as exc:
        error = str(exc)
    if not error and request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user, request=request)
        except services.InvitationError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("organization_home", org_id=membership.organization_id)
    return render(
        request,
        "tenants/invitation_accept.html",
        {"invitation": invitation, "error": error},
        status=400 if error else 200,
    )
