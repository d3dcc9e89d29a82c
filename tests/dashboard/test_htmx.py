"""The one way views answer HTMX and plain requests: a fragment, a page or a redirect."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from dashboard.htmx import fragment_or_page, fragment_or_redirect


def request_with(**headers):
    request = RequestFactory().get("/somewhere/", headers=headers)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize(
    ("headers", "target", "fragment"),
    [
        ({}, None, False),
        ({"HX-Request": "true"}, None, True),
        ({"HX-Request": "true", "HX-Target": "results"}, "results", True),
        ({"HX-Request": "true", "HX-Target": "elsewhere"}, "results", False),
        # Back with htmx's history cache off: the whole page, whatever the target.
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, None, False),
    ],
)
def test_it_answers_a_fragment_only_to_htmx_aimed_at_it_and_always_varies(
    headers, target, fragment
):
    response = fragment_or_page(
        request_with(**headers),
        fragment="directory/_field_errors.html",
        page="404.html",
        context={"field": None},
        target=target,
        fragment_headers={"HX-Push-Url": "/there/"},
    )
    assert ("<html" not in response.text) is fragment
    assert ("HX-Push-Url" in response) is fragment
    assert "HX-Request" in response["Vary"]


def test_a_plain_form_post_is_redirected_with_its_message():
    request = request_with()
    response = fragment_or_redirect(
        request, lambda: HttpResponse("fragment"), redirect_to="/back/", message="Queued."
    )
    assert (response.status_code, response["Location"]) == (302, "/back/")
    assert [m.message for m in get_messages(request)] == ["Queued."]
    assert "HX-Request" in response["Vary"]


def test_htmx_gets_the_fragment_and_no_message():
    request = request_with(**{"HX-Request": "true"})
    response = fragment_or_redirect(
        request, lambda: HttpResponse("fragment"), redirect_to="/back/", message="Queued."
    )
    assert response.content == b"fragment"
    assert list(get_messages(request)) == []
    assert "HX-Request" in response["Vary"]
