# -*- test-case-name: tests.observe.test_probes -*-
"""
The operator's endpoints every micro server answers with C{GET}, whatever
it is (an instance, a registry): liveness, readiness and metrics, and who
may read what only the cluster may.

  - C{/_micro/live}: 200 as long as the reactor answers requests at all.
  - C{/_micro/ready}: 200 when the server is part of the cluster and
    takes work, 503 with the reason otherwise.
  - C{/_micro/metrics}: Prometheus text; in production it needs the
    registry token (L{authorized}) unless opened with C{--metrics-open}.

Probes never need the token: Kubernetes and load balancers have none.
"""

from __future__ import annotations

import base64
import hmac
from attrs import frozen
from twisted.web.iweb import IRequest

from micro._http.respond import write_error, write_json
from micro._kernel.errors import HttpError
from micro._kernel.protocol import TOKEN_HEADER
from micro._observe.exposition import MetricSet

REALM = b'Basic realm="micro", charset="UTF-8"'


def live(request: IRequest) -> bytes:
    return write_json(request, {"status": "live"})


def ready(request: IRequest, problem: str | None) -> bytes:
    """
    200 if there is no C{problem}, else a 503 that says it.
    """
    if problem is None:
        return write_json(request, {"status": "ready"})
    return write_json(request, {"status": "not ready", "reason": problem}, 503)


def offered_token(request: IRequest) -> bytes | None:
    """
    The token a request offers: the C{Micro-Registry-Token} header, a
    bearer token (Prometheus' C{authorization} setting), or the password
    of HTTP Basic authentication (a browser's prompt; any user name).
    """
    token: bytes | None = request.getHeader(TOKEN_HEADER)
    if token is not None:
        return token
    scheme, _, value = (request.getHeader(b"authorization") or b"").partition(b" ")
    if scheme.lower() == b"bearer":
        return value.strip()
    if scheme.lower() == b"basic":
        try:
            return base64.b64decode(value.strip(), validate=True).partition(b":")[2]
        except ValueError:
            return None
    return None


@frozen
class Guard:
    """
    Who may read the operator's pages that show the cluster's insides.

    @ivar token: The registry token, or C{None} (then anyone may).
    @ivar production: Whether this process runs with C{MICRO_ENV=production};
        outside production the pages are open, as the read commands are.
    """

    token: str | None
    production: bool

    def refusal(self, request: IRequest, what: str, is_open: bool = False) -> bytes | None:
        """
        The 401 or 403 reply that keeps C{request} out, or C{None} if it may read.
        """
        if is_open or not self.production or not self.token:
            return None
        offered = offered_token(request)
        if offered is None:
            request.setHeader(b"www-authenticate", REALM)
            return write_error(request, HttpError(401, f"{what} needs the registry token (header "
                                                       "Micro-Registry-Token, a bearer token, or as the password)"))
        if not hmac.compare_digest(offered, self.token.encode("utf-8")):
            request.setHeader(b"www-authenticate", REALM)
            return write_error(request, HttpError(403, f"{what} refused: wrong registry token"))
        return None


def metrics(request: IRequest, metric_set: MetricSet | None, guard: Guard, is_open: bool) -> bytes:
    """
    The metrics page, or why there is none (404: not switched on; 501:
    prometheus-client missing).
    """
    refused = guard.refusal(request, "metrics", is_open)
    if refused is not None:
        return refused
    if metric_set is None:
        return write_error(request, HttpError(404, "metrics are off here; start with --metrics "
                                                   "(twistd) or metrics=True"))
    try:
        body, content_type = metric_set.render(request.getHeader(b"accept"))
    except HttpError as e:
        return write_error(request, e)
    request.setHeader(b"content-type", content_type)
    return body
