"""What `phonenumbers` makes of the number texts an audit reads, memoised per region.

Parsing costs tens of microseconds a number; a connection with 100,000 contacts would spend
seconds on it at every audit. So each distinct text is parsed once per default region, the
verdict kept in PhoneNumberVerdict, and the rules join that table in SQL. The numbers a sync
writes are judged while the sync runs (`PhoneVerdictJudge`), so that the audit after it,
a connection's first one included, finds them judged; an audit judges whatever is missing.
"""

import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection as database
from django.db.models import QuerySet

from dashboard.reports.models import PhoneNumberVerdict
from dashboard.reports.verdicts import HELPER, VERDICT_COLUMNS, verdict_values

logger = logging.getLogger(__name__)

#: The longest text a verdict holds (PhoneNumberVerdict.raw); longer ones are not numbers.
RAW_MAX = PhoneNumberVerdict._meta.get_field("raw").max_length
BATCH = 1000
#: New verdicts after which the table is analyzed (a tenth of a second; parsing them took
#: seconds).
ANALYZE_AFTER = 10_000
#: Texts a sync judges itself when it ends (a few milliseconds); when it writes more, a
#: helper process judges them while the sync goes on.
JUDGE_ALONE_AT_MOST = 2000
#: Verdicts from the helper stored together (one statement).
STORE_EVERY = 2000
#: Seconds the end of a sync waits for the helper's last verdicts (it judges a page's texts
#: in a few hundredths of a second); after that the audit judges what is missing.
JUDGE_WAIT = 30


def phone_region(connection) -> str:
    """The region numbers written without a country code are read in ("GB")."""
    return (connection.phone_region or "US").upper()


def phone_verdicts_fill(*, region: str, texts: Iterable[QuerySet]) -> int:
    """Parse the distinct texts of `texts` that have no verdict for `region` yet, and store
    their verdicts; returns how many were added.

    Each queryset of `texts` must have one text column annotated as "raw" (for instance
    `entries.annotate(raw=F("mobile"))`)."""
    union, params = union_sql(texts, ("raw",))
    if not union:
        return 0
    return phone_verdicts_fill_sql(region=region, sql=union, params=params)


def phone_verdicts_fill_sql(*, region: str, sql: str, params: Iterable[Any] = ()) -> int:
    """`phone_verdicts_fill` for the "raw" column of the rows of `sql`.

    Only the missing texts leave the database: one statement anti-joined with the verdicts.
    NOT EXISTS rather than NOT IN: PostgreSQL hashes a NOT IN list only while it fits in
    work_mem, and the verdicts of a region are shared by every connection in it."""
    verdict = PhoneNumberVerdict._meta.db_table
    # Table names from the models, values as parameters.
    query = (
        f"SELECT DISTINCT t.raw FROM ({sql}) t WHERE t.raw IS NOT NULL AND t.raw <> '' "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {verdict} v WHERE v.region = %s AND v.raw = t.raw)"
    )
    with database.cursor() as cursor:
        cursor.execute(query, [*params, region])
        missing = [raw for (raw,) in cursor.fetchall()]
    return len(phone_verdicts_add(region=region, texts=missing))


def phone_verdicts_add(*, region: str, texts: Iterable[str]) -> dict[str, tuple]:
    """Parse `texts` (distinct, known to have no verdict for `region`), store their verdicts
    and return them by text, as VERDICT_COLUMNS tuples; texts too long to be kept as a
    number (RAW_MAX) get none."""
    verdicts = [verdict_values(raw, region) for raw in texts if len(raw) <= RAW_MAX]
    _verdicts_insert(verdicts, region=region)
    if len(verdicts) >= ANALYZE_AFTER:
        # The statements right after this join the verdicts with every number: with the
        # table's old statistics (none, on a first audit) they are planned for a few rows.
        _verdicts_analyze()
    return {values[0]: values for values in verdicts}


