"""Walks every URL of the product and checks who may reach it.

New URLs are picked up automatically; a URL with a new kind of parameter fails until
OBJECT_FOR_PARAMETER says how to make an object of that kind for a given organisation.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from dashboard.connections.models import ConnectionCheck
from dashboard.console.models import XapiCall
from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind, SyncRun
from dashboard.exports.models import Export
from dashboard.reports.models import AuditRun, Finding
from dashboard.storage.models import StorageBrowse
from dashboard.tenants.models import Activity, Membership, Organization, Role
from integrations.threecx.models import ThreeCXConnection
from tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCT_MODULES = ("dashboard.", "integrations.")
WRITE_METHODS = ("post",)
#: URLs whose POST only asks a question (of a PBX, within rate limits): any member and provider
#: staff may make it. It is a POST so that no GET (a link, a prefetch) ever asks.
READ_POSTS = frozenset({"storage_browse"})
#: Views whose POST changes only the signed-in member's own choices (their audit digest):
#: viewers may, and it changes nothing of the organisation's.
SELF_POSTS = frozenset({"reports:digest_settings"})


@dataclass
class World:
    """Two organisations, each with owner, admin and viewer, created on demand."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], object] = field(default_factory=dict)

    def organization(self, key: str) -> Organization:
        if key not in self.organizations:
            organization = OrganizationFactory(name=f"Org {key}")
            for role in Role:
                MembershipFactory(organization=organization, role=role)
            self.organizations[key] = organization
        return self.organizations[key]

    def member(self, key: str, role: Role):
        return Membership.objects.get(organization=self.organization(key), role=role).user

    def object_for(self, parameter: str, key: str, route: str = "") -> object:
        make = OBJECT_FOR_ROUTE_PARAMETER.get((route, parameter))
        if make is None:
            route, make = "", OBJECT_FOR_PARAMETER[parameter]
        if (route, parameter, key) not in self.objects:
            self.objects[route, parameter, key] = make(self, key)
        return self.objects[route, parameter, key]


OBJECT_FOR_PARAMETER: dict[str, Callable[[World, str], object]] = {
    "org_id": lambda world, key: world.organization(key).pk,
    "membership_id": lambda world, key: (
        Membership.objects.get(organization=world.organization(key), role=Role.VIEWER).pk
    ),
    "invitation_id": lambda world, key: InvitationFactory(organization=world.organization(key)).pk,
    "token": lambda world, key: InvitationFactory(organization=world.organization(key)).token,
    "connection_id": lambda world, key: connection_in(world.organization(key)).pk,
    "check_id": lambda world, key: (
        ConnectionCheck.objects.create(
            organization=world.organization(key), connection=connection_in(world.organization(key))
        ).pk
    ),
    "run_id": lambda world, key: (
        SyncRun.objects.create(
            organization=world.organization(key),
            connection=connection_in(world.organization(key)),
            status=SyncRun.Status.SUCCEEDED,
        ).pk
    ),
    "kind": lambda world, key: "users",
    "external_id": lambda world, key: user_entry_in(world.organization(key)).external_id,
    "browse_id": lambda world, key: (
        StorageBrowse.objects.create(
            organization=world.organization(key),
            connection=connection_in(world.organization(key)),
            filesystem="Local",
        ).pk
    ),
    "finding_id": lambda world, key: finding_in(world.organization(key)).pk,
    "export_id": lambda world, key: (
        Export.objects.create(
            organization=world.organization(key),
            source="directory.entries",
            kwargs={"kind": "users"},
            title="Users",
            filename="users.csv",
        ).pk
    ),
    "rule_id": lambda world, key: "routing.nowhere",
    # A write: its run and confirm URLs are for admins only (a read's are READ_POSTS-like).
    "operation_id": lambda world, key: "UpdateUser",
    "call_id": lambda world, key: (
        XapiCall.objects.create(
            organization=world.organization(key),
            connection=connection_in(world.organization(key)),
            operation_id="ListUser",
            method="GET",
            path="/Users",
            status=XapiCall.Status.SUCCEEDED,
            response_status=200,
            answer={"value": [{"Id": 1, "FirstName": "Ada"}]},
        ).pk
    ),
}

