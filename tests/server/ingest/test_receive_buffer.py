"""The UDP receive buffer: deep enough to ride out a receiver that misses the CPU for a while."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from fluoro.ingest.worker import RECEIVE_BUFFER, SMALL_BUFFER, set_receive_buffer, small_buffer_warning


def test_receiver_gets_the_full_buffer_when_privileged() -> None:
    """With CAP_NET_ADMIN (root here) the buffer is not capped at net.core.rmem_max."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        set_receive_buffer(sock)
        got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        assert got == 2 * RECEIVE_BUFFER  # Linux reports twice what it granted
    else:
        assert got > 0


def test_the_size_returned_is_the_size_the_kernel_reports() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        reported = set_receive_buffer(sock)
        assert reported == sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def test_a_capped_buffer_is_reported_with_the_fix() -> None:
    """Without CAP_NET_ADMIN the kernel caps the buffer at rmem_max (often 208 KB: Linux reports 416)."""
    warning = small_buffer_warning(416 * 1024)
    assert warning is not None
    assert "416 KB" in warning and "net.core.rmem_max" in warning and str(RECEIVE_BUFFER) in warning
    assert small_buffer_warning(SMALL_BUFFER - 1) is not None
    assert small_buffer_warning(SMALL_BUFFER) is None
    assert small_buffer_warning(2 * RECEIVE_BUFFER) is None
    assert small_buffer_warning(0) is None  # unknown: nothing to say


def test_the_receiver_process_reports_its_buffer(caplog: pytest.LogCaptureFixture) -> None:
    from fluoro.daemon.udp_process import UDPProcessReceiver

    receiver = UDPProcessReceiver("127.0.0.1", 0, lambda *args: None)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            expected = set_receive_buffer(sock)  # what this process gets, as the child does
        assert receiver.receive_buffer == expected
        warned = any("receive buffer" in r.getMessage() for r in caplog.records)
        assert warned == (small_buffer_warning(expected) is not None)
    finally:
        receiver.start()
        receiver.stop()
