"""Request guards that apply to every page: HTMX-aware sign-in redirects and the MFA policy."""

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from dashboard.tenants.selectors import user_requires_mfa

Handler = Callable[[HttpRequest], HttpResponse]


class HtmxLoginRedirectMiddleware:
    """An HTMX request whose session expired must send the whole browser to sign-in.

    Without this, htmx follows the redirect and swaps the sign-in form into a panel.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and isinstance(response, HttpResponseRedirect)
            and response.url.startswith(reverse(settings.LOGIN_URL))
        ):
            next_url = request.htmx.current_url_abs_path or "/"
            login = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"
            return HttpResponseClientRedirect(login)
        return response


class RequireMfaMiddleware:
    """Members of an organisation that demands MFA, and all staff, must set it up first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_set_up_mfa(request):
            target = reverse("mfa_activate_totp")
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(target)
            return HttpResponseRedirect(target)
        return self.get_response(request)

    @staticmethod
    def _must_set_up_mfa(request: HttpRequest) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        path = request.path_info
        # The set-up pages themselves, the rest of the account area (sign out, email
        # verification, reauthentication) and static files stay reachable.
        exempt = ("/accounts/", f"/{settings.STATIC_URL.lstrip('/')}")
        if path.startswith(exempt):
            return False
        return user_requires_mfa(user=user) and not is_mfa_enabled(user)