#: Where a parameter names a different kind of object in one URL than in the others.
OBJECT_FOR_ROUTE_PARAMETER: dict[tuple[str, str], Callable[[World, str], object]] = {
    ("reports:audit_run", "run_id"): lambda world, key: (
        AuditRun.objects.create(
            organization=world.organization(key),
            connection=connection_in(world.organization(key)),
            status=AuditRun.Status.SUCCEEDED,
        ).pk
    ),
}


def connection_in(organization: Organization) -> ThreeCXConnection:
    """The organisation's one connection (made on first use; never contacted by these tests)."""
    connection = ThreeCXConnection.objects.filter(organization=organization).first()
    if connection is None:
        connection = ThreeCXConnection(
            organization=organization,
            name="PBX",
            base_url="https://pbx.example.com",
            client_id="900",
        )
        connection.client_secret_set("not-a-real-secret")
        connection.save()
    return connection


#: Parameters that are values rather than objects of an organisation: a URL taking only these
#: besides org_id has no object another organisation could own.
VALUE_PARAMETERS = frozenset({"kind", "operation_id"})


def user_entry_in(organization: Organization) -> DirectoryEntry:
    """A directory user, visible in the organisation's connection."""
    connection = connection_in(organization)
    DirectoryState.objects.update_or_create(connection=connection, defaults={"generation": 1})
    return DirectoryEntry.objects.create(
        organization=organization,
        connection=connection,
        kind=EntryKind.USER,
        external_id=7,
        generation_added=1,
        number="100",
        name="Ada Lovelace",
        content_hash="0",
    )


def finding_in(organization: Organization) -> Finding:
    """An open finding about the organisation's connection's settings."""
    now = timezone.now()
    return Finding.objects.create(
        organization=organization,
        connection=connection_in(organization),
        rule="security.audit_log_off",
        severity="medium",
        subject_kind="setting",
        subject_key="setting:IsAuditLogEnabled",
        subject_label="Audit log",
        summary="The audit log is off",
        first_seen=now,
        last_seen=now,
    )


@dataclass(frozen=True)
class Route:
    name: str
    parameters: tuple[str, ...]

    @property
    def is_tenant_route(self) -> bool:
        return "org_id" in self.parameters

    def url(self, world: World, key: str, object_key: str | None = None) -> str:
        kwargs = {}
        for parameter in self.parameters:
            if parameter not in OBJECT_FOR_PARAMETER and (
                (self.name, parameter) not in OBJECT_FOR_ROUTE_PARAMETER
            ):
                pytest.fail(
                    f"URL {self.name!r} takes {parameter!r}: teach OBJECT_FOR_PARAMETER in "
                    "tests/test_tenant_isolation.py to make one."
                )
            owner_key = key if parameter == "org_id" else (object_key or key)
            kwargs[parameter] = world.object_for(parameter, owner_key, self.name)
        return reverse(self.name, kwargs=kwargs)


def product_routes() -> list[Route]:
    return sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.name)


def _walk(patterns, parameters: tuple[str, ...] = (), namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        found = parameters + tuple(getattr(entry.pattern, "converters", {}) or ())
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, found, inner)
        elif isinstance(entry, URLPattern) and entry.callback.__module__.startswith(
            PRODUCT_MODULES
        ):
            assert entry.name, f"{entry.pattern} needs a name"
            yield Route(f"{namespace}{entry.name}", found)


ROUTES = product_routes()
TENANT_ROUTES = [r for r in ROUTES if r.is_tenant_route]
TENANT_OBJECT_ROUTES = [
    r for r in TENANT_ROUTES if set(r.parameters) - {"org_id", *VALUE_PARAMETERS}
]


