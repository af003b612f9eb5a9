"""
Not collected by the suite (its name does not start with C{test_}):
C{test_cleanup} runs it in a child pytest, which it then interrupts or
lets fail, to check that the harness leaves nothing behind.

The test builds two hosts, starts a registry, a plain sleeping process
and (when it is installed) a redis-server in them, writes what it made to
C{$NETNS_READY_FILE}, waits until that file is gone (or a signal
interrupts it), then fails, as C{$NETNS_ENDING} says.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.netns._hosts import Network
from tests.netns._redis_host import REDIS_SERVER, start_redis

pytestmark = pytest.mark.netns


def test_made_then_ended_badly(network: Callable[[int], Network]) -> None:
    """
    Make hosts and processes, then end badly: fail, or wait for a signal.
    """
    hosts = network(2)
    hosts[1].registry()
    hosts[2].start("sleeper", [sys.executable, "-c", "import time; time.sleep(300)"])
    if REDIS_SERVER is not None:
        start_redis(hosts[2])
    made = {"namespaces": [hosts.bridge, *(h.namespace for h in hosts.hosts.values())],
            "pids": [p.pid for h in hosts.hosts.values() for p in h.processes],
            "names": [p.name for h in hosts.hosts.values() for p in h.processes]}
    ready = Path(os.environ["NETNS_READY_FILE"])
    ready.write_text(json.dumps(made))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and ready.exists():
        time.sleep(0.05)
    assert os.environ["NETNS_ENDING"] != "fails", "failing on purpose, with hosts and processes running"
