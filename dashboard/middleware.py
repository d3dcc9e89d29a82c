"""Response headers every page, fragment and export carries.

Django 5.2 has no Content-Security-Policy of its own (6.0 adds one), and the product needs no
nonce: no template has an inline script, style or event handler, htmx runs without eval
(`htmx-config` in base.html) and its indicator styles live in app.css. So one fixed policy, set
here, rather than a dependency.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

#: Scripts and styles only from the site's own files; images also as data: URIs (the TOTP QR
#: code of allauth's MFA set-up is one); no plugins, frames, or forms posting elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
#: Powerful browser features the dashboard never uses, off for it and anything it embeds.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response, and `Cache-Control:
    no-store` on every response to a signed-in user: pages, fragments and CSV exports show
    tenant data, which must stay out of shared proxies and the browser's disk cache (and out
    of Back after signing out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
