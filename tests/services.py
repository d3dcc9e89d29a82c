"""Which real services this test run has, and what to do when a test needs a missing one.

Locally, tests that need PostgreSQL, Redis or Chromium are skipped with a reason. CI sets
DASHBOARD_REQUIRE_SERVICES=1, which turns every such skip into a failure.
"""

import os
import shutil
import socket
from functools import cache
from urllib.parse import urlsplit

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("DASHBOARD_CHROMIUM", "/usr/bin/chromium")


def services_required() -> bool:
    return os.environ.get("DASHBOARD_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def missing_service(marker: str) -> str | None:
    """Why the service behind `marker` is unavailable, or None when it is there."""
    if marker == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
        return None
    if marker == "redis":
        return _redis_missing()
    if marker == "browser":
        if not shutil.which(CHROMIUM):
            return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        return None
    raise ValueError(marker)


@cache
def _redis_missing() -> str | None:
    if not settings.REDIS_URL or not settings.CELERY_BROKER_URL.startswith("redis"):
        return "needs Redis: set REDIS_URL and CELERY_BROKER_URL=redis://..."
    url = urlsplit(settings.REDIS_URL)
    try:
        socket.create_connection((url.hostname, url.port or 6379), timeout=2).close()
    except OSError as exc:
        return f"needs Redis at {url.hostname}:{url.port or 6379}, which refused: {exc}"
    return None


def require_or_skip(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing_service(marker)
        if reason is None:
            continue
        if services_required():
            pytest.fail(f"{reason} (DASHBOARD_REQUIRE_SERVICES is set)", pytrace=False)
        pytest.skip(reason)
