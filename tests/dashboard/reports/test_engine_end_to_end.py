"""Over real HTTP: sync the simulated PBX, audit it, fix conditions on the PBX through the
simulator's control API, sync and audit again: those findings resolve."""

import pytest

from dashboard.reports.engine import connection_audit
from dashboard.reports.models import Finding
from dashboard.reports.rules import RULES
from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection,
    connection_to,
    simulator_allowed,
)
from tests.dashboard.directory.syncing import sync_now
from tests.integrations.threecx.conftest import simulator  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

FIXED = ("trunks.unregistered", "outbound.no_emergency_rule", "security.antihacking_weak")


def unresolved(connection, rule: str | None = None):  # noqa: F811 - not the fixture
    findings = Finding.objects.filter(connection=connection, resolved_at__isnull=True)
    return findings.filter(rule=rule) if rule else findings


def test_the_demo_pbx_fires_every_category_and_fixes_resolve(simulator, connection):  # noqa: F811
    from integrations.threecx.simulator.audit_data import ANTIHACKING_DEFAULTS

    assert sync_now(connection).status == "succeeded"
    outcome = connection_audit(connection=connection)
    assert outcome.rules_skipped == []
    fired = set(unresolved(connection).values_list("rule", flat=True))
    assert {rule.category for rule in RULES if rule.id in fired} == set(range(1, 13))
    before = {rule: list(unresolved(connection, rule)) for rule in FIXED}
    assert all(before.values()), before

    sim = simulator.simulator
    for trunk in before["trunks.unregistered"]:
        sim.update("Trunks", trunk.subject_external_id, {"IsOnline": True})
    sim.add("OutboundRules", {"Name": "Emergency", "Prefix": "911", "EmergencyRule": True})
    sim.state_patch(AntiHackingSettings=ANTIHACKING_DEFAULTS)
    assert sync_now(connection).status == "succeeded"
    outcome = connection_audit(connection=connection)

    for rule, findings in before.items():
        assert not unresolved(connection, rule).exists(), rule
        for finding in findings:
            finding.refresh_from_db()
            assert finding.state == "resolved" and finding.resolved_at is not None
    assert outcome.resolved >= len(FIXED)
    assert unresolved(connection, "users.no_email").exists()  # what was not fixed stays
