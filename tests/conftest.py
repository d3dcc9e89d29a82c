import os

import pytest

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.services import require_or_skip

# Playwright's sync API runs an event loop in the test thread; live_server needs this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_runtest_setup(item: pytest.Item) -> None:
    require_or_skip(item)


@pytest.fixture
def organization():
    return OrganizationFactory(name="Acme Telecom")


@pytest.fixture
def owner(organization):
    return MembershipFactory(organization=organization, role="owner").user


@pytest.fixture
def admin(organization):
    return MembershipFactory(organization=organization, role="admin").user


@pytest.fixture
def viewer(organization):
    return MembershipFactory(organization=organization, role="viewer").user


@pytest.fixture
def outsider():
    """A user with an organisation of their own, and none of `organization`'s data."""
    return MembershipFactory(organization=OrganizationFactory(name="Other Co"), role="owner").user


@pytest.fixture
def provider_staff():
    """Staff must use MFA to see any tenant data, so this one has it set up."""
    return UserFactory(is_provider_staff=True, mfa=True)


@pytest.fixture
def client_for(client):
    """Log the test client in as a given user: `client_for(owner).get(...)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached tokens must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def worker_process(transactional_db):
    """A real `celery worker` process consuming this test run's queue."""
    from tests.workers import celery_worker

    with celery_worker() as process:
        yield process
