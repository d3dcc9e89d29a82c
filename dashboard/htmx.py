"""How every view answers HTMX and plain requests alike.

A page's parts are swapped in by HTMX, and the same URLs work without JavaScript: a view
answers a fragment to HTMX and the whole page (or, after a form post, a redirect with a
message) otherwise. Both answers come from one URL, so each says `Vary: HX-Request`, or a
cache could hand a fragment to someone opening the page.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

VARY = ("HX-Request",)


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it, for type hints."""

    htmx: HtmxDetails


def vary(response: HttpResponse) -> HttpResponse:
    """Mark `response` as one of a URL's two answers (fragment or page), for caches."""
    patch_vary_headers(response, VARY)
    return response


def fragment_wanted(request: HtmxHttpRequest, *, target: str | None = None) -> bool:
    """Whether to answer with a fragment: an HTMX request, aimed at `target` when one is
    given, and not htmx restoring history after Back (which needs the whole page)."""
    htmx = request.htmx
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def fragment_or_page(
    request: HtmxHttpRequest,
    *,
    fragment: str,
    page: str,
    context: Mapping[str, Any],
    target: str | None = None,
    fragment_headers: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the `fragment` template for HTMX (see `fragment_wanted`), else the `page`.

    `fragment_headers` go with a fragment only (HX-Push-Url and the like).
    """
    wanted = fragment_wanted(request, target=target)
    response = render(request, fragment if wanted else page, context, status=status)
    if wanted:
        for name, value in (fragment_headers or {}).items():
            response[name] = value
    return vary(response)


def fragment_or_redirect(
    request: HtmxHttpRequest,
    fragment: Callable[[], HttpResponse],
    *,
    redirect_to: str,
    message: str = "",
    level: int = messages.INFO,
) -> HttpResponse:
    """After a form post: HTMX gets `fragment()`; a browser without JavaScript is sent to
    `redirect_to`, where `message` (if any) says what happened."""
    if request.htmx:
        response = fragment()
    else:
        if message:
            messages.add_message(request, level, message)
        response = redirect(redirect_to)
    return vary(response)
