"""Big exports, and exports across connections or organisations, are made on the worker:
a page shows their progress, then a download link that only those who may see the listing
can use, until the file expires."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from dashboard.directory.models import EntryKind
from dashboard.exports import services, sources, writers
from dashboard.exports.models import Export
from dashboard.exports.services import export_run, exports_purge
from dashboard.exports.sources import ExportSource
from dashboard.exports.tables import CellType, ExportColumn, ExportTable
from dashboard.exports.tasks import exports_purge_task
from dashboard.jobs.models import Job
from dashboard.tenants.models import Activity, Membership, Role
from tests.dashboard.exports.conftest import entries_url
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("exports:create")
POLL = {"HX-Request": "true", "HX-Target": "export-status"}


@pytest.fixture
def many_users(make_connection, add_entry, settings):
    """A connection with 7 users, and 3 as the biggest export made straight away."""
    settings.EXPORT_DIRECT_MAX_ROWS = 3
    connection = make_connection()
    for number in range(100, 107):
        add_entry(connection, EntryKind.USER, number=str(number), name=f"Üser {number}")
    return connection


@pytest.fixture
def queue_export(client_for, viewer, organization, many_users, django_capture_on_commit_callbacks):
    """queue_export(format=..., params=...) -> an Export of the 7 users the viewer asked for,
    queued (the task it sends is captured, not run)."""

    def queue(*, user=viewer, **form) -> Export:
        data = {
            "source": "directory.entries",
            "org": str(organization.pk),
            "kwargs": urlencode({"kind": "users", "connection_id": many_users.pk}),
            "params": "sort=-number",
            "listing": entries_url(organization, "users", many_users) + "?sort=-number",
            "format": "csv",
            "bom": "1",
            **form,
        }
        with django_capture_on_commit_callbacks() as callbacks:
            response = client_for(user).post(CREATE, data)
        export = Export.objects.order_by("-created_at").first()
        assert response.status_code == 302, response.content
        assert response["Location"] == reverse("exports:detail", args=[export.pk])
        assert len(callbacks) == 1
        return export

    return queue


def made(export: Export) -> Export:
    export = export_run(export_id=export.pk, worker="tests pid 1")
    assert export.status == Export.Status.SUCCEEDED, export.error
    return export


def download(client, export: Export):
    return client.get(reverse("exports:download", args=[export.pk]))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- the job --------------------------------------------------------------------------------------


def test_a_big_export_is_queued_then_made_by_the_worker(queue_export, many_users):
    export = queue_export()
    assert export.status == Export.Status.QUEUED
    assert (export.title, export.filters, export.rows_total) == (
        "Users of Main PBX",
        "sorted by Ext. (descending)",
        7,
    )
    export = made(export)
    assert export.rows_written == export.rows_total == 7
    assert export.worker == "tests pid 1"
    assert export.file.name.endswith(f"{export.pk}.csv")
    assert export.size == export.file.size > 0
    assert export.expires_at - timezone.now() > timedelta(days=6, hours=23)
    with export.file.open("rb") as file:
        data = file.read()
    assert data.startswith(b"\xef\xbb\xbf")
    _, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert [row[2] for row in rows] == [str(n) for n in range(106, 99, -1)]


def test_the_worker_reports_rows_written_as_it_goes(queue_export, monkeypatch):
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 2)
    beats = []
    real = services.job_heartbeat

    def heartbeat(job, **fields):
        beats.append(fields)
        # What the progress page would read at that moment.
        polled = Export.objects.get(pk=job.pk)
        beats.append({"seen": (polled.status, polled.rows_written, polled.rows_total)})
        return real(job, **fields)

    monkeypatch.setattr(services, "job_heartbeat", heartbeat)
    export = made(queue_export())
    written = [b["rows_written"] for b in beats if "rows_written" in b]
    assert written == [2, 4, 6, 7]
    assert {"seen": ("running", 4, 7)} in beats
    assert export.rows_written == 7


def test_an_xlsx_export_is_made_on_the_worker_too(queue_export):
    import openpyxl

    export = made(queue_export(format="xlsx"))
    assert export.filename.endswith(".xlsx")
    with export.file.open("rb") as file:
        sheet = openpyxl.load_workbook(io.BytesIO(file.read())).active
    assert sheet.max_row == 8 and sheet.freeze_panes == "A2"
    assert sheet.title == "Users of Main PBX"


def test_an_export_whose_requester_lost_access_fails_and_writes_nothing(
    queue_export, viewer, organization, exports_storage
):
    export = queue_export()
    Membership.objects.filter(user=viewer, organization=organization).delete()
    export = export_run(export_id=export.pk)
    assert export.status == Export.Status.FAILED
    assert export.error_title == "No longer allowed"
    assert not export.file
    assert not any(path.is_file() for path in exports_storage.rglob("*"))


def test_an_export_runs_once_however_often_its_task_arrives(queue_export):
    export = made(queue_export())
    again = export_run(export_id=export.pk, worker="another")
    assert again.worker == "tests pid 1" and again.file.name == export.file.name


# --- its page -------------------------------------------------------------------------------------


def test_the_page_polls_while_queued_and_shows_the_rows_written_while_running(
    client_for, viewer, queue_export
):
    export = queue_export()
    client = client_for(viewer)
    url = reverse("exports:detail", args=[export.pk])
    page = client.get(url).content.decode()
    assert "Users of Main PBX" in page and "sorted by Ext. (descending)" in page
    assert f'hx-get="{url}" hx-trigger="every 1s"' in page
    assert "Waiting for the background worker" in page

    Export.objects.filter(pk=export.pk).update(
        status=Job.Status.RUNNING, rows_written=3, heartbeat_at=timezone.now()
    )
    fragment = client.get(url, headers=POLL)
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text
    assert "Writing rows: 3 of 7" in text and '<progress max="100" value="42"' in text


def test_the_page_stops_polling_and_offers_the_file_once_made(client_for, viewer, queue_export):
    export = made(queue_export())
    client = client_for(viewer)
    url = reverse("exports:detail", args=[export.pk])
    fragment = client.get(url, headers=POLL)
    assert fragment.status_code == 286  # htmx stops polling
    text = fragment.content.decode()
    assert "hx-trigger" not in text
    assert reverse("exports:download", args=[export.pk]) in text
    assert "7 rows" in text


def test_a_failed_export_says_what_went_wrong(client_for, viewer, organization, queue_export):
    export = queue_export()
    Membership.objects.filter(user=viewer, organization=organization).update(role=Role.VIEWER)
    Export.objects.filter(pk=export.pk).update(
        status=Job.Status.FAILED, error_title="Disk full", error="Try again later."
    )
    page = client_for(viewer).get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert 'role="alert"><strong>Disk full.</strong> Try again later.' in page


# --- downloads ------------------------------------------------------------------------------------


def test_the_requester_downloads_the_file_as_it_was_made(client_for, viewer, queue_export):
    export = made(queue_export())
    response = download(client_for(viewer), export)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    header, *rows = csv_rows(response)
    assert header[:3] == ["Connection", "3CX Id", "Number"] and len(rows) == 7


def test_members_who_may_see_the_listing_download_it_too(
    client_for, organization, queue_export, provider_staff
):
    export = made(queue_export())
    colleague = MembershipFactory(organization=organization, role=Role.VIEWER).user
    assert len(csv_rows(download(client_for(colleague), export))) == 8
    assert len(csv_rows(download(client_for(provider_staff), export))) == 8


def test_outsiders_and_other_organisations_get_404(client_for, outsider, queue_export):
    export = made(queue_export())
    stranger = UserFactory()
    for user in (outsider, stranger):
        client = client_for(user)
        for name in ("exports:detail", "exports:download"):
            assert client.get(reverse(name, args=[export.pk])).status_code == 404, name


def test_a_member_who_left_gets_404(client_for, viewer, organization, queue_export):
    export = made(queue_export())
    Membership.objects.filter(user=viewer, organization=organization).delete()
    assert download(client_for(viewer), export).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, queue_export):
    export = made(queue_export())
    client.logout()
    for name in ("exports:detail", "exports:download"):
        response = client.get(reverse(name, args=[export.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    response = client.get(reverse("exports:list"))
    assert response["Location"].startswith(reverse("account_login"))


def test_an_expired_export_answers_410_with_where_to_export_again(
    client_for, viewer, organization, many_users, queue_export
):
    export = made(queue_export())
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = download(client_for(viewer), export)
    assert response.status_code == 410
    page = response.content.decode()
    assert "This export expired" in page and " on " in page
    listing = entries_url(organization, "users", many_users) + "?sort=-number"
    assert f'Export again from <a href="{listing}">the list</a>' in page


def test_a_file_deleted_behind_the_dashboards_back_counts_as_expired(
    client_for, viewer, queue_export
):
    export = made(queue_export())
    export.file.storage.delete(export.file.name)
    assert download(client_for(viewer), export).status_code == 410


def test_an_unfinished_export_sends_the_download_link_back_to_its_page(
    client_for, viewer, queue_export
):
    export = queue_export()
    response = download(client_for(viewer), export)
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:detail", args=[export.pk])


def test_a_listing_url_from_elsewhere_is_not_kept(queue_export):
    export = queue_export(listing="https://evil.example/phish")
    assert export.listing_url == ""
    export = queue_export(listing="//evil.example/phish")
    assert export.listing_url == ""


# --- expiry ---------------------------------------------------------------------------------------


def test_purge_deletes_expired_files_and_keeps_their_rows(queue_export, exports_storage):
    old, fresh = made(queue_export()), made(queue_export())
    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exports_purge_task() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert not old.file and old.is_expired and old.status == Export.Status.SUCCEEDED
    assert fresh.file and fresh.file.storage.exists(fresh.file.name)
    assert [p.name for p in exports_storage.rglob("*.csv")] == [f"{fresh.pk}.csv"]


def test_purge_forgets_finished_exports_after_the_jobs_retention(queue_export, settings):
    settings.JOB_RETENTION_DAYS = 30
    export = made(queue_export())
    failed = queue_export()
    Export.objects.filter(pk=failed.pk).update(
        status=Job.Status.FAILED, finished_at=timezone.now() - timedelta(days=31)
    )
    Export.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - timedelta(days=24),
        finished_at=timezone.now() - timedelta(days=31),
    )
    exports_purge()
    assert not Export.objects.exists()
    # The activity log keeps what was exported.
    assert Activity.objects.filter(action="export.created").count() == 2


def test_beat_purges_exports_every_hour(settings):
    assert settings.CELERY_BEAT_SCHEDULE["exports-purge"] == {
        "task": "exports.purge",
        "schedule": 3600.0,
    }


# --- the list of one's exports --------------------------------------------------------------------


def test_the_list_shows_ones_own_exports_with_filters_rows_size_and_expiry(
    client_for, viewer, organization, queue_export
):
    done, waiting = made(queue_export()), queue_export(format="xlsx")
    colleague = MembershipFactory(organization=organization, role=Role.VIEWER).user
    theirs = queue_export(user=colleague)
    page = client_for(viewer).get(reverse("exports:list")).content.decode()
    assert reverse("exports:download", args=[done.pk]) in page
    assert reverse("exports:detail", args=[waiting.pk]) in page
    assert reverse("exports:detail", args=[theirs.pk]) not in page
    assert "sorted by Ext. (descending)" in page and "Excel (XLSX)" in page
    assert "<td>7</td>" in page and "Queued" in page


def test_exports_of_an_organisation_one_left_are_not_listed(
    client_for, viewer, organization, queue_export
):
    export = queue_export()
    Membership.objects.filter(user=viewer, organization=organization).delete()
    page = client_for(viewer).get(reverse("exports:list")).content.decode()
    assert reverse("exports:detail", args=[export.pk]) not in page
    assert "No exports yet" in page


# --- the activity log -----------------------------------------------------------------------------


def test_a_background_export_is_recorded_once_when_asked_for(queue_export, viewer, organization):
    export = made(queue_export(format="xlsx"))
    activity = Activity.objects.get(action="export.created")
    assert (activity.organization, activity.actor) == (organization, viewer)
    assert (activity.target_type, activity.target_id) == ("export", str(export.pk))
    assert activity.details == {
        "source": "directory.entries",
        "format": "xlsx",
        "filters": "sorted by Ext. (descending)",
        "rows": 7,
        "all_fields": False,
        "bom": False,
        "background": True,
    }


# --- listings of other apps and provider-wide ones ------------------------------------------------


@pytest.fixture
def numbers_source(monkeypatch):
    """A provider-wide listing (like the roll-up) and an admins-only one, registered for the
    test only."""

    def provider_numbers(scope) -> ExportTable:
        if not getattr(scope.user, "is_provider_staff", False) or scope.organization is not None:
            raise Http404("Provider staff only.")
        return ExportTable(
            title="Numbers of every organisation",
            slug="numbers",
            columns=[ExportColumn("n", lambda n: n, CellType.NUMBER)],
            rows=lambda: iter(range(5)),
            count=lambda: 5,
        )

    def admins_only(scope) -> ExportTable:
        from dashboard.tenants.access import organization_access_get

        access = organization_access_get(user=scope.user, organization_id=scope.organization.pk)
        if not access.can_manage:
            raise PermissionDenied("Admins only.")
        return provider_numbers.__wrapped__(scope)

    def table(scope) -> ExportTable:
        return ExportTable(
            title="Numbers",
            slug="numbers",
            columns=[ExportColumn("n", lambda n: n, CellType.NUMBER)],
            rows=lambda: iter(range(5)),
            count=lambda: 5,
        )

    provider_numbers.__wrapped__ = table
    for source in (
        ExportSource("tests.rollup", provider_numbers, background=lambda scope: True),
        ExportSource("tests.admins", admins_only, background=lambda scope: True),
    ):
        monkeypatch.setitem(sources._SOURCES, source.key, source)


def test_a_provider_wide_export_belongs_to_no_organisation(
    client_for, provider_staff, numbers_source, django_capture_on_commit_callbacks
):
    client = client_for(provider_staff)
    with django_capture_on_commit_callbacks():
        client.post(CREATE, {"source": "tests.rollup", "format": "csv", "bom": "1"})
    export = made(Export.objects.get())
    assert export.organization is None
    assert len(csv_rows(download(client, export))) == 6
    activity = Activity.objects.get(action="export.created")
    assert activity.organization is None and activity.actor == provider_staff
    assert activity.target_label == "Numbers of every organisation"
    page = client.get(reverse("exports:list")).content.decode()
    assert reverse("exports:detail", args=[export.pk]) in page


def test_only_provider_staff_may_download_a_provider_wide_export(
    client_for, provider_staff, owner, numbers_source, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        client_for(provider_staff).post(CREATE, {"source": "tests.rollup", "format": "csv"})
    export = made(Export.objects.get())
    assert download(client_for(owner), export).status_code == 404
    assert client_for(owner).post(CREATE, {"source": "tests.rollup"}).status_code == 404


def test_a_listing_a_role_may_not_see_is_refused_and_its_exports_hidden(
    client_for, admin, viewer, organization, numbers_source, django_capture_on_commit_callbacks
):
    form = {"source": "tests.admins", "org": str(organization.pk), "format": "csv"}
    assert client_for(viewer).post(CREATE, form).status_code == 403
    with django_capture_on_commit_callbacks():
        client_for(admin).post(CREATE, form)
    export = made(Export.objects.get())
    assert len(csv_rows(download(client_for(admin), export))) == 6
    assert download(client_for(viewer), export).status_code == 404
