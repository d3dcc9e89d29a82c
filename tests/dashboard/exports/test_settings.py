"""The exports' settings come from the environment and refuse bad values at start-up."""

import pytest

from tests.dashboard.test_settings import start_django


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DASHBOARD_EXPORT_RETENTION_DAYS", "a week"),
        ("DASHBOARD_EXPORT_RETENTION_DAYS", "0"),
        ("DASHBOARD_EXPORT_DIRECT_MAX_ROWS", "10k"),
        ("DASHBOARD_EXPORT_DIRECT_MAX_ROWS", "-1"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(variable, value):
    result = start_django({"DJANGO_DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_the_defaults_keep_files_a_week_and_stream_up_to_ten_thousand_rows(settings):
    assert settings.EXPORT_RETENTION_DAYS == 7
    assert settings.EXPORT_DIRECT_MAX_ROWS == 10_000
    assert settings.STORAGES["exports"]["BACKEND"].endswith("FileSystemStorage")
