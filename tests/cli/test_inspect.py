"""
micro health, ls, nodes, routes, channels and lookup against an in-memory cluster.
"""

from __future__ import annotations

import json

from micro.testing import REGISTRY_URL, MemoryCluster
from tests._cli import Shell


def _two_services(cluster: MemoryCluster) -> tuple[str, str, str]:
    node = cluster.node()
    a = cluster.result(node.create_service(lambda p: p, "alpha"))
    b = cluster.result(node.create_service(lambda p: p, "alpha"))
    c = cluster.result(node.create_service(lambda p: p, "beta"))
    return a.location, b.location, c.location


def test_health_shows_each_registry(cluster: MemoryCluster) -> None:
    """
    health prints one row per registry: ready, with its counts.
    """
    _two_services(cluster)
    outcome = Shell(cluster).run("health")
    assert outcome.status == 0
    header, row = outcome.lines
    assert header.split()[:4] == ["REGISTRY", "STATUS", "EPOCH", "VERSION"]
    assert row.split()[:2] == [REGISTRY_URL, "ready"] and row.split()[4:8] == ["1", "1", "2", "3"]


def test_health_of_several_registries_says_which_cannot_be_reached(cluster: MemoryCluster) -> None:
    """
    With two registries, one down: a row for each, one line on stderr, status 1.
    """
    outcome = Shell(cluster).run("--registry", f"http://down.test:1,{REGISTRY_URL}", "--json", "health")
    assert outcome.status == 1
    down, up = (json.loads(line) for line in outcome.lines)
    assert down["registry"] == "http://down.test:1" and down["status"] == "unreachable"
    assert up["registry"] == REGISTRY_URL and up["status"] == "ready" and up["nodes"] == 0
    assert outcome.stderr == ("micro: cannot reach the registry at http://down.test:1 (connection refused); "
                              "is it running? (--registry or MICRO_REGISTRY_URL)\n")


def test_ls_counts_instances_per_service(cluster: MemoryCluster) -> None:
    """
    ls lists services in name order with how many instances each has.
    """
    _two_services(cluster)
    outcome = Shell(cluster).run("ls")
    assert outcome.lines == ["SERVICE  INSTANCES", "alpha            2", "beta             1"]
    assert json.loads(Shell(cluster).run("ls", "--json").text) == {"alpha": 2, "beta": 1}


def test_ls_long_shows_node_lease_and_health_of_each_instance(cluster: MemoryCluster) -> None:
    """
    ls -l adds each instance's location, node, lease age and what it says
    at /_micro/health (serving, calls in flight).
    """
    a, b, c = _two_services(cluster)
    node_id = cluster.stacks[0].state.instance_at(a).node  # type: ignore[union-attr]
    cluster.advance(0.5)
    outcome = Shell(cluster).run("--json", "ls", "-l")
    documents = [json.loads(line) for line in outcome.lines]
    assert [(d["service"], d["location"]) for d in documents] == [("alpha", a), ("alpha", b), ("beta", c)]
    assert all(d["node"] == node_id and d["status"] == "serving" and d["in_flight"] == 0 for d in documents)
    assert all(0.5 <= d["lease_age"] <= 2.0 for d in documents)
    human = Shell(cluster).run("ls", "-l", "beta")
    assert human.lines[0].split() == ["SERVICE", "LOCATION", "NODE", "LEASE", "AGE", "STATUS", "IN", "FLIGHT"]
    assert human.lines[1].split()[:3] == ["beta", c, node_id] and human.lines[1].split()[-2:] == ["serving", "0"]


def test_ls_long_marks_an_instance_that_does_not_answer(cluster: MemoryCluster) -> None:
    """
    An instance whose process hangs shows as unreachable, after the health check's timeout.
    """
    stuck = cluster.result(cluster.node(home="http://stuck.test").create_service(lambda p: p, "gamma"))
    cluster.freeze("http://stuck.test")
    running = Shell(cluster).start("--json", "ls", "-l", "gamma")
    cluster.advance(2.0)
    [document] = [json.loads(line) for line in running.outcome(cluster).lines]
    assert document["location"] == stuck.location and document["status"] == "unreachable"


def test_ls_of_an_unknown_service_is_a_404(cluster: MemoryCluster) -> None:
    """
    ls NAME for a service nobody registered: one line naming it, status 1.
    """
    outcome = Shell(cluster).run("ls", "ghost")
    assert (outcome.status, outcome.stdout) == (1, b"")
    assert outcome.stderr == "micro: 404: no service named 'ghost' is registered\n"


def test_nodes_lists_instances_lease_and_watching(cluster: MemoryCluster) -> None:
    """
    nodes: one row per node with its services, lease, watching and version.
    """
    _two_services(cluster)
    outcome = Shell(cluster).run("nodes")
    header, row = outcome.lines
    assert header.split() == ["NODE", "INSTANCES", "SERVICES", "LEASE", "AGE", "EXPIRES", "IN", "WATCHING", "VERSION"]
    assert "alpha x2, beta" in row and row.split()[-2:] == ["yes", "3"]
    [document] = [json.loads(line) for line in Shell(cluster).run("nodes", "--json").lines]
    assert [i["service"] for i in document["instances"]] == ["alpha", "alpha", "beta"]


def test_routes_lists_paths_services_and_instances(cluster: MemoryCluster) -> None:
    """
    routes: path, service, data type and how many instances serve it.
    """
    node = cluster.node()
    cluster.result(node.create_route("/api/users", lambda p: ["ann"]))
    cluster.result(node.create_route("/files/*", lambda p: b"", ))
    outcome = Shell(cluster).run("routes")
    assert [line.split() for line in outcome.lines] == [
        ["PATH", "SERVICE", "DATA", "TYPE", "INSTANCES"],
        ["/api/users", "route-api-users", "dynamic", "1"],
        ["/files/*", "route-files", "dynamic", "1"],
    ]


def test_channels_lists_subscribers(cluster: MemoryCluster) -> None:
    """
    channels: each channel with the number and locations of its subscribers.
    """
    node = cluster.node()
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("orders.*", lambda m: None))
    endpoint = node.pubsub.endpoint
    assert endpoint is not None
    outcome = Shell(cluster).run("channels")
    assert [line.split() for line in outcome.lines] == [["CHANNEL", "SUBSCRIBERS", "LOCATIONS"],
                                                        ["orders.*", "1", endpoint.location]]


def test_lookup_prints_one_location(cluster: MemoryCluster) -> None:
    """
    lookup NAME prints a location of NAME; an unknown name is a 404.
    """
    a, b, _ = _two_services(cluster)
    assert Shell(cluster).run("lookup", "alpha").text.strip() in (a, b)
    assert json.loads(Shell(cluster).run("--json", "lookup", "beta").text)["service"] == "beta"
    missing = Shell(cluster).run("lookup", "ghost")
    assert missing.status == 1 and "404" in missing.stderr
