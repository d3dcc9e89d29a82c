"""A pass's hits, compared with the findings by SQL as the rules stage them.

Rules put what they find into `HitStage`: small rules as `Hit`s from Python, the rules that
may find tens of thousands of subjects (every invalid number of a large phonebook) as one
SELECT that builds labels, summaries and details in the database, so that no row of theirs
passes through Python. Each rule's hits are compared at once with the rule's unresolved
findings (a full join on the subject key), and only what must change is kept: a hit without
a finding ("open"), a finding without a hit ("resolve"), a finding the hit describes
differently ("refresh"). When nothing changed, as on most audits, nothing is kept, and
recording the pass is three statements over an empty table.

On PostgreSQL, a rule that has no unresolved finding (a connection's first audit: tens of
thousands of new findings) opens its findings straight from its hits, in the statement that
selects them: staging every hit as an "open" change first and copying it into the findings
at the end wrote each one twice.

The tables are temporary ones: private to the database session, gone with it, and dropped at
the end of the pass (or at the start of the next, after a crash). Run a pass inside one
transaction: the comparison and the recording must see the same findings.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection as database

from dashboard.reports.models import Finding
from dashboard.reports.rules.base import Hit

#: What rules made in Python stage first, to be compared like the others.
INPUT = "reports_audit_input"
#: The changes the pass makes: one row per finding to open, refresh or resolve.
CHANGES = "reports_audit_change"
#: What a staging SELECT returns, in this order (`pending` may be NULL throughout).
HIT_COLUMNS = (
    "subject_kind",
    "subject_external_id",
    "subject_key",
    "subject_label",
    "summary",
    "details",
    "severity",
    "pending",
)
#: Columns a refresh rewrites when the rule describes a finding differently now.
REFRESHED = ("severity", "summary", "details", "subject_label", "subject_external_id")
#: Column lengths of Finding, which staged texts are cut to.
_LENGTHS = {
    name: Finding._meta.get_field(name).max_length
    for name in ("subject_kind", "subject_key", "subject_label", "summary", "severity")
}
_DESCRIBED = (
    "severity varchar(16), subject_kind varchar(32), subject_external_id bigint, "
    "subject_key varchar(255) NOT NULL, subject_label varchar(255), summary varchar(500), "
    "details {json}"
)


class HitStage:
    """The changes one pass makes to one connection's findings, by rule. Open it with
    `HitStage.open(connection, now=...)` and close it (a `with` block does both)."""

    def __init__(self, connection, *, now: datetime) -> None:
        self.connection = connection
        self.now = now
        self.postgres = database.vendor == "postgresql"
        field = Finding._meta.get_field("connection").target_field
        self._connection_id = field.get_db_prep_value(connection.pk, database)
        field = Finding._meta.get_field("organization").target_field
        self._organization_id = field.get_db_prep_value(connection.organization_id, database)
        #: Rules whose hits are staged (set-based rules stage theirs while evaluated).
        self._staged: set[str] = set()
        #: Rules that had unresolved findings when the pass began (read when first needed).
        self._with_findings: set[str] | None = None
        #: Findings opened straight from the hits, by rule (see `select`).
        self._opened: dict[str, int] = {}

    @classmethod
    def open(cls, connection, *, now: datetime) -> "HitStage":
        """A stage for a pass over `connection` at `now` (when its findings are seen)."""
        stage = cls(connection, now=now)
        described = _DESCRIBED.format(json="jsonb" if stage.postgres else "text")
        with database.cursor() as cursor:
            for table in (INPUT, CHANGES):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {INPUT} (rule varchar(64) NOT NULL, {described}, "
                "pending text, PRIMARY KEY (rule, subject_key))"
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE {CHANGES} (rule varchar(64) NOT NULL, "
                f"action varchar(8) NOT NULL, finding_id bigint, {described}, "
                # A subject whose verdict is still to be made (see numbers.invalid).
                "pending text, PRIMARY KEY (rule, subject_key))"
            )
        return stage

    def close(self) -> None:
        with database.cursor() as cursor:
            for table in (INPUT, CHANGES):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def __enter__(self) -> "HitStage":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- staging ----------------------------------------------------------------------------

    def add(self, rule_id: str, hits: Iterable[Hit], *, severity: str) -> None:
        """Stage a rule's hits made in Python (the first hit of a subject key wins); nothing
        for a set-based rule that staged its hits with `select` while `hits` ran."""
        rows, keys = [], set()
        for hit in hits:
            key = hit.subject_key[: _LENGTHS["subject_key"]]
            if key in keys:
                continue
            keys.add(key)
            rows.append(
                (
                    rule_id,
                    hit.severity or severity,
                    hit.subject_kind,
                    hit.subject_external_id,
                    key,
                    hit.subject_label,
                    hit.summary,
                    json.dumps(hit.details),
                )
            )
        if rule_id in self._staged:
            if rows:
                raise ValueError(f"Rule {rule_id} both staged hits and yielded some.")
            return
        names = "rule, severity, subject_kind, subject_external_id, subject_key, "
        names += "subject_label, summary, details"
        with database.cursor() as cursor:
            if not rows:
                pass  # the rule found nothing: the comparison below resolves its findings
            elif self.postgres:
                with cursor.cursor.copy(f"COPY {INPUT} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO {INPUT} ({names}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    rows,
                )
        self.select(rule_id, self._input_select, [rule_id], severity=severity)

    #: The hits of one rule (a parameter) in the input table, as a staging SELECT.
    _input_select = f"SELECT {', '.join(HIT_COLUMNS[:-1])}, pending FROM {INPUT} WHERE rule = %s"  # noqa: S608

    def select(self, rule_id: str, sql: str, params: Iterable[Any] = (), *, severity: str) -> int:
        """Stage the hits that `sql` selects for a rule: HIT_COLUMNS (details as JSON made by
        the database, severity NULL for the rule's own, `pending` a text the rule could not
        judge yet or NULL), one row per subject key. What they change in the rule's
        unresolved findings is kept (on PostgreSQL, the findings of a rule that has none are
        opened at once); returns how many changes."""
        if rule_id in self._staged:
            raise ValueError(f"Rule {rule_id} is staged already: discard it first.")
        self._staged.add(rule_id)
        cut = {name: f"SUBSTR(r.{name}, 1, {length})" for name, length in _LENGTHS.items()}
        hits = (
            f"SELECT COALESCE({cut['severity']}, %s) AS severity, "  # noqa: S608
            f"{cut['subject_kind']} AS subject_kind, r.subject_external_id, "
            f"{cut['subject_key']} AS subject_key, {cut['subject_label']} AS subject_label, "
            f"{cut['summary']} AS summary, r.details, r.pending FROM ({sql}) r"
        )
        hits_params = [severity, *params]
        if self.postgres and rule_id not in self._rules_with_findings():
            return self._open(rule_id, hits, hits_params)
        findings = (
            f"SELECT id, {', '.join(('subject_key', *REFRESHED))} FROM "  # noqa: S608
            f"{Finding._meta.db_table} WHERE connection_id = %s AND rule = %s "
            "AND resolved_at IS NULL"
        )
        differs = " OR ".join(self._differs(f"f.{name}", f"h.{name}") for name in REFRESHED)
        described = ", ".join(f"h.{name}" for name in REFRESHED if name != "details")
        with database.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {CHANGES} (rule, action, finding_id, subject_key, details, "  # noqa: S608
                f"{', '.join(name for name in REFRESHED if name != 'details')}, subject_kind, "
                "pending) "
                "SELECT %s, CASE WHEN f.id IS NULL THEN 'open' WHEN h.subject_key IS NULL "
                "THEN 'resolve' ELSE 'refresh' END, f.id, "
                f"COALESCE(h.subject_key, f.subject_key), h.details, {described}, "
                "h.subject_kind, h.pending "
                f"FROM ({hits}) h FULL OUTER JOIN ({findings}) f "
                "ON f.subject_key = h.subject_key "
                f"WHERE f.id IS NULL OR h.subject_key IS NULL OR h.pending IS NOT NULL "
                f"OR {differs}",
                [rule_id, *hits_params, self._connection_id, rule_id],
            )
            return cursor.rowcount

    def _open(self, rule_id: str, hits: str, params: list[Any]) -> int:
        """Open the findings of the hits of a rule that has no unresolved finding, straight
        from the hits (PostgreSQL); hits still pending are staged as changes. Returns how
        many were opened."""
        described = (
            "severity, subject_kind, subject_external_id, subject_key, subject_label, "
            "summary, details"
        )
        at = database.ops.adapt_datetimefield_value(self.now)
        with database.cursor() as cursor:
            cursor.execute(
                f"WITH h AS MATERIALIZED ({hits}), pending AS ("  # noqa: S608
                f"INSERT INTO {CHANGES} (rule, action, {described}, pending) "
                f"SELECT %s, 'open', {described}, pending FROM h WHERE pending IS NOT NULL) "
                f"INSERT INTO {Finding._meta.db_table} (organization_id, connection_id, rule, "
                f"{described}, state, first_seen, last_seen, acknowledged_reason) "
                f"SELECT %s, %s, %s, {described}, %s, %s, %s, '' FROM h WHERE pending IS NULL",
                [
                    *params,
                    rule_id,
                    self._organization_id,
                    self._connection_id,
                    rule_id,
                    Finding.State.OPEN,
                    at,
                    at,
                ],
            )
            self._opened[rule_id] = cursor.rowcount
        return cursor.rowcount

    def _rules_with_findings(self) -> set[str]:
        if self._with_findings is None:
            with database.cursor() as cursor:
                cursor.execute(
                    f"SELECT DISTINCT rule FROM {Finding._meta.db_table} "  # noqa: S608
                    "WHERE connection_id = %s AND resolved_at IS NULL",
                    [self._connection_id],
                )
                self._with_findings = {rule for (rule,) in cursor.fetchall()}
        return self._with_findings

    def pending(self, rule_id: str) -> list[str]:
        """The distinct `pending` texts a rule staged: subjects it could not judge yet."""
        with database.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT pending FROM {CHANGES} WHERE rule = %s AND pending IS NOT NULL",  # noqa: S608
                [rule_id],
            )
            return [text for (text,) in cursor.fetchall()]

    def discard(self, rule_id: str) -> None:
        """Forget what a rule staged (it is staged again, or it was skipped halfway),
        findings it opened included."""
        self._staged.discard(rule_id)
        with database.cursor() as cursor:
            for table in (INPUT, CHANGES):
                cursor.execute(f"DELETE FROM {table} WHERE rule = %s", [rule_id])  # noqa: S608
            if self._opened.pop(rule_id, None) is not None:
                # The rule had no unresolved finding before this pass: all are its own.
                cursor.execute(
                    f"DELETE FROM {Finding._meta.db_table} WHERE connection_id = %s "  # noqa: S608
                    "AND rule = %s AND resolved_at IS NULL",
                    [self._connection_id, rule_id],
                )

    # --- recording --------------------------------------------------------------------------

    def merge(
        self,
        rule_ids: list[str],
        *,
        now: datetime,
        seen_before: tuple[datetime, list[str]] | None,
    ) -> tuple[int, int, int]:
        """Make the staged changes of `rule_ids` to the connection's findings. Returns
        (opened, still true, resolved).

        `seen_before`: (the previous audit's time, the rules it ran); a resolved finding was
        last seen true then, when its rule ran then (else its own last_seen says when)."""
        if not rule_ids:
            return 0, 0, 0
        finding = Finding._meta.db_table
        ops = database.ops
        organization_id = self._organization_id
        at = ops.adapt_datetimefield_value(now)
        # Opened while staged, and counted among the unresolved findings below.
        opened_before = sum(self._opened.get(rule_id, 0) for rule_id in rule_ids)
        rules_in = ", ".join(["%s"] * len(rule_ids))
        changes = f"SELECT finding_id FROM {CHANGES} WHERE action = %s AND rule IN ({rules_in})"  # noqa: S608
        with database.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {finding} WHERE connection_id = %s "  # noqa: S608
                f"AND resolved_at IS NULL AND rule IN ({rules_in})",
                [self._connection_id, *rule_ids],
            )
            unresolved = cursor.fetchone()[0]
            if self.postgres:
                # Without statistics a temporary table is planned as a few rows: the joins
                # below would be nested loops over tens of thousands of rows.
                cursor.execute(f"ANALYZE {CHANGES} (action, finding_id)")
            if seen_before is not None and seen_before[1]:
                before_in = ", ".join(["%s"] * len(seen_before[1]))
                last_seen = f"CASE WHEN rule IN ({before_in}) THEN %s ELSE last_seen END"
                last_seen_params = [*seen_before[1], ops.adapt_datetimefield_value(seen_before[0])]
            else:
                last_seen, last_seen_params = "last_seen", []
            cursor.execute(
                f"UPDATE {finding} SET state = %s, resolved_at = %s, last_seen = {last_seen} "  # noqa: S608
                f"WHERE id IN ({changes})",
                [Finding.State.RESOLVED, at, *last_seen_params, "resolve", *rule_ids],
            )
            resolved = cursor.rowcount
            assignments = ", ".join(f"{name} = h.{name}" for name in REFRESHED)
            cursor.execute(
                f"UPDATE {finding} AS f SET {assignments}, last_seen = %s "  # noqa: S608
                f"FROM {CHANGES} h WHERE h.action = %s AND h.rule IN ({rules_in}) "
                "AND f.id = h.finding_id",
                [at, "refresh", *rule_ids],
            )
            cursor.execute(
                f"INSERT INTO {finding} (organization_id, connection_id, rule, severity, "  # noqa: S608
                "subject_kind, subject_external_id, subject_key, subject_label, summary, "
                "details, state, first_seen, last_seen, acknowledged_reason) "
                "SELECT %s, %s, h.rule, h.severity, h.subject_kind, h.subject_external_id, "
                "h.subject_key, h.subject_label, h.summary, h.details, %s, %s, %s, '' "
                f"FROM {CHANGES} h WHERE h.action = %s AND h.rule IN ({rules_in})",
                [
                    organization_id,
                    self._connection_id,
                    Finding.State.OPEN,
                    at,
                    at,
                    "open",
                    *rule_ids,
                ],
            )
            opened = cursor.rowcount
        return opened_before + opened, unresolved - opened_before - resolved, resolved

    def _differs(self, left: str, right: str) -> str:
        if self.postgres:
            return f"{left} IS DISTINCT FROM {right}"
        if left.endswith(".details"):  # JSON texts: compared as SQLite writes them, minified
            return f"json({left}) IS NOT json({right})"
        return f"{left} IS NOT {right}"
