"""
The layers of micro, enforced on its import graph (read with ast): the
kernel at the bottom, HTTP plumbing and calls above it, the registry and
the node side apart from each other, the app layer and twistd on top; and
no import cycles, not even through imports made only for type checking.
"""

from __future__ import annotations

from pathlib import Path

from attrs import frozen

from tests._imports import MICRO, Import, cycles, graph

# Layers by the first part of a module's path under micro; a layer may
# import its own modules and those of the layers listed for it.
ALLOWED: dict[str, frozenset[str]] = {
    "_kernel": frozenset(),
    "_http": frozenset({"_kernel"}),
    "_calls": frozenset({"_kernel", "_http"}),
    # Metrics, spans, access logs and the operators' endpoints, which both
    # sides serve; the hot paths reach it through the kernel's Observer.
    "_observe": frozenset({"_kernel", "_http"}),
    "_registry": frozenset({"_kernel", "_http", "_calls", "_observe"}),
    "_node": frozenset({"_kernel", "_http", "_calls", "_observe"}),
    "_app": frozenset({"_kernel", "_http", "_calls", "_observe", "_registry", "_node"}),
    "_twistd": frozenset({"_kernel", "_http", "_calls", "_observe", "_registry", "_node", "_app"}),
    "_testing": frozenset({"_kernel", "_http", "_calls", "_observe", "_registry", "_node", "_app"}),
    "_cli": frozenset({"_kernel", "_http", "_calls", "_observe", "_node", "_app"}),
}

# The features of each side; a side's core imports none of them, and they
# do not import each other.
FEATURES = {"_registry": ("routes", "pubsub"), "_node": ("routes", "pubsub", "cache")}

# The modules allowed to compose a side with its features.
COMPOSERS = frozenset({"micro._registry.stack"})

# Inside the HTTP plumbing, the client and the server halves are apart.
# twisted.web.server is for the HTTP plumbing, the route proxy (which relays
# between two connections) and the in-memory network.
WEB_SERVER_USERS = ("micro/_http/", "micro/_registry/routes/", "micro/_testing/")

HTTP_CLIENT = frozenset({"micro._http.client", "micro._http.pool", "micro._http.failures", "micro._http.response",
                         "micro._http.wire_client", "micro._http.wire_parse", "micro._http.wire_requests"})
HTTP_SERVER = frozenset({"micro._http.site", "micro._http.respond", "micro._http.channel",
                         "micro._http.early_request", "micro._http.limits"})


@frozen
class Violation:
    importer: str
    imported: str
    line: int
    rule: str


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else ""


def _feature(module: str) -> tuple[str, str] | None:
    parts = module.split(".")
    if len(parts) > 3 and parts[2] in FEATURES.get(parts[1], ()):
        return parts[1], parts[2]
    return None


def violations(edges: list[Import]) -> list[Violation]:
    """
    Every import in C{edges} that breaks a rule of the layers.
    """
    found = []
    for edge in edges:
        a, b = edge.importer, edge.imported
        layer_a, layer_b = _layer(a), _layer(b)
        if layer_a and layer_a != layer_b and layer_b not in ALLOWED[layer_a] and (layer_b or b != "micro"):
            found.append(Violation(a, b, edge.line, f"{layer_a} may not import {layer_b or b}"))
            continue
        if layer_a in FEATURES and layer_a == layer_b and a not in COMPOSERS:
            fa, fb = _feature(a), _feature(b)
            if fa is None and fb is not None:
                found.append(Violation(a, b, edge.line, f"the {layer_a} core may not import its feature {fb[1]}"))
            elif fa is not None and fb is not None and fa != fb:
                found.append(Violation(a, b, edge.line, f"feature {fa[1]} may not import feature {fb[1]}"))
        if (a in HTTP_CLIENT and b in HTTP_SERVER) or (a in HTTP_SERVER and b in HTTP_CLIENT):
            found.append(Violation(a, b, edge.line, "the HTTP client and server halves are apart"))
    return found


