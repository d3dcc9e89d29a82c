"""The numbers a sync writes are judged while it runs: by the sync itself when they are few,
by a helper process when they are many; whatever goes wrong is left to the audit."""

import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest

from dashboard.directory.models import EntryKind
from dashboard.reports import phones
from dashboard.reports.models import PhoneNumberVerdict
from dashboard.reports.phones import PhoneVerdictJudge
from dashboard.reports.rules.numbers import number_texts
from dashboard.reports.verdicts import VERDICT_COLUMNS, verdict_values

pytestmark = pytest.mark.django_db

REGION = "GB"
TEXTS = ["+44 20 7946 0000", "020 7946 0111", "0791 not a number", "12", "+1 415 555 0100"]


@dataclass
class Written:
    """An entry as the sync hands it on: its typed columns and the synced item."""

    columns: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)


def contacts(texts: list[str]) -> list[Written]:
    return [Written({"phone": text, "mobile": ""}, {"Home": None}) for text in texts]


def judge() -> PhoneVerdictJudge:
    return PhoneVerdictJudge(region=REGION, texts_of=number_texts)


def stored() -> dict[str, tuple]:
    rows = PhoneNumberVerdict.objects.filter(region=REGION).values_list("region", *VERDICT_COLUMNS)
    return {row[1]: row[1:] for row in rows}


def test_a_sync_with_few_numbers_judges_them_itself_when_it_ends():
    numbers = judge()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[:3]))
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[2:]))
    assert stored() == {}
    numbers.close(completed=True)
    assert stored() == {raw: verdict_values(raw, REGION) for raw in TEXTS}
    assert numbers.stored == len(TEXTS)


def test_a_sync_with_many_numbers_has_a_helper_process_judge_them(monkeypatch):
    monkeypatch.setattr(phones, "JUDGE_ALONE_AT_MOST", 2)
    monkeypatch.setattr(phones, "STORE_EVERY", 1)
    numbers = judge()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[:3]))
    helper = numbers._helper
    assert helper is not None and helper.poll() is None
    numbers.entries_written(kind=EntryKind.USER, entries=[Written({"mobile": TEXTS[3]})])
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[3:]))
    numbers.close(completed=True)
    assert helper.returncode == 0
    assert stored() == {raw: verdict_values(raw, REGION) for raw in TEXTS}


def test_kinds_without_numbers_and_texts_too_long_for_a_verdict_are_passed_over():
    numbers = judge()
    numbers.entries_written(kind=EntryKind.QUEUE, entries=[Written({"phone": TEXTS[0]})])
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(["1" * 65, ""]))
    numbers.close(completed=True)
    assert stored() == {}


def test_a_sync_that_failed_stores_nothing_more_and_stops_its_helper(monkeypatch):
    monkeypatch.setattr(phones, "JUDGE_ALONE_AT_MOST", 2)
    numbers = judge()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS))
    helper = numbers._helper
    numbers.close(completed=False)
    assert helper.poll() is not None
    assert stored() == {}


def test_without_a_helper_the_sync_judges_alone(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(phones, "JUDGE_ALONE_AT_MOST", 2)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    numbers = judge()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS))
    numbers.close(completed=True)
    assert stored() == {raw: verdict_values(raw, REGION) for raw in TEXTS}
    assert "Could not start the phone-number helper" in caplog.text


def test_a_helper_that_dies_leaves_the_rest_to_the_audit(monkeypatch, caplog):
    monkeypatch.setattr(phones, "JUDGE_ALONE_AT_MOST", 2)
    numbers = judge()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[:3]))
    numbers._helper.kill()
    numbers._helper.wait()
    numbers.entries_written(kind=EntryKind.CONTACT, entries=contacts(TEXTS[3:]))
    numbers.close(completed=True)  # does not wait for an answer that never comes
    assert set(stored()) <= set(TEXTS)
    assert "The phone-number helper stopped" in caplog.text


def test_the_helper_answers_with_the_verdicts_made_in_this_process():
    fullwidth = "\uff34\uff25\uff2c +\uff14\uff14 20 7946 0000"  # "TEL +44 ..." in full width
    texts = [*TEXTS, "+44 (0) 20 7946 0000 ext. 12", "٠٢٠٧٩٤٦٠٠٠٠", "a\nb", fullwidth]
    numbers = judge()
    numbers._helper_start()
    numbers._requests.put(texts)
    answer = numbers._answers.get(timeout=60)
    numbers._helper_stop(wait=True)
    assert [tuple(verdict) for verdict in answer] == [verdict_values(t, REGION) for t in texts]
