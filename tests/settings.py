"""Test settings: the real settings module, with what tests need on top."""

import os
import tempfile
import uuid

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("THREECX_SECRET_KEYS", "dGVzdHMtb25seS1mZXJuZXQta2V5LTMyLWJ5dGVzLi4=")
# A queue of this run's own, inherited by the worker processes tests start, so that tasks
# never reach (or get stolen by) a developer's running worker on the same broker.
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"tests-{uuid.uuid4().hex[:8]}")

from dashboard.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Tests must not share rate-limit counters or cached state with a running dev server.
if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file of this run's own, not memory: a real worker process (tests/workers.py) shares it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"dashboard-tests-{uuid.uuid4().hex[:8]}.db")
    }
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
