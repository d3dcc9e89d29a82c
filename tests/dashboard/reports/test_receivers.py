"""Over real HTTP: a sync has every phone number the audit reads judged by the time it ends,
so that the connection's first audit parses none."""

import pytest
from django.db import connection as db
from django.utils import timezone

from dashboard.directory.models import DirectoryState
from dashboard.reports.models import PhoneNumberVerdict
from dashboard.reports.phones import RAW_MAX, phone_region
from dashboard.reports.rules import numbers
from dashboard.reports.rules.base import AuditContext
from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection,
    connection_to,
    simulator_allowed,
)
from tests.dashboard.directory.syncing import sync_now
from tests.integrations.threecx.conftest import simulator  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_a_sync_has_every_number_the_audit_reads_judged(simulator, connection):  # noqa: F811
    assert sync_now(connection).status == "succeeded"
    state = DirectoryState.objects.get(connection=connection)
    ctx = AuditContext(connection=connection, state=state, now=timezone.now())
    sql, params = numbers._numbers_sql(ctx)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT raw FROM ({sql}) t", params)  # noqa: S608
        texts = {raw for (raw,) in cursor.fetchall() if len(raw) <= RAW_MAX}
    judged = PhoneNumberVerdict.objects.filter(region=phone_region(connection), raw__in=texts)
    assert len(texts) > 50
    assert set(judged.values_list("raw", flat=True)) == texts
    assert not numbers._verdicts_missing(ctx)
