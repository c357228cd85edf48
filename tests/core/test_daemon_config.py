"""DaemonConfig: address forms, env precedence and errors (public behaviour of upstream)."""

from __future__ import annotations

import pytest

from fluoro.core.daemon_config import DEFAULT_ADDRESS, DaemonConfig
from fluoro.core.exceptions.exceptions import InvalidDaemonAddressException

DEFAULT_IP = "127.0.0.1"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS", raising=False)


def test_default_config() -> None:
    config = DaemonConfig()
    assert DEFAULT_ADDRESS == "127.0.0.1:2000"
    assert config.udp_ip == DEFAULT_IP
    assert config.tcp_ip == DEFAULT_IP
    assert config.udp_port == 2000
    assert config.tcp_port == 2000


def test_none_means_default() -> None:
    config = DaemonConfig(None)
    assert (config.udp_ip, config.udp_port, config.tcp_ip, config.tcp_port) == (
        DEFAULT_IP,
        2000,
        DEFAULT_IP,
        2000,
    )


def test_single_address() -> None:
    config = DaemonConfig("192.168.0.1:3000")
    assert config.udp_ip == "192.168.0.1"
    assert config.tcp_ip == "192.168.0.1"
    assert config.udp_port == 3000
    assert config.tcp_port == 3000


def test_hostname_is_kept_verbatim() -> None:
    config = DaemonConfig("xray-daemon.local:2000")
    assert config.udp_ip == config.tcp_ip == "xray-daemon.local"


def test_set_tcp_udp_separately() -> None:
    config = DaemonConfig("tcp:192.168.0.1:3000 udp:127.0.0.2:8080")
    assert config.udp_ip == "127.0.0.2"
    assert config.tcp_ip == "192.168.0.1"
    assert config.udp_port == 8080
    assert config.tcp_port == 3000

    config = DaemonConfig("udp:127.0.0.2:8080 tcp:192.168.0.1:3000")
    assert config.udp_ip == "127.0.0.2"
    assert config.tcp_ip == "192.168.0.1"
    assert config.udp_port == 8080
    assert config.tcp_port == 3000


@pytest.mark.parametrize(
    "address",
    [
        "192.168.0.1",
        "192.168.0.1:abc",
        "tcp:192.168.0.1:3000",
        "127.0.0.2:8080 192.168.0.1:3000",
        "udp:127.0.0.2:8080 192.168.0.1:3000",
        "tcp:127.0.0.2:8080 tcp:192.168.0.1:3000",
        "udp:127.0.0.2 tcp:192.168.0.1:3000",
        "a:1 b:2 c:3",
    ],
)
def test_invalid_address(address: str) -> None:
    with pytest.raises(InvalidDaemonAddressException) as info:
        DaemonConfig(address)
    assert str(info.value) == f"Invalid daemon address {address} specified."


def test_env_wins_over_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "tcp:10.0.0.1:2100 udp:10.0.0.2:2200")
    config = DaemonConfig("192.168.0.1:3000")
    assert (config.tcp_ip, config.tcp_port) == ("10.0.0.1", 2100)
    assert (config.udp_ip, config.udp_port) == ("10.0.0.2", 2200)
    # ...also over the default.
    assert DaemonConfig().tcp_port == 2100


def test_invalid_env_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "nonsense")
    with pytest.raises(InvalidDaemonAddressException, match="Invalid daemon address nonsense specified."):
        DaemonConfig("127.0.0.1:2000")
