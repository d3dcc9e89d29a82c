"""Accent-insensitive search, on SQLite and (with DATABASE_URL set) on PostgreSQL."""

import pytest

from dashboard.directory.models import DirectoryEntry, EntryKind
from dashboard.directory.search import text_unaccent
from tests.dashboard.directory.test_views_listing import list_url, shown, sync, visible

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Müller", "Muller"),
        ("Señor Núñez", "Senor Nunez"),
        ("Dvořák", "Dvorak"),
        ("Łódź", "Lodz"),
        ("Straße", "Strasse"),
        ("Ærø", "AEro"),
        ("Ελένη", "Ελενη"),
        ("Ёлка", "Елка"),
        ("Йохан", "Йохан"),  # Й is a letter of its own
        # Scripts whose marks are part of the word come back as they were.
        ("がぎ", "がぎ"),
        ("한국어", "한국어"),
        ("王", "王"),
    ],
)
def test_text_loses_only_its_accents(text, plain):
    assert text_unaccent(text) == plain


@pytest.fixture
def synced(simulator, connection_to):
    connection = connection_to(simulator)
    sync(connection)
    return connection


def renamed(connection, **fields) -> DirectoryEntry:
    user = visible(connection).order_by("number").first()
    DirectoryEntry.objects.filter(pk=user.pk).update(**fields)
    return user


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Jörg Müller", "muller"),
        ("Jörg Müller", "MÜLLER"),
        ("Jorg Muller", "müller"),
        ("Renée Dvořák", "renee dvorak"),
        ("Ana Núñez", "nu"),  # a short word matches a word's start
    ],
)
def test_a_search_finds_names_whatever_their_accents(
    client_for, viewer, organization, synced, stored, typed
):
    user = renamed(synced, name=stored)
    response = client_for(viewer).get(list_url(organization), {"q": typed})
    assert user.external_id in shown(response)


def test_a_company_search_ignores_accents_too(client_for, viewer, organization, synced):
    contact = visible(synced, EntryKind.CONTACT).order_by("external_id").first()
    DirectoryEntry.objects.filter(pk=contact.pk).update(company="Société Générale")
    response = client_for(viewer).get(
        list_url(organization, "contacts"), {"company": "societe generale"}
    )
    assert shown(response) == [contact.external_id]


def test_an_accent_does_not_match_another_letter(client_for, viewer, organization, synced):
    renamed(synced, name="Jörg Müller")
    response = client_for(viewer).get(list_url(organization), {"q": "mäller"})
    assert "No users match" in response.content.decode()
