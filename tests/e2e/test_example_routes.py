"""
examples/routes.py runs and prints the replies its routes give.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._processes import ROOT, Processes, free_port

pytestmark = pytest.mark.e2e

EXPECTED = """\
200 GET /api/users application/json {"users":["Alice","Bob"]}
201 POST /api/users application/json {"created":"Carol"}
200 GET /api/greet?name=Ann application/json {"message":"Hello, Ann"}
200 GET /api/users/123?tab=posts application/json {"path":"/api/users/123","query":{"tab":"posts"}}
200 GET /api/users/profile application/json {"path":"/api/users/profile","query":{}}
200 GET / text/html; charset=utf-8 <h1>Hello from micro</h1>
404 GET /nowhere application/json {"error":"no route matches /nowhere","status":404}
"""


def test_routes_example_prints_each_reply(processes: Processes) -> None:
    """
    The example's routes answer as its comments say, and it exits 0.
    """
    port = free_port()
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "routes.py")], capture_output=True, timeout=60,
                          env=processes.environment({"MICRO_REGISTRY_URL": f"http://127.0.0.1:{port}"}))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == EXPECTED
