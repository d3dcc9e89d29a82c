"""`manage.py threecx_simulator` serves the awkward servers too, and refuses nonsense."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[4]


def test_the_command_serves_capped_pages_without_a_count_edge_ids_and_missing_sets():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "manage.py", "threecx_simulator", "--port", "0", "--users", "150",
        "--contacts", "10", "--version", "20.0.10.999", "--max-page-size", "100",
        "--odata-count", "missing", "--edge-ids", "--null-key-fields", "--missing", "LicenseStatus",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        token = requests.post(
            f"{url}/connect/token",
            files={
                "client_id": (None, "900"),
                "client_secret": (None, "simulator-secret"),
                "grant_type": (None, "client_credentials"),
            },
            timeout=10,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        users = requests.get(
            f"{url}/xapi/v1/Users",
            params={"$count": "true", "$top": 500, "$select": "Id,Number"},
            headers=headers,
            timeout=10,
        )
        body = users.json()
        assert len(body["value"]) == 100 and "@odata.count" not in body
        assert users.headers["X-3CX-Version"] == "20.0.10.999"
        edge = requests.get(f"{url}/xapi/v1/Contacts(-2147483648)", headers=headers, timeout=10)
        assert edge.status_code == 200
        licence = requests.get(f"{url}/xapi/v1/LicenseStatus", headers=headers, timeout=10)
        assert licence.status_code == 404  # as on an update that predates it
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)  # generous: a bound against a hang on a loaded machine
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-page-size", "0"], "max_page_size must be None or >= 1"),
        (["--version", "20"], "version must look like 20.0.10"),
        (["--missing", "InboundRulez"], "the spec has no path /'InboundRulez'"),
    ],
)
def test_a_bad_option_is_a_clear_error_before_anything_is_served(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("threecx_simulator", "--port", "0", *arguments)
