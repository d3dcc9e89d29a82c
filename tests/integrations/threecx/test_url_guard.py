import pytest

from integrations.threecx.errors import UnsafeAddress
from integrations.threecx.url_guard import base_url_check_address, base_url_normalize


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("https://PBX.example.com", "https://pbx.example.com"),
        ("https://pbx.example.com:5001/", "https://pbx.example.com:5001"),
        ("  https://pbx.example.com/xapi/v1  ", "https://pbx.example.com"),
        ("https://[2001:db8::1]:5001", "https://[2001:db8::1]:5001"),
    ],
)
def test_base_urls_are_normalized_to_scheme_host_and_port(typed, normalized):
    assert base_url_normalize(typed, allow_http=False) == normalized


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("http://pbx.example.com", "must start with https://"),
        ("ftp://pbx.example.com", "must start with https://"),
        ("pbx.example.com", "must start with https://"),
        ("https://", "has no host name"),
        ("https://admin:pw@pbx.example.com", "Leave user names and passwords out"),
        ("https://pbx.example.com/webclient", "without a path"),
        ("https://pbx.example.com:port", "port must be a number"),
    ],
)
def test_malformed_base_urls_say_what_is_wrong(typed, message):
    with pytest.raises(UnsafeAddress, match=message):
        base_url_normalize(typed, allow_http=False)


def test_plain_http_is_accepted_only_when_allowed():
    assert base_url_normalize("http://127.0.0.1:8765", allow_http=True) == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1", "loopback"),
        ("https://localhost:5001", "loopback"),
        ("https://[::1]", "loopback"),
        ("https://169.254.169.254", "cloud metadata"),
        ("https://169.254.10.10", "link-local"),
        ("https://0.0.0.0", "unspecified"),
        ("https://[::ffff:127.0.0.1]", "loopback"),
    ],
)
def test_special_addresses_are_refused(url, problem):
    with pytest.raises(UnsafeAddress, match=problem):
        base_url_check_address(url)


@pytest.mark.parametrize(
    "url", ["https://10.1.2.3:5001", "https://192.168.1.20", "https://172.16.0.9"]
)
def test_private_lan_addresses_are_allowed(url):
    base_url_check_address(url)


def test_the_allow_list_lets_the_simulator_through():
    base_url_check_address("http://127.0.0.1:8765", allowed=["127.0.0.1"])


def test_an_unresolvable_host_is_named():
    with pytest.raises(UnsafeAddress, match="'pbx.invalid' cannot be resolved"):
        base_url_check_address("https://pbx.invalid")
