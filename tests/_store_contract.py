"""
The contract of a store, as cases that run the same against the memory
store (tests/registry/store/test_contract.py, fake clock) and the Redis
store (tests/integration/test_redis_store.py, a real redis-server).

Each case drives two registries sharing one store through a L{Harness}
and checks both of their views.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from attrs import define
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock

from micro._kernel.errors import HttpError
from micro._registry.stack import RegistryStack
from micro._registry.store.interface import Entry
from micro._registry.store.memory import MemoryStore

BASES = (9999, 10001)  # the ports the two registries listen on
MEMORY_TTL = 4.0


@define
class Harness:
    """
    Two registries over one store, and time.
    """

    stacks: list[RegistryStack]
    ttl: float
    _sleep: Callable[[float], Deferred[None]]
    _caught_up: Callable[[], Awaitable[None]]

    async def change(self, i: int, entry: Entry) -> Any:
        return await self.stacks[i].store.change(entry)

    async def refused(self, i: int, entry: Entry) -> HttpError:
        try:
            await self.stacks[i].store.change(entry)
        except HttpError as e:
            return e
        raise AssertionError(f"{entry} was not refused")

    async def allocate(self, i: int, home: str) -> str:
        return await self.stacks[i].store.allocate(home)

    async def wait(self, seconds: float) -> None:
        await self._sleep(seconds)

    def view(self, i: int) -> dict[str, Any]:
        stack = self.stacks[i]
        snapshot = stack.replica.snapshot()
        snapshot["table"] = stack.state.table()
        snapshot["routes"] = sorted(snapshot["routes"])
        snapshot["subscriptions"] = sorted(snapshot["subscriptions"])
        return snapshot

    async def same(self) -> dict[str, Any]:
        """
        Once both views caught up with the store: the one view they both are.
        """
        await self._caught_up()
        first, second = self.view(0), self.view(1)
        assert first == second
        return first


def memory_harness() -> Harness:
    """
    Two registries in this process sharing one memory store, on a fake clock.
    """
    clock = MemoryReactorClock()
    store = MemoryStore(clock, MEMORY_TTL)
    stacks = [RegistryStack.build(clock, ttl=MEMORY_TTL, store=store) for _ in BASES]
    for stack, port in zip(stacks, BASES):
        stack.listening_on(port)

    def sleep(seconds: float) -> Deferred[None]:
        clock.advance(seconds)
        return succeed(None)

    async def caught_up() -> None:
        pass

    return Harness(stacks, MEMORY_TTL, sleep, caught_up)


def reg(service: str, location: str, node: str | None) -> Entry:
    return {"op": "register", "service": service, "location": location, "node": node}


def unreg(service: str, location: str) -> Entry:
    return {"op": "unregister", "service": service, "location": location}


def route(path: str, service: str, node: str | None, data_type: str = "dynamic") -> Entry:
    return {"op": "route+", "path": path, "service": service, "dataType": data_type, "node": node}


def unroute(path: str, node: str | None) -> Entry:
    return {"op": "route-", "path": path, "node": node}


def sub(pattern: str, location: str, node: str) -> Entry:
    return {"op": "sub+", "pattern": pattern, "location": location, "node": node}


def unsub(pattern: str, location: str) -> Entry:
    return {"op": "sub-", "pattern": pattern, "location": location}


def evict(node: str) -> Entry:
    return {"op": "evict", "node": node, "why": "test"}


async def registrations_reach_both_views_in_order(h: Harness) -> None:
    """
    Instances registered through either registry are in both views, in registration order, at the same versions.
    """
    versions = [await h.change(0, reg("a", "http://h:1", "n1")), await h.change(1, reg("a", "http://h:2", "n2")),
                await h.change(0, reg("b", "http://h:3", "n1"))]
    assert versions == [1, 2, 3]
    view = await h.same()
    assert view["table"] == {"a": ["http://h:1", "http://h:2"], "b": ["http://h:3"]}
    assert view["version"] == 3 and view["position"] == 3
    assert h.stacks[1].state.changes_since(1) == [("+", "a", "http://h:2"), ("+", "b", "http://h:3")]


async def refusals_change_nothing(h: Harness) -> None:
    """
    A location taken by another service is a 409, an unknown instance a 404; registering again changes nothing.
    """
    await h.change(0, reg("a", "http://h:1", "n1"))
    conflict = await h.refused(1, reg("b", "http://h:1", "n2"))
    assert (conflict.status, conflict.message) == (409, "http://h:1 already hosts service 'a'")
    missing = await h.refused(1, unreg("a", "http://h:2"))
    assert (missing.status, missing.message) == (404, "no instance of 'a' is registered at http://h:2")
    assert await h.change(1, reg("a", "http://h:1", "n1")) == 1
    assert await h.change(1, unreg("a", "http://h:1")) == 2
    view = await h.same()
    assert view["table"] == {} and view["version"] == 2


async def an_instance_moves_to_the_node_that_registers_it_again(h: Harness) -> None:
    """
    The same location registered by another node moves to it (no new version) and its subscriptions end.
    """
    await h.change(0, reg("a", "http://h:1", "n1"))
    await h.change(0, sub("orders", "http://h:1", "n1"))
    assert await h.change(1, reg("a", "http://h:1", "n2")) == 1
    view = await h.same()
    assert view["instances"] == [["a", "http://h:1", "n2", 1]] and view["subscriptions"] == []
    await h.change(0, evict("n1"))
    assert (await h.same())["table"] == {"a": ["http://h:1"]}


async def routes_follow_their_claims(h: Harness) -> None:
    """
    Route claims: owners add up, a new target replaces the route, a claim withdrawn leaves others, 404 for none.
    """
    added = await h.change(0, route("/api/*", "users", "n1"))
    assert added == {"route": "/api/*", "service": "users", "dataType": "dynamic"}
    await h.change(1, route("/api/*", "users", "n2"))
    await h.change(1, route("/x", "a", None))
    replaced = await h.change(0, route("/x", "b", "n1", "text/plain"))
    assert replaced["replaced"] == {"path": "/x", "service": "a", "dataType": "dynamic"}
    assert await h.change(0, unroute("/api/*", "n1")) == {"unregistered": "/api/*", "removed": False}
    missing = await h.refused(1, unroute("/none", None))
    assert (missing.status, missing.message) == (404, "no route is registered at /none")
    view = await h.same()
    assert view["routes"] == [["/api/*", "users", "dynamic", ["n2"], False], ["/x", "b", "text/plain", ["n1"], False]]
    assert await h.change(1, unroute("/api/*", "n2")) == {"unregistered": "/api/*", "removed": True}
    assert [r[0] for r in (await h.same())["routes"]] == ["/x"]


async def subscriptions_hang_on_their_instance(h: Harness) -> None:
    """
    Only a node's own instance may subscribe; 'after' is the position before; subscriptions end with the instance.
    """
    await h.change(0, reg("_micro.subscriber", "http://h:5", "n1"))
    wrong = await h.refused(1, sub("orders", "http://h:5", "n2"))
    assert wrong.status == 400 and "not a registered instance of node 'n2'" in wrong.message
    reply = await h.change(1, sub("orders.*", "http://h:5", "n1"))
    assert reply["after"] == 1 and reply["subscribed"] == "orders.*"
    assert (await h.change(0, sub("orders.*", "http://h:5", "n1")))["after"] == 2
    await h.same()
    assert h.stacks[0].pubsub.subscribers("orders.paid") == ["http://h:5"]
    assert h.stacks[1].pubsub.subscribers("orders.paid") == ["http://h:5"]
    await h.change(0, unreg("_micro.subscriber", "http://h:5"))
    view = await h.same()
    assert view["subscriptions"] == [] and h.stacks[1].pubsub.subscribers("orders.paid") == []
    missing = await h.refused(1, unsub("orders.*", "http://h:5"))
    assert (missing.status, missing.message) == (404, "http://h:5 has no subscription to channel 'orders.*'")


async def an_evicted_node_takes_everything_it_held(h: Harness) -> None:
    """
    Evicting a node removes its instances, its route claims (shared and pinned routes stay) and its subscriptions.
    """
    await h.change(0, reg("a", "http://h:1", "n1"))
    await h.change(1, reg("b", "http://h:2", "n1"))
    await h.change(0, reg("a", "http://h:3", "n2"))
    await h.change(0, sub("orders", "http://h:1", "n1"))
    await h.change(0, route("/r", "a", "n1"))
    await h.change(1, route("/s", "a", "n1"))
    await h.change(1, route("/s", "a", "n2"))
    await h.change(0, route("/p", "a", None))
    await h.change(0, route("/p", "a", "n1"))
    await h.change(1, evict("n1"))
    view = await h.same()
    assert view["table"] == {"a": ["http://h:3"]} and view["version"] == 5
    assert view["routes"] == [["/p", "a", "dynamic", [], True], ["/s", "a", "dynamic", ["n2"], False]]
    assert view["subscriptions"] == []
    assert h.stacks[0].state.node("n1") is None and h.stacks[1].state.node("n1") is None


async def ports_are_never_handed_out_twice(h: Harness) -> None:
    """
    setup through either registry skips ports in use, handed out, or listened on by a registry; freed ones return.
    """
    first = await h.allocate(0, "http://h:10000")
    second = await h.allocate(1, "http://h:10000")
    assert (first, second) == ("http://h:10000", "http://h:10002")
    await h.change(0, reg("a", first, "n1"))
    assert await h.allocate(1, "http://h:10000") == "http://h:10003"
    await h.change(1, unreg("a", first))
    await h.same()
    assert await h.allocate(0, "http://h:10000") == first


async def expired_leases_are_reaped_once(h: Harness) -> None:
    """
    A node that stops renewing is evicted after its lease, once, in both views; a renewing one stays.
    """
    await h.change(0, reg("a", "http://h:1", "n1"))
    await h.change(1, reg("a", "http://h:2", "n2"))
    steps = 8
    for _ in range(steps):
        h.stacks[1].state.renew("n2")
        await h.wait(h.ttl * 2 / steps)
    await h.wait(h.ttl / 2)
    view = await h.same()
    assert view["table"] == {"a": ["http://h:2"]}
    assert view["version"] == 3 and view["position"] == 3


CASES: list[Callable[[Harness], Awaitable[None]]] = [
    registrations_reach_both_views_in_order,
    refusals_change_nothing,
    an_instance_moves_to_the_node_that_registers_it_again,
    routes_follow_their_claims,
    subscriptions_hang_on_their_instance,
    an_evicted_node_takes_everything_it_held,
    ports_are_never_handed_out_twice,
    expired_leases_are_reaped_once,
]
