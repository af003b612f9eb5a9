"""
Several registry processes on one port: the worker command line, and the
endpoint descriptions SO_REUSEPORT listening understands.
"""

from __future__ import annotations

import sys

import pytest

from micro._twistd.reuseport import parse_tcp
from micro._twistd.workers import worker_argv


def test_a_worker_runs_the_same_registry_with_reuseport_and_without_workers() -> None:
    """
    Workers keep every option of the registry but --workers, and add --reuseport.
    """
    argv = ["/venv/bin/twistd", "-n", "micro-registry", "--listen", "tcp:9999", "--workers", "4",
            "--store", "redis://r:6379/0", "--ttl=8"]
    command = worker_argv(argv)
    assert command[0] == sys.executable
    assert command[3:] == ["-n", "micro-registry", "--listen", "tcp:9999", "--store", "redis://r:6379/0", "--ttl=8",
                           "--reuseport"]
    assert worker_argv(["twistd", "-n", "micro-registry", "--workers=2", "--reuseport"])[3:] == [
        "-n", "micro-registry", "--reuseport"]


def test_tcp_descriptions_are_read_for_their_port_interface_and_backlog() -> None:
    """
    tcp and tcp6 descriptions give their port, interface (escaped colons too) and backlog.
    """
    assert parse_tcp("tcp:9999") == (9999, "", 50)
    assert parse_tcp("tcp:port=80:interface=127.0.0.1:backlog=4096") == (80, "127.0.0.1", 4096)
    assert parse_tcp(r"tcp6:9999:interface=\:\:1") == (9999, "::1", 50)
    assert parse_tcp("tcp6:9999") == (9999, "::", 50)
    for bad in ("unix:/tmp/s", "tcp:interface=x", "tcp:80:ssl=yes", "ssl:443"):
        with pytest.raises(ValueError):
            parse_tcp(bad)
