"""Opting in to and out of the audit digests: per organisation for its members, and across
every organisation for provider staff."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.reports.digest import PERIODS, digest_subscription_get, digest_subscription_set
from dashboard.reports.digest_forms import OFF, DigestForm
from dashboard.reports.models import DigestSubscription
from dashboard.tenants.access import OrganizationAccess, organization_view
from dashboard.tenants.models import Organization, Role


# Every member chooses for themselves, viewers included; provider staff read organisation
# pages only, so the decorator refuses their POST and they have the provider digest instead.
@organization_view(write_minimum=Role.VIEWER)
@require_http_methods(["GET", "POST"])
def digest_settings(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    organization = access.organization
    return _digest_page(
        request,
        organization=organization,
        scope=organization.name,
        editable=not access.via_provider,
        redirect_to=("reports:digest_settings", organization.pk),
    )


@login_required
@require_http_methods(["GET", "POST"])
def provider_digest_settings(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "is_provider_staff", False):
        raise Http404("No such page.")
    return _digest_page(
        request,
        organization=None,
        scope="every organisation",
        editable=True,
        redirect_to=("reports:provider_digest_settings",),
    )


def _digest_page(
    request: HttpRequest,
    *,
    organization: Organization | None,
    scope: str,
    editable: bool,
    redirect_to: tuple,
) -> HttpResponse:
    subscription = digest_subscription_get(user=request.user, organization=organization)
    current = subscription.frequency if subscription is not None else OFF
    form = DigestForm(request.POST or None, initial={"frequency": current})
    if editable and request.method == "POST" and form.is_valid():
        frequency = form.frequency_chosen()
        digest_subscription_set(
            user=request.user, organization=organization, frequency=frequency, request=request
        )
        messages.success(
            request, _confirmation(frequency=frequency, scope=scope, email=request.user.email)
        )
        return redirect(*redirect_to)
    return render(
        request,
        "reports/digest_settings.html",
        {
            "organization": organization,
            "scope": scope,
            "form": form if editable else None,
            "subscription": subscription,
            "period_days": {f: p.days for f, p in PERIODS.items()},
        },
    )


def _confirmation(*, frequency: str | None, scope: str, email: str) -> str:
    if frequency is None:
        return f"You will no longer get the audit digest of {scope}."
    label = DigestSubscription.Frequency(frequency).label.lower()
    return f"You will get a {label} audit digest of {scope} at {email}."
