"""The storage browser's forms, checked before anything is queued."""

import json

import pytest

from dashboard.storage.forms import ParametersForm


@pytest.mark.parametrize("typed", ["FTP", "ftp", "Ftp", " fTp "])
@pytest.mark.parametrize("wrapped", [True, False], ids=["whole-body", "inner-object"])
def test_advanced_json_takes_file_system_names_in_any_case_and_sends_3cx_spelling(typed, wrapped):
    inner = {"Filesystem": typed, "Path": "/backups"}
    form = ParametersForm({"parameters": json.dumps({"parameters": inner} if wrapped else inner)})
    assert form.is_valid(), form.errors
    arguments = form.browse_arguments()
    assert arguments["filesystem"] == "Ftp"
    sent = json.loads(arguments["raw_parameters"])
    assert (sent["parameters"] if wrapped else sent) == {"Filesystem": "Ftp", "Path": "/backups"}


def test_a_correctly_spelled_body_is_kept_as_typed():
    typed = '{"Filesystem": "GoogleDrive",   "Path": "/"}'
    form = ParametersForm({"parameters": typed})
    assert form.is_valid(), form.errors
    assert form.browse_arguments()["raw_parameters"] == typed


def test_an_unknown_file_system_is_still_refused_with_the_allowed_values():
    form = ParametersForm({"parameters": '{"Filesystem": "dropbox"}'})
    assert not form.is_valid()
    assert "'dropbox' is not one of Local, Ftp" in form.errors["parameters"][0]
