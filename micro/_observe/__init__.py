"""
Observing a process: Prometheus metrics, OpenTelemetry spans, access
logs, log output, and the framework endpoints operators use (probes and
metrics).  micro's hot paths reach it only through the
L{micro._kernel.observer.Observer} interface, and only when something is
switched on.

prometheus-client and opentelemetry-api are optional (the extras
C{metrics} and C{otel}): nothing here imports them until they are used.

May import: the kernel, the HTTP plumbing.
"""
