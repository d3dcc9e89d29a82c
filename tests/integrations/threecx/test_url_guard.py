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


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("2002:7f00:1::", "6to4 address carrying 127.0.0.1, a loopback"),
        ("2002:a9fe:a9fe::1", "6to4 address carrying 169.254.169.254, a cloud metadata"),
        ("2002:a9fe:0a0a::", "6to4 address carrying 169.254.10.10, a link-local"),
        # Teredo: 2001:0:<server>:<flags>:<port>:<client, bits inverted>
        ("2001:0:7f00:1::f7f7:f7f7", "Teredo address carrying 127.0.0.1, a loopback"),
        ("2001:0:4136:e378::5601:5601", "Teredo address carrying 169.254.169.254, a cloud"),
        ("64:ff9b::7f00:1", "NAT64 address for 127.0.0.1, a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address for 169.254.169.254, a cloud metadata"),
        ("::127.0.0.1", "IPv4-compatible address carrying 127.0.0.1, a loopback"),
        ("::169.254.169.254", "IPv4-compatible address carrying 169.254.169.254, a cloud"),
    ],
)
def test_ipv6_transition_forms_are_judged_by_the_ipv4_address_they_carry(address, problem):
    with pytest.raises(UnsafeAddress, match=problem):
        base_url_check_address(f"https://[{address}]")


@pytest.mark.parametrize(
    "address",
    ["2002:0808:0808::1", "64:ff9b::808:808", "2001:0:4136:e378::f7f7:f7f7"],
)
def test_ipv6_transition_forms_carrying_public_addresses_are_allowed(address):
    base_url_check_address(f"https://[{address}]")


PRIVATE = [
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "100.64.0.1",  # carrier-grade NAT
    "[fd12:3456::1]",  # unique local
    "[::ffff:10.0.0.1]",
    "[2002:0a00:0001::]",  # 6to4 carrying 10.0.0.1
    "[64:ff9b::c0a8:1]",  # NAT64 for 192.168.0.1
]


@pytest.mark.parametrize("host", PRIVATE)
def test_private_addresses_are_allowed_by_default(host):
    base_url_check_address(f"https://{host}:5001")


@pytest.mark.parametrize("host", PRIVATE)
def test_private_addresses_are_refused_when_the_deployment_says_so(host):
    with pytest.raises(UnsafeAddress, match="private or non-public address"):
        base_url_check_address(f"https://{host}:5001", refuse_private=True)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700:4700::1111]", "[64:ff9b::808:808]"])
def test_public_addresses_pass_when_private_ones_are_refused(host):
    base_url_check_address(f"https://{host}", refuse_private=True)


def test_refusing_private_addresses_still_lets_the_allow_list_through():
    base_url_check_address("https://192.168.1.20", allowed=["192.168.1.20"], refuse_private=True)


@pytest.mark.django_db
def test_the_setting_refuses_private_addresses_when_saving(settings):
    from integrations.threecx.services import connection_base_url_clean

    assert connection_base_url_clean("https://10.1.2.3:5001") == "https://10.1.2.3:5001"
    settings.THREECX_REFUSE_PRIVATE = True
    with pytest.raises(UnsafeAddress, match="private"):
        connection_base_url_clean("https://10.1.2.3:5001")
