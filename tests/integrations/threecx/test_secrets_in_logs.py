import logging
import sys

import pytest
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from integrations.threecx import errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.simulator import Fault
from tests.factories import OrganizationFactory
from tests.integrations.threecx.clients import CLIENT_SECRET, simulator_client
from tests.integrations.threecx.stubs import resolve_as


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def test_the_secret_and_token_never_reach_the_logs_of_a_failing_run(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    client = simulator_client(simulator)
    token = client.tokens.token()
    simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Users", kind="status", status=500))
    with pytest.raises(errors.ServerError) as caught:
        list(client.collection("Users"))
    wrong = simulator_client(simulator, client_secret="wrong-secret-value")
    with pytest.raises(errors.AuthenticationFailed) as refused:
        wrong.version()
    text = caplog.text + str(caught.value) + str(refused.value) + repr(client) + repr(client.tokens)
    assert caplog.records, "the failing run should have logged something"
    for secret in (CLIENT_SECRET, "wrong-secret-value", token):
        assert secret not in text


@pytest.mark.django_db
@sensitive_variables("secret")  # this test's own frame is in the report too
def test_exception_reports_hide_the_secret(simulator, rf, settings):
    settings.DEBUG = False
    connection = ThreeCXConnection(
        organization=OrganizationFactory(), name="PBX", base_url=simulator.base_url, client_id="900"
    )
    secret = "-".join(["wrong", "secret", "value"])  # built: the report shows source lines
    connection.client_secret_set(secret)
    connection.save()

    settings.THREECX_ALLOWED_ADDRESSES = []
    try:
        ThreeCXClient.for_connection(connection)  # refused: loopback is no longer allowed
    except errors.UnsafeAddress:
        report = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()
    assert "client_secret" in report
    assert secret not in report

    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    try:
        ThreeCXClient.for_connection(connection).version()
    except errors.AuthenticationFailed:
        report = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()
    library_frames = "/".join(["requests_oauthlib", "oauth2_session.py"])
    assert library_frames not in report  # the frames that hold the secret are dropped
    assert secret not in report


@pytest.mark.django_db
@sensitive_variables("secret")
def test_a_refusal_on_connecting_reports_no_secret(simulator, rf, settings, monkeypatch):
    settings.DEBUG = False
    settings.THREECX_ALLOWED_ADDRESSES = []
    resolve_as(monkeypatch, "pbx.rebind.test", "198.51.100.7", "127.0.0.1")
    connection = ThreeCXConnection(
        organization=OrganizationFactory(),
        name="PBX",
        base_url=f"http://pbx.rebind.test:{simulator.port}",
        client_id="900",
    )
    secret = "-".join(["rebinding", "secret", "value"])
    connection.client_secret_set(secret)
    connection.save()
    try:
        ThreeCXClient.for_connection(connection).version()
    except errors.UnsafeAddress:
        report = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()
    library_frames = "/".join(["requests", "adapters.py"])
    assert library_frames not in report  # the frames that hold the request and its body
    assert secret not in report
