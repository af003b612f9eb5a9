# -*- test-case-name: tests.testing.test_memory -*-
"""
HTTP requests a test sends to a cluster, and the whole replies it reads.
"""

from __future__ import annotations

import json as _json
from typing import Any, Mapping

import treq
from attrs import frozen
from treq.client import HTTPClient
from twisted.internet.defer import Deferred
from twisted.web.iweb import IResponse

from micro._http.client import BytesProducer


@frozen
class HttpReply:
    """
    A whole HTTP reply.

    @ivar status: The status code.
    @ivar headers: Header names in lower case; repeated headers joined
        with C{", "}.
    @ivar body: The body as bytes.
    """

    status: int
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"HttpReply({self.status}, {len(self.body)} bytes of {self.headers.get('content-type', 'no type')})"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return _json.loads(self.body)


def treq_client(agent: Any) -> HTTPClient:
    """
    A treq client over C{agent} whose request bodies are written at once
    (treq's default producer would go through the global reactor).
    """
    return HTTPClient(agent, data_to_body_producer=BytesProducer)


async def fetch(client: HTTPClient, method: str, url: str, *, json: Any = None, data: bytes | str | None = None,
                headers: Mapping[str, str] | None = None, params: Any = None) -> HttpReply:
    """
    Send one request with C{client} and read the whole reply.
    """
    options: dict[str, Any] = {"headers": dict(headers or {}), "params": params}
    if json is not None:
        options["json"] = json
    elif data is not None:
        options["data"] = data.encode("utf-8") if isinstance(data, str) else data
    response: IResponse = await client.request(method, url, **options)
    body = await treq.content(response)
    found = {name.decode("latin-1").lower(): ", ".join(v.decode("latin-1") for v in values)
             for name, values in response.headers.getAllRawHeaders()}
    return HttpReply(response.code, found, body)


def fetching(client: HTTPClient, method: str, url: str, **options: Any) -> Deferred[HttpReply]:
    """
    L{fetch}, as a Deferred (a test may await it or pass it to a cluster).
    """
    return Deferred.fromCoroutine(fetch(client, method, url, **options))
