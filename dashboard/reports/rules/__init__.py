"""The audit rule catalogue: every rule with its id, severity, why and how to fix it.

Rule ids are stable (findings and links name them); the modules group rules by category.
"""

from dashboard.reports.rules import (
    emergency,
    groups,
    licence,
    membership,
    numbers,
    registration,
    routing,
    security,
    tollfraud,
    upkeep,
    users,
)
from dashboard.reports.rules.base import (
    CATEGORIES,
    SETTING,
    SYSTEM_STATUS,
    AuditContext,
    Hit,
    Rule,
    RuleSkipped,
)

__all__ = [
    "CATEGORIES",
    "RULES",
    "SETTING",
    "SYSTEM_STATUS",
    "AuditContext",
    "Hit",
    "Rule",
    "RuleSkipped",
    "rule_get",
]

#: Every rule, in catalogue order (category, then as listed).
RULES: tuple[Rule, ...] = (
    *routing.RULES,
    *security.TWO_FACTOR,
    *tollfraud.RULES,
    *users.RULES,
    *numbers.RULES,
    *membership.RULES,
    *groups.RULES,
    *registration.RULES,
    *licence.RULES,
    *upkeep.RULES,
    *security.SETTINGS,
    *emergency.RULES,
)
_BY_ID = {rule.id: rule for rule in RULES}


def rule_get(rule_id: str) -> Rule | None:
    """The rule with this id; None for an unknown id (a rule since retired)."""
    return _BY_ID.get(rule_id)
