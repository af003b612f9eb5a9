"""
A program run by micro.run that hosts service "slow" (answers after
SECONDS) and waits for ever, for tests of how it stops on a signal.

    python run_script.py SECONDS
"""

import sys

from twisted.internet import defer, task

import micro


async def main(reactor):
    seconds = float(sys.argv[1])

    async def slow(payload):
        print("call started", flush=True)
        await task.deferLater(reactor, seconds)
        return {"slept": payload}

    await micro.create_service(slow, "slow")
    print("serving", flush=True)
    try:
        await defer.Deferred()
    finally:
        print("main cleaned up", flush=True)


micro.run(main)
