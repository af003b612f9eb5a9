"""
Linux network namespaces for multi-host tests, and the ledger that makes
sure none of them outlives the test run.

Every namespace is named C{micro-netns-PID-...} after the pytest process
that made it, so parallel runs never collide and a run can tell its own
leftovers from another's.  Everything a run creates (namespaces, the
processes started inside them) is written in the L{LEDGER} before it is
created; L{Ledger.clean_up} stops those processes by PID and deletes those
namespaces, and runs from fixture finalizers, at exit, and on SIGTERM and
SIGHUP (SIGINT is pytest's KeyboardInterrupt, after which pytest runs the
finalizers itself).  Deleting a namespace deletes the interfaces in it, so
the bridge and both ends of every veth go with them: nothing is ever
created in the machine's own namespace.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any, Callable, TypeVar

from attrs import define, field

PREFIX = "micro-netns-"
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
T = TypeVar("T")


class NamespaceError(Exception):
    """
    An C{ip} command failed; the message is its standard error.
    """


def run_prefix(pid: int | None = None) -> str:
    """
    The start of every namespace name of the run in process C{pid} (this one).
    """
    return f"{PREFIX}{os.getpid() if pid is None else pid}-"


def ip(*args: str, namespace: str | None = None) -> str:
    """
    Run C{ip [-n NAMESPACE] ARGS...}; return its output or raise L{NamespaceError}.
    """
    argv = ["ip", *(("-n", namespace) if namespace else ()), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise NamespaceError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def namespaces() -> list[str]:
    """
    The names of every network namespace on the machine.
    """
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def cannot_create_namespaces() -> str | None:
    """
    Why this machine cannot run multi-host tests, or C{None} if it can:
    creates and deletes one namespace to find out.
    """
    if shutil.which("ip") is None:
        return "iproute2's ip command is not installed"
    name = f"{run_prefix()}probe"
    try:
        ip("netns", "add", name)
    except NamespaceError as e:
        return f"cannot create network namespaces here (they need root): {e}"
    ip("netns", "delete", name)
    return None


def _enter(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@define(eq=False)
class Inside:
    """
    A thread of this process that lives in a namespace: sockets it opens
    are that namespace's, so the test talks to the hosts as one of them,
    without a process or an interface in the machine's own namespace.
    """

    name: str
    _thread: ThreadPoolExecutor = field(init=False)

    def __attrs_post_init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"in-{self.name}",
                                          initializer=_enter, initargs=(self.name,))

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._thread.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self._thread.shutdown(wait=True)


@define
class Ledger:
    """
    What this run created, written down before it is created, so that
    L{clean_up} can undo all of it whenever the run ends.
    """

    namespaces: list[str] = field(factory=list)
    processes: list[subprocess.Popen[bytes]] = field(factory=list)
    created: int = 0
    stopped: int = 0
    _lock: threading.RLock = field(factory=threading.RLock)

    def add_namespace(self, name: str) -> None:
        with self._lock:
            self.namespaces.append(name)
            self.created += 1

    def add_process(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.processes.append(process)

    def stop_process(self, process: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
        """
        SIGTERM C{process} by its PID, SIGKILL after C{timeout} seconds.
        """
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        with self._lock:
            if process in self.processes:
                self.processes.remove(process)
                self.stopped += 1
        return process.returncode

    def stop_processes(self, processes: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
        """
        SIGTERM all of C{processes} at once, then wait for each (SIGKILL
        after C{timeout} seconds).
        """
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            self.stop_process(process, timeout)

    def delete_namespace(self, name: str) -> None:
        with self._lock:
            if name not in self.namespaces:
                return
            self.namespaces.remove(name)
        try:
            ip("netns", "delete", name)
        except NamespaceError:
            if name in namespaces():
                raise

    def clean_up(self) -> None:
        """
        Stop every process, then delete every namespace, this run created.
        """
        with self._lock:
            self.stop_processes(list(self.processes), timeout=5.0)
            for name in list(reversed(self.namespaces)):
                self.delete_namespace(name)

    def leftovers(self) -> list[str]:
        """
        What of this run is still there: its namespaces and live processes.
        """
        left = [f"namespace {name}" for name in namespaces() if name.startswith(run_prefix())]
        left += [f"process {p.pid} ({' '.join(map(str, p.args))})"  # type: ignore[arg-type]
                 for p in self.processes if p.poll() is None]
        return left


LEDGER = Ledger()
_at_exit: list[bool] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    LEDGER.clean_up()
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def clean_up_whenever_the_run_ends() -> None:
    """
    Undo the ledger at exit and on SIGTERM or SIGHUP (then end as
    interrupted, so pytest stops), in addition to the fixtures' finalizers.

    Twisted's reactor, which pytest-twisted starts around the first test,
    takes SIGTERM for itself, so this is called again whenever hosts are
    made, from the test's own thread.
    """
    if not _at_exit:
        _at_exit.append(True)
        atexit.register(LEDGER.clean_up)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not _on_signal:
            signal.signal(signum, _on_signal)


def stale_namespaces() -> list[str]:
    """
    Namespaces of earlier runs whose pytest process is gone and which hold
    no process any more: safe to delete.
    """
    stale = []
    for name in namespaces():
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}") and not ip("netns", "pids", name).strip():
            stale.append(name)
    return stale
