"""
The service the benchmarks call: it echoes its payload, like the bare server.
"""

import micro


@micro.service
def echo(payload):
    return {"echo": payload}
