"""
Other checkouts of micro to measure beside this one, in the same run: a
git worktree of a commit, with a virtualenv of its own that has that
commit's micro installed.  Kept between runs under the temporary
directory (one per commit), so only the first run pays for the install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from attrs import frozen

from bench._common import ROOT, TWISTD

TREES = Path(tempfile.gettempdir()) / "micro-bench-trees"


@frozen
class Tree:
    """
    One checkout of micro, and how to run its processes.

    @ivar label: How tables name it: C{"this"} or a short commit id.
    """

    label: str
    root: Path
    python: str
    twistd: str

    def environment(self, **extra: str) -> dict[str, str]:
        """
        The environment of a process of this tree: its micro first on the path.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_") and k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(self.root)
        env.update(extra)
        return env


def this_tree() -> Tree:
    return Tree("this", ROOT, sys.executable, TWISTD)


def tree_at(ref: str) -> Tree:
    """
    The checkout of C{ref} (a commit, tag or branch), made if missing.
    """
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    root = TREES / sha[:12]
    bin_dir = root / ".venv" / "bin"
    if not (bin_dir / "twistd").exists():
        print(f"preparing a checkout of {ref} ({sha[:12]}) in {root} ...", file=sys.stderr, flush=True)
        if not root.exists():
            TREES.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(root), sha],
                           check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", str(root)], check=True, cwd=root)
    return Tree(sha[:7], root, str(bin_dir / "python"), str(bin_dir / "twistd"))
