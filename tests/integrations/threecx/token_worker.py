"""Run in a separate process by the token-sharing test: one 'worker' asking for the version."""

import os


def ask_version(base_url: str, start_event) -> str:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.conf import settings

    from integrations.threecx.client import ThreeCXClient
    from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET

    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    client = ThreeCXClient(base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    start_event.wait(30)
    return client.version()