def global_reactor_users(root: Path = MICRO) -> list[str]:
    """
    Modules that import the global reactor.
    """
    return sorted(str(path.relative_to(root.parent)) for path in root.rglob("*.py")
                  if "from twisted.internet import reactor" in path.read_text(encoding="utf-8"))


# Known breaks of the rules, each to be mended by a commit of its own; the
# test fails when one is mended and still listed here, so the list only shrinks.
KNOWN_CYCLES: list[list[str]] = []
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def test_layers_are_kept() -> None:
    """
    No import crosses the layers, joins the two sides, or reaches from a core into its features.
    """
    found = {(v.importer, v.imported): v for v in violations(graph())}
    assert [v for key, v in found.items() if key not in KNOWN_VIOLATIONS] == []
    assert sorted(KNOWN_VIOLATIONS - set(found)) == [], "mended: remove from KNOWN_VIOLATIONS"


def test_no_import_cycles() -> None:
    """
    micro's modules import each other without cycles, type-checking imports included.
    """
    assert cycles(graph()) == KNOWN_CYCLES


def test_only_the_plumbing_touches_twisted_web_server() -> None:
    """
    Requests are answered through micro/_http (respond, site); only the route proxy also relays raw.
    """
    users = sorted(str(p.relative_to(MICRO.parent)) for p in MICRO.rglob("*.py")
                   if "from twisted.web.server import" in p.read_text(encoding="utf-8"))
    assert [u for u in users if not u.startswith(WEB_SERVER_USERS)] == []
    assert "micro/_registry/routes/proxy.py" in users


def test_only_the_top_layers_reach_the_global_reactor() -> None:
    """
    The global reactor is imported only by the app layer, the twistd taps and micro.testing (its live cluster).
    """
    users = global_reactor_users()
    assert [u for u in users if not u.startswith(("micro/_app/", "micro/_twistd/", "micro/testing", "micro/_testing/"))] == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "micro"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for directory in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (directory / "__init__.py").touch()
    return root


def test_a_planted_side_crossing_is_caught(tmp_path: Path) -> None:
    """
    The checks find a registry module importing a node module, and a kernel module importing HTTP.
    """
    root = _plant(tmp_path, {
        "_registry/state.py": "from micro._node.table import ServiceTable\n",
        "_node/table.py": "from micro._kernel import errors\n",
        "_kernel/errors.py": "from micro._http.client import HttpClient\n",
        "_http/client.py": "",
    })
    found = {(v.importer, v.imported) for v in violations(graph(root))}
    assert found == {("micro._registry.state", "micro._node.table"), ("micro._kernel.errors", "micro._http.client")}


def test_a_planted_feature_import_is_caught(tmp_path: Path) -> None:
    """
    A node core module importing a feature, or one feature another, is caught; the composer may.
    """
    root = _plant(tmp_path, {
        "_node/node.py": "from micro._node.pubsub.subscriber import NodePubSub\n",
        "_node/pubsub/subscriber.py": "from micro._node.routes import declared\n",
        "_node/routes/declared.py": "",
        "_registry/stack.py": "from micro._registry.pubsub.hub import PubSubHub\n",
        "_registry/pubsub/hub.py": "",
    })
    rules = {v.rule for v in violations(graph(root))}
    assert rules == {"the _node core may not import its feature pubsub", "feature pubsub may not import feature routes"}


def test_a_planted_cycle_is_caught(tmp_path: Path) -> None:
    """
    A cycle through an import made only for type checking still counts.
    """
    root = _plant(tmp_path, {
        "_node/a.py": "from micro._node.b import B\n",
        "_node/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from micro._node.a import A\n",
    })
    assert cycles(graph(root)) == [["micro._node.a", "micro._node.b"]]


def test_a_planted_global_reactor_is_caught(tmp_path: Path) -> None:
    """
    A node module that imports the global reactor is reported.
    """
    root = _plant(tmp_path, {"_node/node.py": "from twisted.internet import reactor\n"})
    assert global_reactor_users(root) == ["micro/_node/node.py"]
