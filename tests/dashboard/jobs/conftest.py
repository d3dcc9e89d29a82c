from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.connections.models import ConnectionCheck
from dashboard.jobs.models import Job
from integrations.threecx.models import ThreeCXConnection


@pytest.fixture
def connection(organization) -> ThreeCXConnection:
    """A connection nobody calls: these jobs' work is the tests' own."""
    return ThreeCXConnection.objects.create(
        organization=organization,
        name="Main PBX",
        base_url="https://pbx.example.com",
        client_id="9",
    )


@pytest.fixture
def make_check(organization, connection):
    """make_check(status=..., age=seconds since created, heartbeat=seconds since the last
    heartbeat, finished=seconds since it finished) -> a ConnectionCheck, a concrete Job."""

    def make(
        status: str = Job.Status.QUEUED,
        *,
        age: float = 0,
        heartbeat: float | None = None,
        finished: float | None = None,
    ) -> ConnectionCheck:
        check = ConnectionCheck.objects.create(
            organization=organization, connection=connection, status=status
        )
        now = timezone.now()
        fields = {"created_at": now - timedelta(seconds=age)}
        if heartbeat is not None:
            fields |= {
                "started_at": now - timedelta(seconds=age),
                "heartbeat_at": now - timedelta(seconds=heartbeat),
            }
        if finished is not None:
            fields["finished_at"] = now - timedelta(seconds=finished)
        ConnectionCheck.objects.filter(pk=check.pk).update(**fields)
        check.refresh_from_db()
        return check

    return make
