"""CSV cells a spreadsheet would run as formulas are exported with a leading apostrophe."""

import pytest

from dashboard.directory.views import csv_cell


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1:A9)",
        '=HYPERLINK("http://x")',
        " =1+1",
        "  @SUM(A1)",
        "\n=1+1",
        "\r\n+1",
        "\u00a0=1+1",
        "\u3000-1",
        "\t=1+1",
        "\tplain text after a tab",
        "\rplain text after a carriage return",
        "+14155550107 / 07",
        "+1 (415) 555-0107",
        "-14155550107",
        "+",
        "+ 1",
        " +14155550107",
        "+14155550107\n",
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(value):
    assert csv_cell(value) == f"'{value}"


@pytest.mark.parametrize(
    "value",
    [
        "+14155550107",
        "+44 20 7946 0000",
        "14155550107",
        "0 800 123 456",
        "101",
        "Ada Lovelace",
        "ada@example.com",
        "a=b",
        "Smith-Jones",
        " leading space only",
        "",
    ],
)
def test_phone_numbers_and_plain_text_are_left_as_they_are(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize(("value", "text"), [(None, ""), (7, "7"), (-3, "'-3")])
def test_other_values_become_text_first(value, text):
    assert csv_cell(value) == text
