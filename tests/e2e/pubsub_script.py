"""
A subscriber process for end-to-end tests, driven through standard input.

    python pubsub_script.py CHANNEL TAG...

subscribes one handler per TAG to CHANNEL (each answers {"tag", "pid"}),
prints {"ready": {tag: subscription id}}, then obeys lines on standard
input, printing one JSON line after each:

    unsubscribe TAG    ends that handler's subscription
    terminate          terminates the pub/sub service (the process stays)
    exit               leaves
"""

import json
import os
import sys

from twisted.internet import stdio
from twisted.internet.defer import Deferred
from twisted.protocols.basic import LineReceiver

import micro


def say(document):
    print(json.dumps(document), flush=True)


class Commands(LineReceiver):
    delimiter = b"\n"

    def __init__(self, pubsub, channel, ids, done):
        self.pubsub, self.channel, self.ids, self.done = pubsub, channel, ids, done

    def lineReceived(self, line):
        words = line.decode().split()
        if words[0] == "unsubscribe":
            d = self.pubsub.unsubscribe(self.channel, self.ids.pop(words[1]))
            d.addCallback(lambda _: say({"unsubscribed": words[1]}))
        elif words[0] == "terminate":
            self.pubsub.terminate().addCallback(lambda _: say({"terminated": True}))
        elif words[0] == "exit" and not self.done.called:
            self.done.callback(None)

    def connectionLost(self, reason=None):
        if not self.done.called:
            self.done.callback(None)


async def main(channel, tags):
    pubsub = await micro.create_pubsub_service()
    ids = {}
    for tag in tags:
        ids[tag] = await pubsub.subscribe(channel, lambda message, tag=tag: {"tag": tag, "pid": os.getpid()})
    say({"ready": ids})
    done = Deferred()
    stdio.StandardIO(Commands(pubsub, channel, ids, done))
    await done


if __name__ == "__main__":
    micro.run(lambda: main(sys.argv[1], sys.argv[2:]))
