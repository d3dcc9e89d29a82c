"""Secrets are masked in every answer and body the console shows, downloads or keeps."""

import copy

import pytest

from integrations.threecx.operations.catalogue import CREDENTIAL_ANSWERS, operation_get
from integrations.threecx.operations.masking import (
    MASK,
    NOT_SECRET_NAMES,
    licence_mask,
    secret_property_names,
    secrets_mask,
)
from integrations.threecx.spec import load_spec, secret_fields


class TestSecretNames:
    def test_every_secret_the_spec_rule_finds_is_masked(self):
        names = secret_property_names()
        for schema_name in load_spec()["components"]["schemas"]:
            assert secret_fields(schema_name) - NOT_SECRET_NAMES <= names, schema_name
        assert {"AuthPassword", "VMPIN", "AccessPassword", "ClientSecret", "APIKey"} <= names

    def test_inline_action_parameters_are_found_too(self):
        # Restore's password and AuthorizePresence's accessToken are declared only inline.
        assert {"password", "accessToken"} <= secret_property_names()

    def test_licence_keys_private_keys_and_provisioning_links_are_secrets(self):
        names = secret_property_names()
        assert {"LicenseKey", "licenseKey", "SftpPrivateKey", "PrivateKey"} <= names
        assert {"AccessKey", "PinNumber", "ProvLink"} <= names

    def test_settings_named_like_secrets_are_not(self):
        names = secret_property_names()
        assert not {"PinProtected", "PinProtectTimeout", "AuthID", "Id", "Number"} & names


class TestMasking:
    def test_a_password_is_masked(self):
        assert secrets_mask({"AuthPassword": "hunter2", "Number": "100"}) == {
            "AuthPassword": MASK,
            "Number": "100",
        }

    def test_a_concealed_password_keeps_its_flag(self):
        masked = secrets_mask({"MailPassword": {"Concealed": True, "Value": "s3cret"}})
        assert masked == {"MailPassword": {"Concealed": True, "Value": MASK}}

    def test_a_private_key_file_is_masked_whole(self):
        masked = secrets_mask({"SftpPrivateKey": {"Contents": "-----BEGIN", "Name": "id_rsa"}})
        assert masked == {"SftpPrivateKey": {"Contents": MASK, "Name": MASK}}

    def test_a_licence_key_keeps_its_last_four_characters(self):
        assert secrets_mask({"LicenseKey": "ABCD-EFGH-IJKL-9876"}) == {"LicenseKey": "****9876"}
        assert secrets_mask({"licenseKey": "SHORT"}) == {"licenseKey": "****"}

    def test_masking_a_licence_key_twice_changes_nothing(self):
        assert licence_mask(licence_mask("ABCD-EFGH-IJKL-9876")) == "****9876"

    def test_a_pin_typed_as_a_number_is_masked(self):
        assert secrets_mask({"VMPIN": 1234}) == {"VMPIN": MASK}

    def test_secrets_are_masked_at_any_depth_and_in_lists(self):
        answer = {
            "@odata.count": 2,
            "value": [
                {"Id": 1, "AuthPassword": "x", "Phones": [{"Settings": {"PhoneWebPassword": "y"}}]},
                {"Id": 2, "AuthPassword": "z"},
            ],
        }
        assert secrets_mask(answer) == {
            "@odata.count": 2,
            "value": [
                {
                    "Id": 1,
                    "AuthPassword": MASK,
                    "Phones": [{"Settings": {"PhoneWebPassword": MASK}}],
                },
                {"Id": 2, "AuthPassword": MASK},
            ],
        }

    @pytest.mark.parametrize("value", [None, "", True, False])
    def test_nothing_to_hide_is_left_as_it_is(self, value):
        # DeskphonePassword is a boolean in some schemas ("has a password").
        assert secrets_mask({"DeskphonePassword": value}) == {"DeskphonePassword": value}

    def test_the_original_is_not_changed(self):
        answer = {"value": [{"AuthPassword": "x", "Groups": [{"Id": 1}]}]}
        before = copy.deepcopy(answer)
        masked = secrets_mask(answer)
        assert answer == before
        assert masked["value"][0]["Groups"] is not answer["value"][0]["Groups"]

    @pytest.mark.parametrize("data", [None, "text", 5, [1, "x"], []])
    def test_anything_without_properties_comes_back_equal(self, data):
        assert secrets_mask(data) == data


class TestDirectoryParameters:
    def test_the_storage_location_settings_of_get_directory_info_are_masked(self):
        body = {"parameters": {"Filesystem": "Ftp", "Path": "/", "Json": '{"Password":"x"}'}}
        assert secrets_mask(body) == {
            "parameters": {"Filesystem": "Ftp", "Path": "/", "Json": MASK}
        }


class TestNotSecrets:
    def test_a_page_token_is_shown_so_that_the_next_page_can_be_asked_for(self):
        answer = {"NextPageToken": "page-2", "Users": [{"Password": "x"}]}
        assert secrets_mask(answer) == {"NextPageToken": "page-2", "Users": [{"Password": MASK}]}


class TestSecretAnswers:
    def test_an_answer_that_is_a_secret_is_masked_when_its_operation_is_named(self):
        assert secrets_mask({"value": "eyJhbGci"}, operation_id="APIToken") == {"value": MASK}
        assert secrets_mask({"value": "eyJhbGci"}, operation_id="GetSftpHostKey") == {
            "value": "eyJhbGci"
        }
        assert secrets_mask({"value": "eyJhbGci"}) == {"value": "eyJhbGci"}

    @pytest.mark.parametrize("operation_id", sorted(CREDENTIAL_ANSWERS))
    def test_every_secret_answer_is_one_value_of_a_real_operation(self, operation_id):
        answer = operation_get(operation_id).responses["200"]
        assert answer["properties"] == {"value": {"type": "string"}}
