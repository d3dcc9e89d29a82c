import pytest

from integrations.threecx.auth import token_lifetime_seconds
from integrations.threecx.odata import Query, key_segment, literal, quote


def test_quotes_inside_string_literals_are_doubled():
    assert quote("O'Brien") == "'O''Brien'"
    assert quote("''") == "''''''"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "null"), (True, "true"), (False, "false"), (5, "5"), ("x'y", "'x''y'")],
)
def test_python_values_become_odata_literals(value, expected):
    assert literal(value) == expected


def test_keys_address_by_id_or_by_number():
    assert key_segment(5) == "(5)"
    assert key_segment("101") == "(Number='101')"
    assert key_segment("1'1") == "(Number='1''1')"


def test_queries_become_dollar_parameters():
    query = Query(
        select=("Id", "Number"),
        filter="Enabled eq true",
        orderby="Number desc",
        expand=("Groups",),
        search="smith",
    )
    assert query.params() == {
        "$select": "Id,Number",
        "$filter": "Enabled eq true",
        "$orderby": "Number desc",
        "$expand": "Groups",
        "$search": "smith",
    }


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [
        (60, 3600),  # minutes, before Update 9
        (120, 7200),
        (3600, 3600),  # seconds, from Update 9 on
        (121, 121),
    ],
)
def test_expires_in_is_read_in_the_unit_the_answer_itself_uses(expires_in, seconds):
    assert token_lifetime_seconds(expires_in) == seconds