def test_the_walk_finds_the_product_urls():
    names = {r.name for r in ROUTES}
    assert {"home", "organization_home", "member_role_change", "activity_list"} <= names


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_anonymous_visitors_are_sent_to_sign_in(client, route):
    url = route.url(World(), "a")
    for method in ("get", *WRITE_METHODS):
        response = getattr(client, method)(url)
        assert response.status_code == 302, f"{method.upper()} {url}"
        assert response["Location"].startswith(reverse("account_login")), url


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_an_expired_session_during_an_htmx_request_redirects_the_whole_page(client, route):
    url = route.url(World(), "a")
    response = client.get(url, headers={"HX-Request": "true", "HX-Current-URL": "/orgs/"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("account_login"))


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_outsiders_get_404_for_another_organisation(client, route):
    world = World()
    url = route.url(world, "a")
    client.force_login(world.member("b", Role.OWNER))
    for method in ("get", *WRITE_METHODS):
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url}"


@pytest.mark.parametrize("route", TENANT_OBJECT_ROUTES, ids=lambda r: r.name)
def test_objects_of_another_organisation_are_404_even_through_ones_own(client, route):
    world = World()
    url = route.url(world, "a", object_key="b")
    client.force_login(world.member("a", Role.OWNER))
    # A URL answers the method it does not serve with 405 before looking anything up; the
    # method it serves must not find the other organisation's object.
    statuses = [getattr(client, method)(url).status_code for method in ("get", *WRITE_METHODS)]
    assert set(statuses) <= {404, 405}, (url, statuses)
    assert 404 in statuses, (url, statuses)


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_viewers_can_change_nothing(client, route):
    world = World()
    url = route.url(world, "a")
    client.force_login(world.member("a", Role.VIEWER))
    for method in WRITE_METHODS:
        response = getattr(client, method)(url, {"role": "owner", "name": "Hijacked"})
        if route.name in READ_POSTS:
            allowed = (200,)
        elif route.name in SELF_POSTS:
            allowed = (200, 302, 405)  # PUT, PATCH, DELETE are refused all the same
        else:
            allowed = (403, 405)
        assert response.status_code in allowed, f"{method.upper()} {url}"
    assert Organization.objects.filter(name="Hijacked").count() == 0
    assert Membership.objects.filter(role=Role.OWNER).count() == 1


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_provider_staff_read_but_never_write(client, route):
    world = World()
    url = route.url(world, "a")
    client.force_login(UserFactory(is_provider_staff=True, mfa=True))
    assert client.get(url).status_code in (200, 403, 405)
    allowed = (200,) if route.name in READ_POSTS else (403, 405)
    for method in WRITE_METHODS:
        assert getattr(client, method)(url).status_code in allowed, url


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_a_get_writes_nothing_and_calls_no_pbx(client, route):
    """Reading is safe to repeat, to prefetch and to follow from anywhere: only the session
    (the organisation last opened) may be saved."""
    world = World()
    url = route.url(world, "a")
    client.force_login(world.member("a", Role.ADMIN))
    with (
        mock.patch("requests.Session.send", side_effect=AssertionError("a GET called out")),
        mock.patch("celery.app.task.Task.apply_async") as enqueued,
        CaptureQueriesContext(db_connection) as queries,
    ):
        client.get(url, {"filesystem": "Local", "path": "/", "format": "csv"})
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "django_session" not in q["sql"]
        # A CSV download is an export, and every export is on record.
        and not q["sql"].startswith('INSERT INTO "tenants_activity"')
    ]
    assert writes == [], url
    assert set(Activity.objects.values_list("action", flat=True)) <= {"export.created"}, url
    assert not enqueued.called, url


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_provider_staff_without_mfa_are_sent_to_set_it_up_first(client, route):
    world = World()
    url = route.url(world, "a")
    client.force_login(UserFactory(is_provider_staff=True))
    mfa_set_up = reverse("mfa_activate_totp")
    assert client.get(url)["Location"] == mfa_set_up, url
    assert client.get(url, headers={"HX-Request": "true"})["HX-Redirect"] == mfa_set_up, url


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_admins_reach_every_page_of_their_organisation(client, route):
    world = World()
    url = route.url(world, "a")
    client.force_login(world.member("a", Role.ADMIN))
    assert client.get(url).status_code in (200, 405), url
