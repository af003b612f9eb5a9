"""
Installing micro: the distribution is txmicro (the import package stays
micro), and a developer's editable install ("pip install -e .") gives
twistd the micro commands, as a normal install does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._processes import BIN, ROOT, Processes

pytestmark = pytest.mark.e2e

TWISTD = "import sys; sys.argv[0] = 'twistd'; from twisted.scripts.twistd import run; run()"


def _dependencies(processes: Processes) -> Path:
    """
    The packages micro needs, without micro: links to this test's own
    virtualenv, less its installed copy of micro and micro's plugin file.
    """
    site = Path(next((BIN.parent / "lib").glob("python3*/site-packages")))
    deps = processes.workdir / "deps"
    (deps / "twisted" / "plugins").mkdir(parents=True)
    for entry in site.iterdir():
        if entry.name == "twisted" or entry.name.startswith(("micro", "txmicro", "__editable__")):
            continue
        (deps / entry.name).symlink_to(entry)
    for entry in (site / "twisted").iterdir():
        if entry.name != "plugins":
            (deps / "twisted" / entry.name).symlink_to(entry)
    for entry in (site / "twisted" / "plugins").iterdir():
        if not entry.name.startswith(("micro", "dropin")) and entry.name != "__pycache__":
            (deps / "twisted" / "plugins" / entry.name).symlink_to(entry)
    return deps


def _clone(processes: Processes) -> Path:
    clone = processes.workdir / "clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info",
                                                              "build", "_trial_temp"))
    return clone


def test_an_editable_install_gives_twistd_the_micro_commands(processes: Processes) -> None:
    """
    python3 -m venv; pip install -e . (the dependencies already there): the
    distribution is txmicro, micro imports from the clone, and twistd
    knows micro-registry and micro-service.
    """
    clone = _clone(processes)
    venv = processes.workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(f"{_dependencies(processes)}\n")
    env = {k: v for k, v in processes.environment().items() if k != "PYTHONPATH"}
    done = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "-e", "."], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    shown = subprocess.run([python, "-c", "import importlib.metadata as m, micro; "
                                          "print(m.version('txmicro'), micro.__file__)"],
                           cwd=processes.workdir, env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.split() == ["0.1.0", str(clone / "micro" / "__init__.py")], shown.stderr
    for command in ("micro-registry", "micro-service"):
        helped = subprocess.run([python, "-c", TWISTD, "-n", command, "--help"], cwd=processes.workdir, env=env,
                                capture_output=True, text=True, timeout=60)
        assert helped.returncode == 0 and f"twistd [options] {command}" in helped.stdout, helped.stdout + helped.stderr
