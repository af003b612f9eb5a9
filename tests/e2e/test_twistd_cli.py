"""
The twistd commands as a user meets them: help, and bad input.
"""

from __future__ import annotations

import subprocess

import pytest

from tests._processes import TWISTD, Processes

pytestmark = pytest.mark.e2e


def _run(processes: Processes, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TWISTD, *argv], capture_output=True, text=True, timeout=60, cwd=processes.workdir,
                          env=processes.environment())


@pytest.mark.parametrize("command, options", [
    ("micro-registry", ["--listen", "--ttl"]),
    ("micro-service", ["--module", "--registry", "--home", "--drain-timeout", "--settle-timeout", "--token-file"]),
])
def test_help_documents_every_option(processes: Processes, command: str, options: list[str]) -> None:
    """
    --help lists each option of the command.
    """
    done = _run(processes, "-n", command, "--help")
    assert done.returncode == 0
    for option in options:
        assert option in done.stdout


def test_bad_module_is_a_one_line_error(processes: Processes) -> None:
    """
    A module that does not exist ends twistd with status 1 and one line.
    """
    done = _run(processes, "-n", "micro-service", "--module", "nosuchmodule")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"twistd micro-service: cannot import module 'nosuchmodule': No module named 'nosuchmodule' "
        f"(searched {processes.workdir} and the Python path)"]


def test_production_registry_without_token_exits_with_one_line(processes: Processes) -> None:
    """
    twistd micro-registry under MICRO_ENV=production without a token exits
    non-zero, saying why in one line.
    """
    done = subprocess.run([TWISTD, "-n", "micro-registry"], capture_output=True, text=True, timeout=60,
                          cwd=processes.workdir, env=processes.environment({"MICRO_ENV": "production"}))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "twistd micro-registry: MICRO_ENV=production needs a registry token (MICRO_REGISTRY_TOKEN or "
        "--token-file); refusing to start an open registry"]


@pytest.mark.parametrize("argv, env, line", [
    (["micro-registry"], {"MICRO_REGISTRY_URL": "127.0.0.1:9955"},
     "twistd micro-registry: MICRO_REGISTRY_URL '127.0.0.1:9955' must be an http:// or https:// URL with a host"),
    (["micro-service", "--module", "shop.py", "--registry", "localhost:9999"], {},
     "twistd micro-service: --registry 'localhost:9999' must be an http:// or https:// URL with a host"),
])
def test_malformed_registry_urls_end_with_one_line(processes: Processes, argv: list[str], env: dict[str, str],
                                                   line: str) -> None:
    """
    The audit's repro: a registry URL without http:// ends twistd at once
    with status 1 and one line, instead of another port or endless retries.
    """
    done = subprocess.run([TWISTD, "-n", *argv], capture_output=True, text=True, timeout=60,
                          cwd=processes.workdir, env=processes.environment(env))
    assert (done.returncode, done.stdout, done.stderr.strip().splitlines()) == (1, "", [line])