class PhoneVerdictJudge:
    """Judges the number texts a sync writes while the sync goes on, so that the audit after
    it finds them judged (a connection's first audit would otherwise parse them all).

    The sync spends most of its time waiting for the server and for the database. Past
    JUDGE_ALONE_AT_MOST texts, a helper process (`verdicts.py`) parses them meanwhile on
    another CPU, a thread of this process talking to it; `entries_written` stores the
    verdicts received so far with the sync's database connection, outside its transactions.
    (A thread of the sync's own process parsing instead contends with the sync for the
    interpreter lock: for 54,000 numbers, 2 to 4 CPU seconds of parsing, the sync's process
    spent 6 to 9 more.) A sync that writes fewer texts judges them itself when it ends.
    Verdicts are facts about texts: what a failed or cancelled sync judged may stay, and the
    audit judges whatever is missing.

    `texts_of(kind, entries)`: the number texts the audit reads among entries the sync wrote.
    """

    def __init__(self, *, region: str, texts_of: Callable[[str, list], Iterable[str]]) -> None:
        self.region = region
        self._texts_of = texts_of
        #: Texts judged or on their way: a number shared by many entries goes once.
        self._seen: set[str] = set()
        #: Texts kept for the end (no helper).
        self._waiting: list[str] = []
        self._helper: subprocess.Popen | None = None
        self._conversation: threading.Thread | None = None
        self._requests: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[list] = queue.SimpleQueue()
        self._unstored: list[list] = []
        self._stopping = False
        self.stored = 0

    def entries_written(self, *, kind: str, entries: list) -> None:
        """A page of `kind` entries was written: pass their new texts on to be judged, and
        store the verdicts judged so far."""
        for raw in self._texts_of(kind, entries):
            if raw and len(raw) <= RAW_MAX and raw not in self._seen:
                self._seen.add(raw)
                self._waiting.append(raw)
        if self._helper is None and len(self._waiting) > JUDGE_ALONE_AT_MOST:
            self._helper_start()
        if self._helper is not None and self._waiting:
            self._requests.put(self._waiting)
            self._waiting = []
        self._store(at_least=STORE_EVERY)

    def close(self, *, completed: bool) -> None:
        """The sync ended. Completed: judge what is left and store it (the audit comes
        next); otherwise drop what was not stored yet."""
        if self._helper is not None:
            self._helper_stop(wait=completed)
        if not completed:
            return
        self._unstored += [verdict_values(raw, self.region) for raw in self._waiting]
        self._waiting = []
        self._store(at_least=1)
        if self.stored >= ANALYZE_AFTER:
            _verdicts_analyze()  # the audit joins them with every number

    def _helper_start(self) -> None:
        # Isolated (-I), by path: the helper imports phonenumbers and nothing of this project.
        command = [sys.executable, "-I", str(HELPER), self.region]
        try:
            self._helper = subprocess.Popen(  # noqa: S603 - this interpreter, a script of ours
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-8"
            )
        except OSError:
            logger.exception("Could not start the phone-number helper; the sync judges alone.")
            return
        self._conversation = threading.Thread(
            target=self._converse, name="phone verdicts", daemon=True
        )
        self._conversation.start()

    def _converse(self) -> None:
        """Hand each batch of texts to the helper and wait for its verdicts, on this thread:
        the sync never waits for the helper."""
        helper = self._helper
        try:
            while (texts := self._requests.get()) is not None:
                helper.stdin.write(json.dumps(texts) + "\n")
                helper.stdin.flush()
                self._answers.put(json.loads(helper.stdout.readline()))
        except (OSError, ValueError):  # it died (or was stopped): the audit judges the rest
            if not self._stopping:
                logger.exception("The phone-number helper stopped; the audit judges the rest.")
        finally:
            with contextlib.suppress(OSError):
                helper.stdin.close()  # the helper ends when its input does

    def _helper_stop(self, *, wait: bool) -> None:
        """Stop the helper once it has answered every batch (`wait`), or at once."""
        self._requests.put(None)
        if wait:
            self._conversation.join(JUDGE_WAIT)
        if not wait or self._conversation.is_alive():
            self._stopping = True
            self._helper.kill()
            self._conversation.join()
        try:
            self._helper.wait(JUDGE_WAIT)
        except subprocess.TimeoutExpired:
            self._helper.kill()
            self._helper.wait()
        self._helper.stdout.close()
        self._helper = None

    def _store(self, *, at_least: int) -> None:
        while not self._answers.empty():
            self._unstored += self._answers.get()
        if self._unstored and len(self._unstored) >= at_least:
            _verdicts_insert(self._unstored, region=self.region)
            self.stored += len(self._unstored)
            self._unstored = []


def _verdicts_analyze() -> None:
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute(f"ANALYZE {database.ops.quote_name(PhoneNumberVerdict._meta.db_table)}")


def _verdicts_insert(verdicts: list, *, region: str) -> None:
    """Store new verdicts (`verdict_values` tuples). Another audit may have stored some of
    them meanwhile: theirs are the same verdicts, so conflicts are ignored.

    On PostgreSQL as one JSON document expanded by the server: Django's bulk insert there
    passes each column as an array whose text the driver escapes in Python, seconds for the
    50,000 numbers of a large PBX's first audit."""
    if database.vendor != "postgresql":
        PhoneNumberVerdict.objects.bulk_create(
            [
                PhoneNumberVerdict(region=region, **dict(zip(VERDICT_COLUMNS, values, strict=True)))
                for values in verdicts
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return
    table = PhoneNumberVerdict._meta.db_table
    names = ("region", *VERDICT_COLUMNS)
    columns = ", ".join(names)
    for start in range(0, len(verdicts), BATCH * 20):
        rows = [
            dict(zip(names, (region, *values), strict=True))
            for values in verdicts[start : start + BATCH * 20]
        ]
        with database.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset("  # noqa: S608
                f"NULL::{table}, %s::json) ON CONFLICT DO NOTHING",
                [json.dumps(rows)],
            )


def union_sql(querysets: Iterable[QuerySet], columns: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The querysets' `columns` one after the other (UNION ALL), as SQL and parameters: to
    join with PhoneNumberVerdict, which no relation leads to."""
    parts, params = [], []
    for queryset in querysets:
        sql, part_params = queryset.order_by().values(*columns).query.sql_with_params()
        parts.append(sql)
        params.extend(part_params)
    return " UNION ALL ".join(parts), params


def phone_verdict(raw: str, *, region: str) -> PhoneNumberVerdict:
    """The verdict on one text (unsaved)."""
    values = dict(zip(VERDICT_COLUMNS, verdict_values(raw, region), strict=True))
    return PhoneNumberVerdict(region=region, **values)
