"""12. Outbound rules without an emergency rule."""

from collections.abc import Iterator

from dashboard.directory.models import EntryKind
from dashboard.reports.models import Severity
from dashboard.reports.rules.base import SETTING, AuditContext, Hit, Rule


def evaluate(ctx: AuditContext) -> Iterator[Hit]:
    rules = ctx.entries(EntryKind.OUTBOUND_RULE)
    if rules.filter(data__EmergencyRule=True).exists():
        return
    yield Hit(
        subject_kind=SETTING,
        subject_external_id=None,
        subject_key="outbound:emergency",
        subject_label="Outbound rules",
        summary="No outbound rule is marked as the emergency rule",
    )


RULES = (
    Rule(
        id="outbound.no_emergency_rule",
        title="No emergency outbound rule",
        category=12,
        severity=Severity.CRITICAL,
        why=(
            "Emergency calls (911, 112, 999...) must leave the building through a trunk that "
            "works, whatever the caller's rights and prefixes. 3CX marks one outbound rule as "
            "the emergency rule and tries it first; without one, an emergency call may be "
            "blocked by a prefix, a country restriction or a trunk that is down."
        ),
        how_to_fix=(
            "Admin > Outbound Rules > Add: name it 'Emergency', enter the emergency numbers "
            "in 'Calls to numbers like', tick Emergency rule, and route it through at least "
            "two trunks.",
            "Admin > Settings > Emergency Numbers: check the numbers and the location "
            "information sent with them.",
        ),
        reads=(EntryKind.OUTBOUND_RULE,),
        evaluate=evaluate,
    ),
)
