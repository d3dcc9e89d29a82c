import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import env_bool, env_database, env_int, env_url

ROOT = Path(__file__).resolve().parents[2]


def start_django(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "dashboard.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/db"),
        ("DATABASE_URL", "postgres://"),
        ("CELERY_BROKER_URL", "rediss//nohost"),
        ("REDIS_URL", "http://localhost:6379"),
        ("DJANGO_DEBUG", "maybe"),
        ("EMAIL_PORT", "twenty-five"),
        ("THREECX_REFUSE_PRIVATE", "sometimes"),
        ("DASHBOARD_JOB_RETENTION_DAYS", "a month"),
        ("DASHBOARD_JOB_STALE_AFTER", "5"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(variable, value):
    env = {"DJANGO_DEBUG": "true", variable: value}
    if variable == "EMAIL_PORT":
        env["EMAIL_HOST"] = "smtp.example.com"
    result = start_django(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_production_refuses_to_start_without_a_secret_key():
    result = start_django({"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_zero_setup_defaults_use_sqlite_and_the_sqlite_broker(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; import django; django.setup();"
            "print(settings.DATABASES['default']['ENGINE']); print(settings.CELERY_BROKER_URL)",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_DEBUG": "true",
            "DASHBOARD_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    engine, broker = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert broker == f"sqla+sqlite:///{tmp_path}/celery-broker.sqlite3"


def test_booleans_accept_common_spellings_only(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", default=False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", default=True) is False
    monkeypatch.setenv("FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
        env_bool("FLAG", default=False)


def test_integers_name_the_variable_and_the_bad_value(monkeypatch):
    monkeypatch.setenv("PORT_X", "-1")
    with pytest.raises(ImproperlyConfigured, match="PORT_X must be at least 1, not -1"):
        env_int("PORT_X", 5, minimum=1)


def test_urls_must_have_an_allowed_scheme_and_a_host(monkeypatch):
    monkeypatch.setenv("BROKER", "redis://:6379/0")
    with pytest.raises(ImproperlyConfigured, match="BROKER must name a host"):
        env_url("BROKER", "", schemes={"redis"})
    monkeypatch.setenv("BROKER", "redis://localhost:port/0")
    with pytest.raises(ImproperlyConfigured, match="BROKER has an invalid port"):
        env_url("BROKER", "", schemes={"redis"})


def test_postgres_urls_are_parsed(monkeypatch):
    monkeypatch.setenv("DB", "postgres://postgres@127.0.0.1:5432/dashboard")
    config = env_database("DB", "sqlite:///x")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "dashboard"
