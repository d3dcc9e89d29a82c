"""What the product reads from the spec: which fields of an entity set are secrets."""

import pytest

from integrations.threecx.spec import entity_set_secret_fields, enum_values


def test_the_secret_fields_of_users_are_the_passwords_and_pins():
    assert {"AuthPassword", "AccessPassword", "DeskphonePassword", "VMPIN"} <= (
        entity_set_secret_fields("Users")
    )
    assert "PinProtected" not in entity_set_secret_fields("Users")


@pytest.mark.parametrize("entity_set", ["SystemStatus", "NoSuchSet"])
def test_what_the_spec_has_no_collection_of_has_no_secret_fields(entity_set):
    assert entity_set_secret_fields(entity_set) == frozenset()


def test_enum_members_that_yaml_1_1_reads_as_booleans_stay_text():
    assert enum_values("Pbx.AuthenticationType") == ["No", "Basic", "Scenario"]
