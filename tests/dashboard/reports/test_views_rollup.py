"""How the provider roll-up shows its figures (what it counts is in test_rollup.py)."""

from datetime import timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from dashboard.reports.views import _RollupClock
from tests.dashboard.reports.test_rollup import URL, customer, table


@pytest.mark.django_db
def test_zero_counts_look_alike_and_lead_nowhere_whatever_the_severity(client_for, provider_staff):
    calm = customer("Calm Co", {"medium": 3})
    page = table(client_for(provider_staff).get(URL).content.decode())
    report = reverse("reports:organization", args=[calm.pk])
    assert f'href="{report}?severity=medium">3</a>' in page
    for severity in ("critical", "high", "low"):
        assert f"?severity={severity}" not in page
    assert page.count('<td class="count"><span class="muted">0</span></td>') == 3


@pytest.mark.django_db
def test_the_sort_arrow_stays_beside_its_column_label(client_for, provider_staff):
    customer("Calm Co", {})
    page = client_for(provider_staff).get(URL + "?sort=-critical").content.decode()
    assert "Critical&nbsp;▼</a>" in page
    assert '<th scope="col" class="sortable" aria-sort="descending">' in page


@pytest.mark.django_db
def test_times_read_as_on_every_other_page(client_for, provider_staff):
    now = timezone.now()
    oldest, synced = now - timedelta(days=3, hours=4, minutes=5), now - timedelta(hours=2)
    licence = now + timedelta(days=40)
    acme = customer(
        "Acme",
        {"critical": 1, "oldest_critical_at": oldest, "synced": synced},
        {"licence_expires_at": licence, "synced": None},
    )
    row = table(client_for(provider_staff).get(URL).content.decode())
    report = reverse("reports:organization", args=[acme.pk])
    local = timezone.localtime(oldest)
    assert (
        f'<a href="{report}?severity=critical&amp;sort=oldest"><time datetime="{local.isoformat()}"'
        f' title="{date_format(local, "DATETIME_FORMAT")}">{naturaltime(oldest)}</time></a>'
    ) in row
    assert f">{naturaltime(synced)}</time></a> <span" in row
    assert '<span class="muted small">(1 never)</span>' in row
    assert f">{date_format(timezone.localtime(licence), 'DATE_FORMAT')}</time>" in row


@pytest.mark.parametrize(
    "ago",
    [
        timedelta(seconds=90),
        timedelta(minutes=59),
        timedelta(hours=1, minutes=10),
        timedelta(hours=23),
        timedelta(days=1, hours=2),
        timedelta(days=9, hours=5),
        timedelta(days=20),
        timedelta(days=-3, hours=-2, seconds=-30),  # naturaltime's now comes later
    ],
)
def test_ages_are_worded_as_humanize_words_them(ago):
    clock = _RollupClock()
    assert clock.age(clock.now - ago) == naturaltime(clock.now - ago)


@pytest.mark.django_db
def test_a_row_without_figures_shows_muted_dashes(client_for, provider_staff):
    customer("Calm Co", {})
    row = table(client_for(provider_staff).get(URL).content.decode())
    assert row.count('title="Not set"') == 3  # worst rule, oldest critical, licence
    assert '<a class="muted" href="' in row and ">0</a></td>" in row  # no sync failure
