"""
An instance's HTTP face, in memory (StubTreq).
"""

from __future__ import annotations

import json
from typing import Any

from treq.testing import StubTreq

from micro._node.handler import ServiceHandler
from micro._node.instance import ServiceInstance
from micro._node.instance_resource import InstanceResource
from micro.testing import MemoryCluster
from tests._helpers import fired

URL = "http://node.test:10000/"


def _stub(fn: Any, name: str = "svc") -> tuple[StubTreq, ServiceInstance]:
    node = MemoryCluster().node()
    instance = ServiceInstance(ServiceHandler.wrap(fn, name), "http://node.test:10000", node)
    return StubTreq(InstanceResource(instance, node.operations)), instance


def _json(response: Any) -> Any:
    return json.loads(fired(response.content()))


def test_post_root_calls_the_handler() -> None:
    """
    POST / with a JSON payload is a call; the result comes back as JSON.
    """
    stub, _ = _stub(lambda payload: {"got": payload})
    response = fired(stub.post(URL, data=b'{"a": [1, 2]}', headers={"content-type": "application/json"}))
    assert response.code == 200
    assert response.headers.getRawHeaders("content-type") == ["application/json"]
    assert _json(response) == {"got": {"a": [1, 2]}}


def test_bytes_in_bytes_out() -> None:
    """
    An octet-stream payload reaches the handler as bytes; bytes come back raw.
    """
    stub, _ = _stub(lambda payload: payload[::-1])
    response = fired(stub.post(URL, data=b"\x01\x02", headers={"content-type": "application/octet-stream"}))
    assert response.headers.getRawHeaders("content-type") == ["application/octet-stream"]
    assert fired(response.content()) == b"\x02\x01"


def test_malformed_payload_is_400_naming_the_service() -> None:
    """
    A body that is not JSON is refused before the handler runs.
    """
    calls = []
    stub, _ = _stub(lambda payload: calls.append(payload))
    response = fired(stub.post(URL, data=b"{oops", headers={"content-type": "application/json"}))
    assert response.code == 400
    assert "bad payload for 'svc'" in _json(response)["error"]
    assert calls == []


def test_health_says_what_is_served() -> None:
    """
    /_micro/health names the service and says it is serving, with no calls
    in flight.
    """
    stub, _ = _stub(lambda payload: None)
    body = _json(fired(stub.get(URL + "_micro/health")))
    assert body == {"micro": True, "service": "svc", "location": "http://node.test:10000",
                    "status": "serving", "in_flight": 0}


def test_unknown_framework_paths_are_json_404s() -> None:
    """
    Unknown framework endpoints get JSON 404s, not HTML; other paths are
    route traffic for the handler.
    """
    stub, _ = _stub(lambda payload: {"routed": payload})
    response = fired(stub.get(URL + "_micro/nothing"))
    assert response.code == 404
    assert response.headers.getRawHeaders("content-type") == ["application/json"]
    assert _json(response)["status"] == 404
    assert _json(fired(stub.get(URL + "api/x?a=1"))) == {"routed": {"a": "1"}}


def test_async_handler_counts_as_in_flight_until_done() -> None:
    """
    An async call is in flight until its result is written.
    """
    from twisted.internet.defer import Deferred

    pending: Deferred[str] = Deferred()
    stub, instance = _stub(lambda payload: pending)
    response = stub.post(URL, data=b"1", headers={"content-type": "application/json"})
    assert instance.in_flight == 1
    pending.callback("done")
    stub.flush()
    assert instance.in_flight == 0
    assert _json(fired(response)) == "done"
