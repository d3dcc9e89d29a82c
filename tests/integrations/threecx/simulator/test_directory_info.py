"""POST /xapi/v1/GetDirectoryInfo: folder trees per filesystem, and every way to get it wrong."""

import pytest
import requests

from integrations.threecx.spec import enum_values

FILESYSTEMS = enum_values("Pbx.FileSystemType")


def directory_info(xapi, filesystem="Local", path="/", json_settings=None):
    body = {"parameters": {"Filesystem": filesystem, "Path": path, "Json": json_settings}}
    return xapi.post("/GetDirectoryInfo", json=body)


def bad_request(response, target):
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["target"] == target
    assert error["details"][0]["target"] == target
    return error


class TestListing:
    @pytest.mark.parametrize("filesystem", FILESYSTEMS)
    def test_every_filesystem_has_a_root_with_folders(self, xapi, filesystem):
        response = directory_info(xapi, filesystem, None)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["Path"].startswith("/")
        assert body["Dirs"]
        assert all(folder.startswith(body["Path"].rstrip("/") + "/") for folder in body["Dirs"])

    @pytest.mark.parametrize("path", [None, "", "/", "  "])
    def test_an_empty_path_means_the_root(self, xapi, path):
        assert directory_info(xapi, "Local", path).json()["Path"] == "/"

    def test_it_navigates_three_levels_deep_with_full_paths(self, xapi):
        path, trail = "/", []
        for _ in range(4):
            body = directory_info(xapi, "Local", path).json()
            assert body["Path"] == path
            deeper = [d for d in body["Dirs"] if directory_info(xapi, "Local", d).json()["Dirs"]]
            path = deeper[-1] if deeper else body["Dirs"][0]
            assert path.startswith(body["Path"].rstrip("/") + "/")
            trail.append(path)
        assert trail[:3] == ["/var", "/var/lib", "/var/lib/3cxpbx"]
        recordings = directory_info(xapi, "Local", "/var/lib/3cxpbx/Instance1/Data").json()
        assert "/var/lib/3cxpbx/Instance1/Data/Backups" in recordings["Dirs"]
        assert "/var/lib/3cxpbx/Instance1/Data/Recordings" in recordings["Dirs"]

    @pytest.mark.parametrize(
        ("given", "normalised"),
        [
            ("/var//lib/", "/var/lib"),
            ("\\var\\lib", "/var/lib"),
            ("/var/./lib/3cxpbx/..", "/var/lib"),
        ],
    )
    def test_paths_are_normalised(self, xapi, given, normalised):
        assert directory_info(xapi, "Local", given).json()["Path"] == normalised

    def test_the_logs_filesystem_starts_in_the_log_folder(self, xapi):
        body = directory_info(xapi, "Logs", "").json()
        assert body["Path"].endswith("/Logs")
        assert any(folder.endswith("/PbxSrv") for folder in body["Dirs"])

    def test_cloud_settings_in_json_are_accepted(self, xapi):
        response = directory_info(
            xapi, "AmazonS3", "/", '{"Bucket": "acme", "Region": "eu-west-1"}'
        )
        assert response.status_code == 200


class TestRefusing:
    def test_an_unknown_path_is_a_400_aimed_at_path(self, xapi):
        error = bad_request(directory_info(xapi, "Local", "/no/such/folder"), "Path")
        assert "/no/such/folder" in error["message"]

    def test_climbing_above_the_root_is_refused(self, xapi):
        bad_request(directory_info(xapi, "Local", "/../etc"), "Path")

    @pytest.mark.parametrize("filesystem", [None, "Dropbox", "local", 3])
    def test_a_missing_or_unknown_filesystem_names_the_allowed_values(self, xapi, filesystem):
        error = bad_request(directory_info(xapi, filesystem), "Filesystem")
        assert all(name in error["message"] for name in FILESYSTEMS)

    def test_a_path_that_is_not_text_is_refused(self, xapi):
        bad_request(directory_info(xapi, "Local", ["/var"]), "Path")

    def test_json_settings_that_are_not_json_are_refused(self, xapi):
        bad_request(directory_info(xapi, "AmazonS3", "/", "{bucket: acme}"), "Json")

    def test_a_body_that_is_not_json_is_a_400(self, xapi):
        response = xapi.post(
            "/GetDirectoryInfo", data=b"{parameters:", headers={"Content-Type": "application/json"}
        )
        bad_request(response, "body")

    @pytest.mark.parametrize(
        "body", [{}, {"parameters": "Local"}, []], ids=["empty", "text", "list"]
    )
    def test_a_body_without_parameters_is_a_400(self, xapi, body):
        bad_request(xapi.post("/GetDirectoryInfo", json=body), "parameters")

    def test_an_unknown_parameter_property_is_named(self, xapi):
        response = xapi.post(
            "/GetDirectoryInfo", json={"parameters": {"Filesystem": "Local", "Folder": "/"}}
        )
        bad_request(response, "Folder")

    def test_it_is_an_action_so_get_is_not_allowed(self, xapi):
        assert xapi.get("/GetDirectoryInfo").status_code == 405

    def test_it_needs_a_token(self, simulator):
        response = requests.post(
            f"{simulator.base_url}/xapi/v1/GetDirectoryInfo",
            json={"parameters": {"Filesystem": "Local"}},
            timeout=10,
        )
        assert response.status_code == 401
