"""What `phonenumbers` makes of one number text with one default region, and nothing else.

Nothing here imports Django: the module also runs as the helper process that judges the
numbers a sync writes while the sync waits for the server and the database (see
`dashboard.reports.phones.PhoneVerdictJudge`). It is started by path, in isolated mode (so
that neither `dashboard` with its Celery app nor this folder's modules are imported):

    python -I dashboard/reports/verdicts.py REGION

and reads batches of texts, one JSON array a line, answering each with one line: the JSON
array of their verdicts (VERDICT_COLUMNS), in the same order. JSON is written in ASCII both
ways, whatever the locale.
"""

import json
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

#: This file: what the helper process runs.
HELPER = Path(__file__)
#: A verdict's columns besides its region, in `verdict_values`' order.
VERDICT_COLUMNS = ("raw", "valid", "e164", "country", "problem")

_PROBLEMS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length",
}


def verdict_values(raw: str, region: str) -> tuple[str, bool, str, str, str]:
    """The verdict on one text as VERDICT_COLUMNS: a tuple, not a model instance (building
    50,000 of those cost a second and a half of a large PBX's first audit)."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return raw, False, "", "", "does not parse as a phone number"
    # is_valid_number(n) is is_valid_number_for_region(n, region_code_for_number(n)); the
    # region is looked up once for both (for +1 it tries ~25 regions' patterns).
    found = phonenumbers.region_code_for_number(number)
    country = _country(number, found)
    if phonenumbers.is_valid_number_for_region(number, found):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return raw, True, e164, country, ""
    reason = phonenumbers.is_possible_number_with_reason(number)
    return raw, False, "", country, _PROBLEMS.get(reason, "not a valid number")


def _country(number: phonenumbers.PhoneNumber, found: str | None) -> str:
    """The number's ISO region ("GB"); empty for non-geographic numbers ("001")."""
    region = found or phonenumbers.region_code_for_country_code(number.country_code)
    return region if region and len(region) == 2 and region != "ZZ" else ""


def main() -> None:
    """The helper process: batches of texts in, their verdicts out, until stdin closes."""
    region = sys.argv[1]
    for line in sys.stdin:
        verdicts = [verdict_values(raw, region) for raw in json.loads(line)]
        sys.stdout.write(json.dumps(verdicts) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
