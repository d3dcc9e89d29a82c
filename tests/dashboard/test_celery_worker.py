import pytest

from dashboard.celery import ping


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_worker_process_consumes_a_task_from_redis(worker_process, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    assert worker_process.poll() is None
