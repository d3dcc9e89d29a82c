"""A directory written straight into the database (no simulator, no sync), and an exports
storage of each test's own."""

import itertools
from collections.abc import Callable

import pytest
from django.db import connections
from django.db.backends.signals import connection_created
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
from integrations.threecx.models import ThreeCXConnection

#: Names a spreadsheet or a careless writer gets wrong, one per contact.
AWKWARD_NAMES = (
    "Zoë Müller-Lüdenscheidt",
    "王秀英",
    "محمد العربي",
    "Emoji 🎉 Party",
    'Say "cheese", please',
    "Two\nlines",
    '=HYPERLINK("http://evil.example")',
    "+14155550107 / 07",
    "Ångström, Åsa",
)

_ids = itertools.count(1000)


@pytest.fixture(autouse=True)
def exports_storage(settings, tmp_path):
    """Export files of this test only, deleted with its temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }
    return tmp_path / "exports"


@pytest.fixture
def other_connections():
    """The database connections opened besides the test's own (an export reads on one of
    its own), each as a dict saying whether it was closed."""
    opened: list[dict[str, bool]] = []

    def track(sender, connection, **kwargs):
        if connection is connections[connection.alias]:
            return
        record = {"closed": False}
        close = connection.close

        def closing():
            record["closed"] = True
            close()

        connection.close = closing
        opened.append(record)

    connection_created.connect(track)
    yield opened
    connection_created.disconnect(track)


@pytest.fixture
def make_connection(organization) -> Callable[..., ThreeCXConnection]:
    """make_connection(name) -> a synced connection (generation 1) of `organization` that
    nobody calls: its entries are written by `add_entry`."""

    def make(name: str = "Main PBX", organization=organization) -> ThreeCXConnection:
        connection = ThreeCXConnection(
            organization=organization,
            name=name,
            base_url="https://pbx.example.com",
            client_id="900",
        )
        connection.client_secret_set("not-a-real-secret")
        connection.save()
        DirectoryState.objects.create(connection=connection, generation=1)
        return connection

    return make


@pytest.fixture
def add_entry() -> Callable[..., DirectoryEntry]:
    """add_entry(connection, kind, **columns) -> a visible entry; `data` defaults to the
    columns as 3CX would name them."""

    def add(connection: ThreeCXConnection, kind: str = EntryKind.CONTACT, **columns):
        external_id = columns.pop("external_id", next(_ids))
        data = columns.pop("data", None)
        if data is None:
            data = {"Id": external_id, "DisplayName": columns.get("name", "")}
        return DirectoryEntry.objects.create(
            organization=connection.organization,
            connection=connection,
            kind=kind,
            external_id=external_id,
            generation_added=1,
            data=data,
            content_hash=str(external_id),
            **columns,
        )

    return add


@pytest.fixture
def contacts(make_connection, add_entry) -> ThreeCXConnection:
    """A connection whose contacts have every awkward name, a phone number with "+" and one
    with a leading zero."""
    connection = make_connection()
    for index, name in enumerate(AWKWARD_NAMES):
        add_entry(
            connection,
            name=name,
            company="Ünïcode GmbH" if index % 2 else "Plain Ltd",
            email=f"contact{index}@example.com",
            phone="+14155550107" if index % 2 else "0044 20 7946 0018",
            mobile="0612345678",
            entry_type="Business" if index % 3 else "Personal",
            data={
                "Id": index,
                "FirstName": name,
                "PhoneNumber": "+14155550107",
                "Tags": ["a", "b"],
                "Extra": {"Nested": True},
            },
        )
    return connection


def entries_url(organization, kind: str = "contacts", connection=None) -> str:
    if connection is None:
        return reverse("directory_list", kwargs={"org_id": organization.pk, "kind": kind})
    return reverse(
        "connection_directory_list",
        kwargs={"org_id": organization.pk, "connection_id": connection.pk, "kind": kind},
    )
