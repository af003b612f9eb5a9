# -*- test-case-name: tests.kernel.test_protocol -*-
"""
The wire vocabulary that the registry and the nodes share: header names,
framework paths and the timeouts both ends must agree on.

Neither side defines these for the other: each imports them from here, so
a registry process never loads node code to learn a header name, nor the
reverse.

Locations and URLs travel as plain C{str} (C{"http://host:port"}), joined
by hand: parsing every one with C{hyperlink} on the hot path costs more
than the call it addresses.
"""

from __future__ import annotations

# The shared secret of a cluster, on commands and on deliveries.
TOKEN_HEADER = b"micro-registry-token"

# A call names the service it is meant for; an instance of another service
# (one that took over the port of a departed instance) refuses it with 421,
# naming itself in the same header, without running anything.
SERVICE_HEADER = b"micro-service"
MISDIRECTED = 421

# Route traffic proxied by the registry carries this header, whose value is
# the route's data type; it keeps route traffic off an instance's call path.
ROUTE_HEADER = b"x-micro-route"

# The correlation id of the request a call, a delivery or route traffic is
# part of (see micro._kernel.propagation): taken from the client, or made
# where a request enters the cluster without one.
REQUEST_ID_HEADER = b"x-request-id"

# The W3C trace context it belongs to (https://www.w3.org/TR/trace-context/),
# carried the same way, with or without OpenTelemetry.
TRACEPARENT_HEADER = b"traceparent"
TRACESTATE_HEADER = b"tracestate"

# Endpoints of micro itself on every instance.
FRAMEWORK_PREFIX = b"/_micro/"
HEALTH_PATH = "/_micro/health"
DELIVERY_PATH = "/_micro/deliver"

# A registry that cannot serve its nodes now (cut off from its shared
# store) answers their commands with a 503 whose message says this; a node
# that knows other registries moves to the next one.
NOT_READY = "this registry is not ready"

# Endpoints for operators, on every instance and on the registry (GET):
# probes for load balancers and Kubernetes (live: the process answers;
# ready: registered, holding a table, not draining), Prometheus metrics,
# and on the registry the dashboard page and what it reads.
LIVE_PATH = "/_micro/live"
READY_PATH = "/_micro/ready"
METRICS_PATH = "/_micro/metrics"
UI_PATH = "/_micro/ui"

# One change to the table of services, as watch replies carry it:
# ("+" or "-", service, location).
Change = tuple[str, str, str]

# Seconds a call may take, failovers included, unless the caller says.
DEFAULT_TIMEOUT = 30.0

# Seconds a pub/sub delivery may take by default, and at most.
DELIVERY_TIMEOUT = 5.0
MAX_DELIVERY_TIMEOUT = 60.0

# Servers drop a connection idle for this long; clients keep idle pooled
# connections for half of it, so that they never reuse one just as the
# server closes it.
IDLE_TIMEOUT = 60.0
