"""
The echo service with spans recorded (bench/observed.py); run it with
--metrics for metrics too.
"""

import bench.observed  # noqa: F401  (sets the tracer provider first)
from bench.echo_app import echo  # noqa: F401  (the marked service)
