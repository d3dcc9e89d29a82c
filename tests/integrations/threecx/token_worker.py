"""Run in separate processes by the token-sharing test: 'workers' asking for the version.

The test's forkserver imports this module once, which sets Django up there; every worker
process is then forked from it ready to work, as Celery's prefork pool forks its children,
instead of paying for a fresh interpreter and `django.setup()` each.
"""

import os

import django
from django.apps import apps

if not apps.ready:  # in the forkserver; the test run that imports it too is set up already
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()


def ask_version(base_url: str, start_event) -> str:
    from django.conf import settings

    from integrations.threecx.client import ThreeCXClient
    from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET

    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    client = ThreeCXClient(base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    start_event.wait(30)
    return client.version()
