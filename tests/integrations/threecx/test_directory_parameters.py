import pytest

from integrations.threecx.directory_info import directory_parameters_parse
from integrations.threecx.errors import InvalidInput


def test_the_inner_object_is_wrapped_as_the_request_body():
    body = directory_parameters_parse('{"Filesystem": "Local", "Path": "/"}')
    assert body == {"parameters": {"Filesystem": "Local", "Path": "/"}}


def test_the_whole_body_is_taken_as_it_is():
    typed = '{"parameters": {"Filesystem": "Ftp", "Path": "/backups", "Json": "{}"}}'
    assert directory_parameters_parse(typed) == {
        "parameters": {"Filesystem": "Ftp", "Path": "/backups", "Json": "{}"}
    }


def test_invalid_json_names_line_and_column():
    with pytest.raises(InvalidInput, match="line 2, column 15"):
        directory_parameters_parse('{"Filesystem": "Local",\n  "Path": "/",}')


def test_an_unknown_filesystem_lists_the_allowed_ones():
    with pytest.raises(InvalidInput) as caught:
        directory_parameters_parse('{"Filesystem": "Dropbox"}')
    assert "'Dropbox' is not one of Local, Ftp, GoogleDrive, NetworkShare, Logs" in str(
        caught.value
    )
    assert caught.value.target == "Filesystem"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Parameters are empty"),
        ("[1, 2]", "must be a JSON object"),
        ('{"parameters": "Local"}', '"parameters" must be a JSON object'),
        ('{"Path": "/"}', "Filesystem is required"),
        ('{"Filesystem": "Local", "Folder": "/"}', "Unknown parameter Folder"),
        ('{"Filesystem": "Local", "Path": 5}', "Path must be text"),
    ],
)
def test_bad_parameters_are_refused_before_any_request(typed, message):
    with pytest.raises(InvalidInput, match=message):
        directory_parameters_parse(typed)
