"""
The subscriber the pub/sub benchmark starts ten of (twistd micro-service
--module bench.pubsub_app): it answers each message with the wall-clock
time it received it, so the publisher can measure delivery latency.
"""

import time

import micro


@micro.subscribe("bench")
def received(message):
    return time.time()


@micro.subscribe("bench.ping")
def ping(message):
    return True
