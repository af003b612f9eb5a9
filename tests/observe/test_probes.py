"""
Who may read the operators' pages: the token in a header, as a bearer
token or as a Basic password; probes need nothing.
"""

from __future__ import annotations

import base64
import json

import pytest
from twisted.web.test.requesthelper import DummyRequest

from micro._observe import probes
from micro._observe.probes import Guard, offered_token


def _request(**headers: bytes) -> DummyRequest:
    request = DummyRequest([b""])
    for name, value in headers.items():
        request.requestHeaders.setRawHeaders(name.replace("_", "-").encode(), [value])
    return request


@pytest.mark.parametrize("headers, offered", [
    ({}, None),
    ({"micro_registry_token": b"t"}, b"t"),
    ({"authorization": b"Bearer t"}, b"t"),
    ({"authorization": b"Basic " + base64.b64encode(b"anyone:t")}, b"t"),
    ({"authorization": b"Basic !!!"}, None),
    ({"authorization": b"Digest x"}, None),
])
def test_the_token_a_request_offers(headers: dict[str, bytes], offered: bytes | None) -> None:
    """
    Header, bearer, Basic password; nothing else.
    """
    assert offered_token(_request(**headers)) == offered


def test_the_guard() -> None:
    """
    Open outside production, with no token, or when opened; else 401 (asking
    for Basic) without a token and 403 with a wrong one.
    """
    request = _request()
    assert Guard("t", production=False).refusal(request, "metrics") is None
    assert Guard(None, production=True).refusal(request, "metrics") is None
    assert Guard("t", production=True).refusal(request, "metrics", is_open=True) is None
    refused = Guard("t", production=True).refusal(request, "metrics")
    assert request.responseCode == 401 and b"needs the registry token" in refused
    assert request.responseHeaders.getRawHeaders(b"www-authenticate")[0].startswith(b"Basic")
    wrong = _request(micro_registry_token=b"x")
    assert b"wrong registry token" in Guard("t", production=True).refusal(wrong, "metrics")
    assert wrong.responseCode == 403
    assert Guard("t", production=True).refusal(_request(micro_registry_token=b"t"), "metrics") is None


def test_probe_replies() -> None:
    """
    live is 200; ready is 200 or a 503 with the reason.
    """
    request = _request()
    assert json.loads(probes.live(request)) == {"status": "live"}
    assert json.loads(probes.ready(request, None)) == {"status": "ready"}
    assert json.loads(probes.ready(request, "stopping")) == {"status": "not ready", "reason": "stopping"}
    assert request.responseCode == 503
