# -*- test-case-name: tests.node.test_route_traffic -*-
"""
What a handler may know about the HTTP request that invoked it.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from attrs import frozen
from twisted.web.iweb import IRequest

from micro._kernel.propagation import Propagation


@frozen
class RequestInfo:
    """
    The request behind a call, as C{ctx.request}.

    @ivar method: C{"GET"}, C{"POST"}, ...
    @ivar path: The path, without the query string.
    @ivar url: The URL the client asked for, as seen by the instance.
    @ivar query: Query parameters; each name maps to its list of values.
    @ivar headers: Header names in lower case; repeated headers are joined
        with C{", "}.
    """

    method: str
    path: str
    url: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def __repr__(self) -> str:
        return f"RequestInfo({self.method} {self.url})"

    @classmethod
    def from_request(cls, request: IRequest) -> RequestInfo:
        headers = {
            name.decode("latin-1").lower(): ", ".join(v.decode("latin-1") for v in values)
            for name, values in request.requestHeaders.getAllRawHeaders()
        }
        uri = request.uri.decode("utf-8", "replace")
        query = uri.split("?", 1)[1] if "?" in uri else ""
        return cls(
            method=request.method.decode("ascii", "replace"),
            path=request.path.decode("utf-8", "replace"),
            url=uri,
            query=parse_qs(query, keep_blank_values=True),
            headers=headers,
        )

    @classmethod
    def in_process(cls, location: str, content_type: bytes, propagation: Propagation) -> RequestInfo:
        """
        The request an in-process call stands for: a POST to the instance,
        with the headers it would carry over HTTP.
        """
        return cls("POST", "/", location + "/", {},
                   {"content-type": content_type.decode("ascii"), **propagation.text_headers()})
