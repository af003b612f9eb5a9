# -*- test-case-name: tests.registry.pubsub.test_hub -*-
"""
The registry commands of pub/sub: C{publish}, C{subscribe}, C{unsubscribe},
and C{channels} to read the subscriptions.

    {"publish": {"channel": "orders", "message": {...}, "timeout": 5}}
    {"subscribe": {"channel": "orders.*", "location": "http://host:port", "node": "id"}}
    {"unsubscribe": {"channel": "orders.*", "location": "http://host:port"}}
    {"channels": true}

The first three change state, so they need the registry token when the
registry has one; C{channels} only reads.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from twisted.internet.defer import Deferred

from micro._kernel.channels import check_channel, check_pattern
from micro._kernel.errors import InvalidArgument
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import MAX_DELIVERY_TIMEOUT
from micro._kernel.validation import check_location
from micro._registry.arguments import as_object, integer, node_id, number, only, required
from micro._registry.commands import RegistryCommands
from micro._registry.pubsub.hub import PubSubHub
from micro._registry.pubsub.outbox import Outcome
from micro._registry.store.interface import ClusterStore

PUBLISH_KEYS = frozenset({"channel", "message", "timeout", "publisher", "seq"})
SUBSCRIBE_KEYS = frozenset({"channel", "location", "node"})
UNSUBSCRIBE_KEYS = frozenset({"channel", "location"})


@frozen
class PubSubCommands:
    """
    Parse and check pub/sub commands, then hand them to a L{PubSubHub}.
    """

    hub: PubSubHub
    store: ClusterStore

    def install(self, commands: RegistryCommands) -> None:
        commands.add("publish", self.publish, protected=True, passes_on=True)
        commands.add("subscribe", self.subscribe, protected=True)
        commands.add("unsubscribe", self.unsubscribe, protected=True)
        commands.add("channels", self.channels)

    def channels(self, argument: Any = None) -> list[dict[str, Any]]:
        """
        Every subscribed channel (or pattern) and the subscriber locations.
        """
        return [{"channel": channel, "subscribers": locations}
                for channel, locations in sorted(self.hub.channels().items())]

    def publish(self, argument: Any, propagation: Propagation) -> Deferred[Outcome]:
        argument = as_object(argument, "publish", '{"channel": "orders", "message": {...}}')
        only(argument, PUBLISH_KEYS, "publish")
        channel = check_channel(argument.get("channel"))
        if "message" not in argument:
            raise InvalidArgument("publish needs 'message' (any JSON value, null included)")
        timeout = argument.get("timeout")
        if timeout is not None:
            timeout = number(timeout, "publish timeout")
            if not 0 < timeout <= MAX_DELIVERY_TIMEOUT:
                raise InvalidArgument(f"publish timeout must be above 0 and at most {MAX_DELIVERY_TIMEOUT:g} seconds")
        publisher, seq = argument.get("publisher"), argument.get("seq")
        if (publisher is None) != (seq is None):
            raise InvalidArgument("publish takes 'publisher' and 'seq' together, or neither")
        if publisher is not None:
            publisher = node_id(publisher)
            seq = integer(seq, "publish seq")
        return self.hub.publish(channel, argument["message"], timeout=timeout, publisher=publisher, seq=seq,
                                propagation=propagation)

    def subscribe(self, argument: Any) -> Deferred[dict[str, Any]]:
        argument = as_object(argument, "subscribe", '{"channel": "orders", "location": "http://host:port", "node": "id"}')
        only(argument, SUBSCRIBE_KEYS, "subscribe")
        pattern = check_pattern(argument.get("channel"))
        location = check_location(required(argument, "location", "subscribe"))
        node = node_id(required(argument, "node", "subscribe"))
        return self.store.change({"op": "sub+", "pattern": pattern, "location": location, "node": node})

    def unsubscribe(self, argument: Any) -> Deferred[dict[str, Any]]:
        argument = as_object(argument, "unsubscribe", '{"channel": "orders", "location": "http://host:port"}')
        only(argument, UNSUBSCRIBE_KEYS, "unsubscribe")
        pattern = check_pattern(argument.get("channel"))
        location = check_location(required(argument, "location", "unsubscribe"))
        return self.store.change({"op": "sub-", "pattern": pattern, "location": location})
