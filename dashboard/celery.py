"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqlalchemy

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# The SQLite broker is polled; the default of 1 s makes every task wait. Setting it through
# broker_transport_options crashes the worker (kombu passes it on to SQLAlchemy), so it is set
# on the transport class instead.
kombu_sqlalchemy.Transport.polling_interval = 0.2

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="dashboard.ping")
def ping() -> str:
    """A no-op used by health checks and tests to prove a worker is consuming."""
    return "pong"
