# -*- test-case-name: tests.app.test_api -*-
"""
The module-level API: functions that act on the process's default node.
"""

from __future__ import annotations

from typing import Any, Callable

import treq
from attrs import evolve
from treq.client import HTTPClient
from twisted.internet.defer import Deferred, fail
from twisted.web.http_headers import Headers
from twisted.web.iweb import IResponse

from micro._app.default import default_node, observability, started_registry
from micro._app.default import shutdown as shut_down_default
from micro._calls.decoding import decode_reply, transport_error
from micro._http.client import BytesProducer, FullResponse
from micro._kernel.codec import encode_value
from micro._kernel.observer import Observability
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._node.cache.service import EVICTION_INTERVAL, EXPIRE_TIME, CacheService
from micro._node.instance import ServiceInstance
from micro._node.pubsub.service import PubSubService
from micro._node.routes.declared import Route
from micro._registry.server import RegistryServer, start_registry
from micro._registry.state import DEFAULT_TTL


def create_service(fn: Callable[..., Any], name: str | None = None, *, home: str | None = None) -> Deferred[ServiceInstance]:
    """
    Host C{fn} as a service; see L{Node.create_service}.
    """
    try:
        return Deferred.fromCoroutine(default_node().create_service(fn, name, home=home))
    except Exception:
        return fail()


def create_route(path: str, fn_or_service_name: Callable[..., Any] | str,
                 data_type: str = "dynamic") -> Deferred[Route]:
    """
    Route HTTP requests on C{path} at the registry to a service; see
    L{Node.create_route}.
    """
    try:
        return Deferred.fromCoroutine(default_node().create_route(path, fn_or_service_name, data_type))
    except Exception:
        return fail()


def call_service(name: str, payload: Any = None, timeout: float = DEFAULT_TIMEOUT, *, retries: int = 0) -> Deferred[Any]:
    """
    Call service C{name} with C{payload}; see L{Node.call}.
    """
    return default_node().call(name, payload, timeout=timeout, retries=retries)


def create_pubsub_service() -> Deferred[PubSubService]:
    """
    A pub/sub client for this process; see L{PubSubService}.
    """
    return default_node().create_pubsub_service()


def cache_service(expire_time: float | None = EXPIRE_TIME, eviction_interval: float | None = EVICTION_INTERVAL,
                  *, max_entries: int | None = None, name: str = "cache") -> Deferred[CacheService]:
    """
    Host the built-in cache as service C{name}: default TTL C{expire_time}
    and eviction every C{eviction_interval}, in milliseconds (C{None}:
    never); at most C{max_entries} keys, least recently used out first.
    """
    return default_node().cache_service(expire_time, eviction_interval, max_entries=max_entries, name=name)


def registry_server(url: str | None = None, *, ttl: float = DEFAULT_TTL, token: str | None = None,
                    store: str | None = None, metrics: bool | None = None) -> Deferred[RegistryServer]:
    """
    Start a registry in this process at C{url} (default: C{MICRO_REGISTRY_URL}).

    The first registry started in a process is the one its services join
    (with its token), unless the default node already joined another: so
    C{registry_server("http://127.0.0.1:0")} works without setting
    C{MICRO_REGISTRY_URL} to the port it picked.

    @param ttl: Seconds an instance stays registered without renewing its lease.
    @param token: The registry token (default: C{MICRO_REGISTRY_TOKEN}).
    @param store: Where the cluster's state is kept: C{"memory"} (the
        default), or a C{redis://} URL whose state this registry shares
        with every registry on it; fires once the registry holds it.
    @param metrics: Serve Prometheus metrics at C{/_micro/metrics}
        (default: as C{micro.run(main, metrics=...)} said).
    """
    from twisted.internet import reactor

    observing = observability()
    if metrics is not None:
        observing = evolve(observing or Observability(), metrics=metrics)
    try:
        server = start_registry(reactor, url, ttl=ttl, token=token, store=store, observability=observing)
    except Exception:
        return fail()
    d = server.loaded.addCallback(lambda _: started_registry(server, token))
    return d.addCallback(lambda _: server)



def http_request(url: str, body: Any = None, *, timeout: float = DEFAULT_TIMEOUT) -> Deferred[Any]:
    """
    POST C{body} as JSON to C{url} and decode the reply; an error status
    raises L{HttpError} with the reply's status and message.

    Sent with treq, over the default node's connection pool.
    """
    try:
        payload, content_type = encode_value(body)
    except TypeError as e:
        return fail(TypeError(f"body for {url} is {e}"))
    http = default_node().http
    # BytesProducer writes the body at once; the default producer would go
    # through the global reactor's cooperator.
    client = HTTPClient(http.agent, data_to_body_producer=BytesProducer)
    sent = client.post(url, data=payload, headers=Headers({b"content-type": [content_type]}))
    d = http.with_deadline(sent.addCallback(_read_whole), timeout)
    return d.addCallbacks(decode_reply, transport_error, callbackArgs=(url,), errbackArgs=(f"request to {url}",))


def _read_whole(response: IResponse) -> Deferred[FullResponse]:
    return treq.content(response).addCallback(lambda body: FullResponse(response.code, response.headers, body))


def shutdown() -> Deferred[None]:
    """
    Stop this process's default node gracefully (its services unregister
    and finish their calls), then every registry started here with
    L{registry_server}, and forget them: the next module-level call starts
    afresh.  C{micro.run} does this at the end; tests that use the
    module-level functions on real sockets call it in their teardown.
    """
    return Deferred.fromCoroutine(shut_down_default())
