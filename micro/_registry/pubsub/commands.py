# -*- test-case-name: tests.registry.pubsub.test_hub -*-
"""
The registry commands of pub/sub: C{publish}, C{subscribe}, C{unsubscribe}.

    {"publish": {"channel": "orders", "message": {...}, "timeout": 5}}
    {"subscribe": {"channel": "orders.*", "location": "http://host:port", "node": "id"}}
    {"unsubscribe": {"channel": "orders.*", "location": "http://host:port"}}

All three change state, so all three need the registry token when the
registry has one.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from twisted.internet.defer import Deferred

from micro._kernel.channels import check_channel, check_pattern
from micro._kernel.errors import HttpError
from micro._kernel.protocol import MAX_DELIVERY_TIMEOUT
from micro._kernel.validation import check_location
from micro._registry.commands import RegistryCommands, _integer, _node_id, _number, _object, _required
from micro._registry.pubsub.hub import PubSubHub
from micro._registry.pubsub.outbox import Outcome

PUBLISH_KEYS = frozenset({"channel", "message", "timeout", "publisher", "seq"})
SUBSCRIBE_KEYS = frozenset({"channel", "location", "node"})
UNSUBSCRIBE_KEYS = frozenset({"channel", "location"})


def _only(argument: dict[str, Any], keys: frozenset[str], command: str) -> None:
    unknown = sorted(str(k) for k in argument if k not in keys)
    if unknown:
        raise HttpError(400, f"{command} does not take {', '.join(repr(k[:40]) for k in unknown)}; "
                             f"it takes {', '.join(sorted(keys))}")


@frozen
class PubSubCommands:
    """
    Parse and check pub/sub commands, then hand them to a L{PubSubHub}.
    """

    hub: PubSubHub

    def install(self, commands: RegistryCommands) -> None:
        commands.add("publish", self.publish, protected=True)
        commands.add("subscribe", self.subscribe, protected=True)
        commands.add("unsubscribe", self.unsubscribe, protected=True)

    def publish(self, argument: Any) -> Deferred[Outcome]:
        argument = _object(argument, "publish", '{"channel": "orders", "message": {...}}')
        _only(argument, PUBLISH_KEYS, "publish")
        channel = check_channel(argument.get("channel"))
        if "message" not in argument:
            raise HttpError(400, "publish needs 'message' (any JSON value, null included)")
        timeout = argument.get("timeout")
        if timeout is not None:
            timeout = _number(timeout, "publish timeout")
            if not 0 < timeout <= MAX_DELIVERY_TIMEOUT:
                raise HttpError(400, f"publish timeout must be above 0 and at most {MAX_DELIVERY_TIMEOUT:g} seconds")
        publisher, seq = argument.get("publisher"), argument.get("seq")
        if (publisher is None) != (seq is None):
            raise HttpError(400, "publish takes 'publisher' and 'seq' together, or neither")
        if publisher is not None:
            publisher = _node_id(publisher)
            seq = _integer(seq, "publish seq")
        return self.hub.publish(channel, argument["message"], timeout=timeout, publisher=publisher, seq=seq)

    def subscribe(self, argument: Any) -> dict[str, Any]:
        argument = _object(argument, "subscribe", '{"channel": "orders", "location": "http://host:port", "node": "id"}')
        _only(argument, SUBSCRIBE_KEYS, "subscribe")
        pattern = check_pattern(argument.get("channel"))
        location = check_location(_required(argument, "location", "subscribe"))
        node = _node_id(_required(argument, "node", "subscribe"))
        return self.hub.subscribe(pattern, location, node)

    def unsubscribe(self, argument: Any) -> dict[str, Any]:
        argument = _object(argument, "unsubscribe", '{"channel": "orders", "location": "http://host:port"}')
        _only(argument, UNSUBSCRIBE_KEYS, "unsubscribe")
        pattern = check_pattern(argument.get("channel"))
        location = check_location(_required(argument, "location", "unsubscribe"))
        return self.hub.unsubscribe(pattern, location)
