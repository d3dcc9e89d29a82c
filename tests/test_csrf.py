"""A CSRF matrix over every URL of the product, for a signed-in owner (the most rights).

Writes without a token, or with a token from another session, are refused before any view
runs, whatever the URL; with the session's own token (the header htmx sends, or the form
field) the same requests get past the check.
"""

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.console.models import XapiCall
from dashboard.tenants.models import Invitation, Membership, Organization, Role
from integrations.threecx.models import ThreeCXConnection
from tests.test_tenant_isolation import ROUTES, World

pytestmark = pytest.mark.django_db

UNSAFE_METHODS = ("post", "put", "patch", "delete")
CSRF_FAILURE = b"CSRF verification failed"


def signed_in_owner(world: World) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member("a", Role.OWNER))
    return client


def csrf_token_of(client: Client) -> str:
    """The token a page gives this session's browser (set by any page with a form)."""
    client.get(reverse("organization_create"))
    return client.cookies["csrftoken"].value


def tenant_data_snapshot() -> tuple[int, ...]:
    return (
        Organization.objects.count(),
        Membership.objects.count(),
        Membership.objects.filter(role=Role.OWNER).count(),
        Invitation.objects.count(),
        ThreeCXConnection.objects.count(),
        XapiCall.objects.count(),  # nothing sent to a PBX
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_writes_without_a_token_are_refused_and_change_nothing(route):
    world = World()
    url = route.url(world, "a")
    client = signed_in_owner(world)
    before = tenant_data_snapshot()
    for method in UNSAFE_METHODS:
        response = getattr(client, method)(url, {"role": "viewer", "name": "Forged"})
        assert response.status_code == 403, f"{method.upper()} {url}"
        assert CSRF_FAILURE in response.content, f"{method.upper()} {url}"
    assert tenant_data_snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_token_from_another_session_is_refused(route):
    world = World()
    url = route.url(world, "a")
    attacker = Client(enforce_csrf_checks=True)
    attacker.force_login(world.member("b", Role.OWNER))
    stolen = csrf_token_of(attacker)
    client = signed_in_owner(world)
    csrf_token_of(client)
    before = tenant_data_snapshot()
    response = client.post(url, {"name": "Forged"}, headers={"X-CSRFToken": stolen})
    assert response.status_code == 403, url
    assert CSRF_FAILURE in response.content, url
    assert tenant_data_snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("carrier", ["htmx header", "form field"])
def test_the_sessions_own_token_gets_past_the_check(route, carrier):
    world = World()
    url = route.url(world, "a")
    client = signed_in_owner(world)
    token = csrf_token_of(client)
    if carrier == "htmx header":
        response = client.post(url, headers={"X-CSRFToken": token, "HX-Request": "true"})
    else:
        response = client.post(url, {"csrfmiddlewaretoken": token})
    assert CSRF_FAILURE not in response.content, url
