"""
The service bench/bench_peers.py calls: add two numbers, the call every
peer's benchmark makes (Moleculer's math.add).
"""

import micro


@micro.service
def add(payload):
    return payload["a"] + payload["b"]
