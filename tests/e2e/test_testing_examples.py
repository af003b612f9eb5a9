"""
The README's "Testing your services": its examples (examples/testing/)
pass under pytest and under trial, trial finds its reactor clean after
the live tests, and the code the README shows is the examples' own.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._processes import ROOT, Processes
from tests._rst import code_blocks

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples" / "testing"


def _run(processes: Processes, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120,
                          cwd=EXAMPLES, env=processes.environment())


def test_the_pytest_example_passes(processes: Processes) -> None:
    """
    python -m pytest test_inventory.py: every test passes, the two live ones included.
    """
    done = _run(processes, "pytest", "-q", "-p", "no:cacheprovider", "test_inventory.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout


def test_the_trial_example_passes_with_a_clean_reactor(processes: Processes) -> None:
    """
    python -m twisted.trial test_inventory_trial: every test passes, and
    trial (which fails a test that leaves the reactor dirty) is content.
    """
    done = _run(processes, "twisted.trial", "--temp-directory", str(processes.workdir / "_trial_temp"),
                "test_inventory_trial")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "PASSED (successes=5)" in output and "DirtyReactor" not in output


def test_the_readme_shows_the_examples_code() -> None:
    """
    Each code block of "Testing your services" is, line for line, a part of an example file.
    """
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    section = readme[readme.index("Testing your services\n====="):readme.index("\nPerformance\n=====")]
    blocks = code_blocks(section)
    sources = {name: (EXAMPLES / name).read_text(encoding="utf-8") for name in
               ("test_inventory.py", "test_inventory_trial.py")}
    assert len(blocks) == 2
    for block, name in zip(blocks, sources):
        for chunk in block.split("\n\n\n"):
            assert chunk.strip() in sources[name], f"README block not in {name}:\n{chunk}"
