import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from integrations.threecx import crypto
from integrations.threecx.models import ThreeCXConnection
from tests.factories import OrganizationFactory


def make_connection(secret="s3cret-api-key"):
    connection = ThreeCXConnection(
        organization=OrganizationFactory(),
        name="Main PBX",
        base_url="https://pbx.example.com",
        client_id="900",
    )
    connection.client_secret_set(secret)
    connection.save()
    return connection


@pytest.mark.django_db
def test_the_client_secret_is_stored_encrypted():
    connection = make_connection()
    stored = ThreeCXConnection.objects.values_list("client_secret_encrypted", flat=True).get()
    assert "s3cret-api-key" not in stored
    assert ThreeCXConnection.objects.get().client_secret_get() == "s3cret-api-key"
    assert "s3cret" not in repr(connection) and "s3cret" not in str(connection)


@pytest.mark.django_db
def test_secrets_survive_key_rotation_and_re_encryption(settings, capsys):
    old_key = settings.THREECX_SECRET_KEYS[0]
    connection = make_connection()
    before = connection.client_secret_encrypted
    new_key = Fernet.generate_key().decode()
    settings.THREECX_SECRET_KEYS = [new_key, old_key]
    call_command("threecx_reencrypt_secrets")
    assert "Re-encrypted 1 connection secret" in capsys.readouterr().out
    connection.refresh_from_db()
    assert connection.client_secret_encrypted != before
    settings.THREECX_SECRET_KEYS = [new_key]  # the old key can now be dropped
    assert connection.client_secret_get() == "s3cret-api-key"


@pytest.mark.django_db
def test_a_secret_encrypted_with_a_dropped_key_says_what_to_do(settings):
    connection = make_connection()
    settings.THREECX_SECRET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretUnreadable, match="Enter the secret again"):
        connection.client_secret_get()
