"""
Integration fixtures: a registry and nodes on real sockets on 127.0.0.1,
in the test process, on the real reactor.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest_twisted
from attrs import define, field
from twisted.internet.task import deferLater

from micro._app.node import Node
from micro._kernel.config import Settings
from micro._registry.server import RegistryServer, start_registry


@define(eq=False)
class LiveCluster:
    """
    A registry listening on 127.0.0.1 and nodes that talk to it over TCP.
    """

    reactor: Any
    registry: RegistryServer
    nodes: list[Node] = field(factory=list)

    def node(self, **settings: Any) -> Node:
        node = Node.create(self.reactor, Settings(registry_url=self.registry.url,
                                                  service_url="http://127.0.0.1", **settings))
        self.nodes.append(node)
        return node

    async def stop(self) -> None:
        for node in self.nodes:
            await node.terminate()
        await self.registry.terminate()
        # Let closed connections finish closing, so their timers go away.
        await deferLater(self.reactor, 0.05)


@pytest_twisted.async_yield_fixture()
async def live() -> AsyncIterator[LiveCluster]:
    from twisted.internet import reactor

    cluster = LiveCluster(reactor, start_registry(reactor, "http://127.0.0.1:0"))
    yield cluster
    await cluster.stop()
