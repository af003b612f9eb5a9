"""
micro watch against an in-memory cluster.
"""

from __future__ import annotations

import json

from micro.testing import MemoryCluster
from tests._cli import Shell
from tests._helpers import waiting


def test_watch_prints_the_table_then_each_change(cluster: MemoryCluster) -> None:
    """
    The instances listed now ('='), then '+' and '-' as they come and go,
    and the registry keeps no node for the watcher.
    """
    stack = cluster.stacks[0]
    node = cluster.node()
    first = cluster.result(node.create_service(lambda p: p, "alpha"))
    nodes = {n.id for n in stack.state.nodes()}
    running = Shell(cluster).start("watch", "--count", "2")
    cluster.settle()
    second = cluster.result(node.create_service(lambda p: p, "beta"))
    assert waiting(running.d)
    cluster.result(first.terminate())
    outcome = running.outcome(cluster)
    assert outcome.status == 0
    assert [line.split()[1:] for line in outcome.lines] == [
        ["=", "alpha", first.location], ["+", "beta", second.location], ["-", "alpha", first.location]]
    assert outcome.stderr.startswith("watching the registry at http://registry.test:9999 (version 1)")
    assert {n.id for n in stack.state.nodes()} == nodes


def test_watch_json_and_a_process_that_dies(cluster: MemoryCluster) -> None:
    """
    --json gives one document per change; a killed process shows as its instances leaving.
    """
    victim = cluster.node(home="http://victim.test")
    instance = cluster.result(victim.create_service(lambda p: p, "alpha"))
    running = Shell(cluster).start("watch", "-n", "1", "--json")
    cluster.settle()
    cluster.kill("http://victim.test")
    documents = [json.loads(line) for line in running.outcome(cluster).lines]
    assert [(d["op"], d["service"], d["location"]) for d in documents] == [
        ("=", "alpha", instance.location), ("-", "alpha", instance.location)]
    assert documents[1]["version"] == documents[0]["version"] + 1


def test_watch_reports_a_registry_restart_and_what_changed(cluster: MemoryCluster) -> None:
    """
    While the registry is away, watch says so once and tries again; a
    restarted registry is reported, and only real differences are shown
    (the node registering its instance again is none).
    """
    stack = cluster.stacks[0]
    node = cluster.node()
    instance = cluster.result(node.create_service(lambda p: p, "alpha"))
    running = Shell(cluster).start("watch", "--count", "1")
    cluster.settle()
    cluster.stop_registry(stack)
    cluster.advance(3)
    cluster.registry()
    cluster.advance(3)  # the node registers its instance again
    assert waiting(running.d)
    added = cluster.result(node.create_service(lambda p: p, "beta"))
    outcome = running.outcome(cluster)
    assert [line.split()[1:] for line in outcome.lines] == [["=", "alpha", instance.location],
                                                            ["+", "beta", added.location]]
    notes = outcome.stderr.splitlines()
    assert notes[1].startswith("micro: the connection to the registry at http://registry.test:9999 broke")
    assert notes[1].endswith("trying again every 1s")
    assert notes[2:3] == ["the registry at http://registry.test:9999 answers again"]
    assert notes[3].startswith("the registry restarted (epoch ") and len(notes) == 4
