"""Where the X-Ray daemon listens: UDP for segments, TCP (HTTP) for centralized sampling.

Same accepted forms and the same environment precedence as upstream's ``DaemonConfig``:
``AWS_XRAY_DAEMON_ADDRESS`` always wins over the address given in code, so operators can
redirect a deployed application without a code change.
"""

from __future__ import annotations

import os

from .exceptions.exceptions import InvalidDaemonAddressException

DAEMON_ADDRESS_KEY = "AWS_XRAY_DAEMON_ADDRESS"
DEFAULT_ADDRESS = "127.0.0.1:2000"


def _invalid(value: str) -> InvalidDaemonAddressException:
    return InvalidDaemonAddressException(f"Invalid daemon address {value} specified.")


class DaemonConfig:
    """Parse ``host:port`` (UDP and TCP alike) or ``tcp:host:port udp:host:port`` (any order)."""

    def __init__(self, daemon_address: str | None = DEFAULT_ADDRESS) -> None:
        if daemon_address is None:
            daemon_address = DEFAULT_ADDRESS
        value = os.getenv(DAEMON_ADDRESS_KEY, daemon_address)
        parts = value.split(" ")
        if len(parts) == 1:
            self._parse_single_form(parts[0])
        elif len(parts) == 2:
            self._parse_double_form(parts[0], parts[1], value)
        else:
            raise _invalid(value)

    def _parse_single_form(self, value: str) -> None:
        host, port = self._host_port(value.split(":"), 0, value)
        self._udp_ip = self._tcp_ip = host
        self._udp_port = self._tcp_port = port

    def _parse_double_form(self, first: str, second: str, original: str) -> None:
        by_proto = {}
        for part in (first, second):
            fields = part.split(":")
            by_proto[fields[0]] = fields
        tcp = by_proto.get("tcp")
        udp = by_proto.get("udp")
        if tcp is None or udp is None:
            raise _invalid(original)
        self._tcp_ip, self._tcp_port = self._host_port(tcp, 1, original)
        self._udp_ip, self._udp_port = self._host_port(udp, 1, original)

    @staticmethod
    def _host_port(fields: list[str], start: int, original: str) -> tuple[str, int]:
        # Like upstream, only the host and port fields are looked at; anything after them
        # is ignored, and a missing or non-numeric port is an error.
        try:
            return fields[start], int(fields[start + 1])
        except (IndexError, ValueError):
            raise _invalid(original) from None

    @property
    def udp_ip(self) -> str:
        return self._udp_ip

    @property
    def udp_port(self) -> int:
        return self._udp_port

    @property
    def tcp_ip(self) -> str:
        return self._tcp_ip

    @property
    def tcp_port(self) -> int:
        return self._tcp_port
