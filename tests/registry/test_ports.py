"""
Port allocation for setup.
"""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from micro import HttpError
from micro._registry.ports import PortAllocator


def test_ports_count_up_from_registry_port_per_host() -> None:
    """
    Each host gets the registry's port + 1, + 2, ...; hosts are independent.
    """
    ports = PortAllocator(Clock(), base_port=9999)
    assert [ports.allocate("http://localhost") for _ in range(3)] == [
        "http://localhost:10000", "http://localhost:10001", "http://localhost:10002"]
    assert ports.allocate("http://10.0.0.2") == "http://10.0.0.2:10000"


def test_home_with_port_starts_there() -> None:
    """
    A home that names a port (MICRO_SERVICE_URL) gets that port first.
    """
    ports = PortAllocator(Clock(), base_port=9999)
    assert ports.allocate("http://svc:8080") == "http://svc:8080"
    assert ports.allocate("http://svc:8080") == "http://svc:8081"


def test_freed_ports_are_reused_and_reservations_expire() -> None:
    """
    A port in use is skipped; freed, it is handed out again; a port handed
    out but never registered comes back after its reservation.
    """
    clock = Clock()
    ports = PortAllocator(clock, base_port=9999, reserve_for=30)
    first = ports.allocate("http://h")
    ports.occupy("h", 10000)
    clock.advance(31)
    assert ports.allocate("http://h") == "http://h:10001"
    ports.release("h", 10000)
    assert ports.allocate("http://h") == first
    clock.advance(31)
    assert ports.allocate("http://h") == "http://h:10000"


def test_registry_port_is_never_handed_out() -> None:
    """
    A home pointing at the registry's own port skips it.
    """
    ports = PortAllocator(Clock(), base_port=9999)
    assert ports.allocate("http://h:9999") == "http://h:10000"


def test_bad_home_is_400() -> None:
    """
    A home that is not an http URL is refused with a 400.
    """
    with pytest.raises(HttpError) as caught:
        PortAllocator(Clock()).allocate("localhost")
    assert caught.value.status == 400
