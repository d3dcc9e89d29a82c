"""Phone-number verdicts: the shortcut the audit takes through phonenumbers gives the verdicts
phonenumbers' own validation gives, over the simulator's corpus of numbers."""

import random

import phonenumbers
import pytest

from dashboard.reports.phones import phone_verdict
from integrations.threecx.simulator.data import messy_number, phone

REGIONS = ("US", "GB", "DE", "FR", "AU", "CA", "JP", "IN", "BR")


def corpus() -> list[str]:
    rng = random.Random(7)  # noqa: S311 - a fixed corpus, not a secret
    texts = {phone(rng.getrandbits(64), valid=60, messy=40) for _ in range(3000)}
    texts |= {messy_number(rng.getrandbits(64)) for _ in range(500)}
    texts |= {"+1 800 555 0100", "+800 1234 5678", "+882 1234 5678", "911", "+", "n/a", "0"}
    return sorted(texts - {""})


@pytest.mark.parametrize("region", REGIONS)
def test_verdicts_agree_with_phonenumbers_validation(region):
    for raw in corpus():
        verdict = phone_verdict(raw, region=region)
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            assert not verdict.valid and verdict.problem, raw
            continue
        assert verdict.valid == phonenumbers.is_valid_number(number), raw
        expected = phonenumbers.region_code_for_number(number) or (
            phonenumbers.region_code_for_country_code(number.country_code)
        )
        geographic = expected and len(expected) == 2 and expected != "ZZ"
        assert verdict.country == (expected if geographic else ""), raw
