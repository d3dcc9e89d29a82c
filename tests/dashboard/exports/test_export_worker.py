"""A background export carried out by a real worker process, on whatever database and broker
the tests run with: the zero-setup default (SQLite and the `sqla+sqlite` broker) or
PostgreSQL and Redis."""

import csv
import io
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, EntryKind
from dashboard.exports.models import Export
from tests.workers import celery_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 120


def test_a_worker_makes_an_export_across_connections(
    monkeypatch,
    exports_storage,
    settings,
    client_for,
    viewer,
    organization,
    make_connection,
    add_entry,
):
    # The worker writes where this test reads (its var dir holds the exports storage), and
    # takes its tasks from this test's broker whatever the var dir says.
    monkeypatch.setenv("DASHBOARD_VAR_DIR", str(exports_storage.parent))
    monkeypatch.setenv("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
    first, second = make_connection("First PBX"), make_connection("Second PBX")
    for connection, names in ((first, ["Zoë", "王秀英"]), (second, ["محمد", "Ann"])):
        for name in names:
            add_entry(connection, EntryKind.CONTACT, name=name, phone="+14155550107")
    client = client_for(viewer)
    with celery_worker():
        response = client.post(
            reverse("exports:create"),
            {
                "source": "directory.entries",
                "org": str(organization.pk),
                "kwargs": urlencode({"kind": "contacts"}),
                "params": "sort=-name",
                "format": "csv",
                "bom": "1",
            },
        )
        export = Export.objects.get()
        assert response["Location"] == reverse("exports:detail", args=[export.pk])
        wait_until(
            lambda: Export.objects.get(pk=export.pk).is_finished,
            timeout=TIMEOUT,
            what="the worker did not finish the export",
        )
    export.refresh_from_db()
    assert export.status == Export.Status.SUCCEEDED, export.error
    assert export.worker.startswith("tests-")
    assert export.rows_written == export.rows_total == 4
    download = client.get(reverse("exports:download", args=[export.pk]))
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    expected = DirectoryEntry.objects.filter(kind=EntryKind.CONTACT).order_by("-name", "-pk")
    assert [(r["Connection"], r["Name"], r["Phone"]) for r in rows] == [
        (entry.connection.name, entry.name, "+14155550107") for entry in expected
    ]
