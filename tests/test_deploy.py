"""
The deployment files (Dockerfile, deploy/compose.yaml, deploy/kubernetes/)
agree with the code: the options they pass exist, SIGTERM reaches twistd
with no shell in between, grace periods cover settle + drain, services
advertise an address the registries can reach, and every process of the
cluster is in production with the token.  Their syntax and schemas are
checked by deploy/check (hadolint, the Compose and Kubernetes schemas).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from micro._kernel.protocol import LIVE_PATH, READY_PATH
from micro._node.host import DRAIN_TIMEOUT, SETTLE_TIMEOUT
from micro._twistd import registry_tap, service_tap

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
OPTIONS = {
    "micro-registry": registry_tap.Options,
    "micro-service": service_tap.Options,
}


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _last(instruction: str) -> str:
    return [value for name, value in _instructions() if name == instruction][-1]


def _manifests() -> Iterator[dict[str, Any]]:
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        yield from (doc for doc in yaml.safe_load_all(path.read_text()) if doc)


def _containers(*kinds: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for doc in _manifests():
        if doc["kind"] in (kinds or ("Deployment",)):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc, container


def _unknown_options(argv: list[str]) -> list[str]:
    """
    The options of C{argv} (a twistd plugin and its arguments) that the plugin does not know.
    """
    options = OPTIONS[argv[0]]
    specs = getattr(options, "optParameters", []) + getattr(options, "optFlags", [])
    known = {f"--{spec[0]}" for spec in specs} | {"--help"}
    return [arg for arg in argv[1:] if arg.startswith("--") and arg not in known]


def _grace_needed(argv: list[str]) -> float:
    values = dict(zip(argv, argv[1:]))
    return float(values.get("--settle-timeout", SETTLE_TIMEOUT)) + float(values.get("--drain-timeout", DRAIN_TIMEOUT))


def test_the_image_runs_twistd_as_its_process_with_no_shell() -> None:
    """
    ENTRYPOINT and CMD are in exec form, so twistd is PID 1 and gets
    SIGTERM itself; the user is not root; the health check is exec form
    too and asks the registry's liveness path by default.
    """
    entrypoint, command = json.loads(_last("ENTRYPOINT")), json.loads(_last("CMD"))
    assert entrypoint == ["twistd", "-n"]
    assert _unknown_options(command) == []
    user = _last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert _last("STOPSIGNAL") == "SIGTERM"
    assert json.loads(re.sub(r"^.*?CMD ", "", _last("HEALTHCHECK")))[0] == "python"
    assert f"MICRO_HEALTH_URL=http://127.0.0.1:9999{LIVE_PATH}" in _last("ENV")


def test_kubernetes_micro_containers_are_production_members_with_the_token() -> None:
    """
    Every micro container runs in production, takes the token from the
    Secret, and passes only options its twistd plugin knows.
    """
    seen = 0
    for _, container in _containers("Deployment", "Job"):
        if container["image"].split(":")[0] != "micro":
            continue
        seen += 1
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["MICRO_ENV"]["value"] == "production"
        assert env["MICRO_REGISTRY_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "micro-token", "key": "token"}
        if "args" in container:
            assert _unknown_options(container["args"]) == []
    assert seen == 3


def test_kubernetes_service_pods_advertise_their_ip_and_outlive_their_drain() -> None:
    """
    The service Deployment advertises its pod IP (downward API) on its
    first container port, finds the registries through the headless
    Service, probes ready and live, and gives SIGTERM time for settle +
    drain.
    """
    [(deployment, container)] = [(d, c) for d, c in _containers() if c["args"][0] == "micro-service"]
    spec = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["MICRO_SERVICE_URL"]["value"] == f"http://$(POD_IP):{container['ports'][0]['containerPort']}"
    assert env["MICRO_REGISTRY_URL"]["value"] == "http://micro-registry-peers:9999"
    assert spec["terminationGracePeriodSeconds"] >= _grace_needed(container["args"]) + 5
    assert container["readinessProbe"]["httpGet"]["path"] == READY_PATH
    assert container["livenessProbe"]["httpGet"]["path"] == LIVE_PATH


def test_kubernetes_registries_are_two_behind_a_service_and_a_headless_one() -> None:
    """
    Two registry replicas on the Redis store, reachable through the
    micro-registry Service and listed by the headless micro-registry-peers.
    """
    [(deployment, container)] = [(d, c) for d, c in _containers() if c["args"][0] == "micro-registry"]
    assert deployment["spec"]["replicas"] == 2
    assert container["readinessProbe"]["httpGet"]["path"] == READY_PATH
    assert container["livenessProbe"]["httpGet"]["path"] == LIVE_PATH
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MICRO_REGISTRY_STORE"] == "redis://micro-redis:6379/0"
    services = {doc["metadata"]["name"]: doc["spec"] for doc in _manifests() if doc["kind"] == "Service"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for name in ("micro-registry", "micro-registry-peers"):
        assert services[name]["selector"].items() <= labels.items()
        assert services[name]["ports"][0]["port"] == 9999
    assert services["micro-registry-peers"]["clusterIP"] == "None"
    assert "clusterIP" not in services["micro-registry"]
    assert "micro-redis" in services


def test_compose_members_reach_each_other_by_service_name() -> None:
    """
    In Compose, each service process advertises its own service name,
    lists both registries, outlives its drain on stop, and every micro
    process is in production with the token.
    """
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    registries = sorted(name for name, s in compose.items() if s.get("command", [""])[0] == "micro-registry")
    shops = sorted(name for name, s in compose.items() if s.get("command", [""])[0] == "micro-service")
    assert registries == ["registry-a", "registry-b"] and shops == ["shop-1", "shop-2"]
    for name in registries + shops + ["client"]:
        env = compose[name]["environment"]
        assert env["MICRO_ENV"] == "production" and env["MICRO_REGISTRY_TOKEN"].startswith("${MICRO_REGISTRY_TOKEN:?")
        if name in registries:
            assert env["MICRO_REGISTRY_STORE"] == "redis://redis:6379/0"
            assert _unknown_options(compose[name]["command"]) == []
        else:
            assert env["MICRO_REGISTRY_URL"] == ",".join(f"http://{r}:9999" for r in registries)
    for name in shops:
        assert compose[name]["environment"]["MICRO_SERVICE_URL"] == f"http://{name}:8080"
        assert float(compose[name]["stop_grace_period"].rstrip("s")) >= _grace_needed(compose[name]["command"]) + 5
