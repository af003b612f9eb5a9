"""
A private redis-server for integration and end-to-end tests: started on a
free port with no persistence, stopped by its PID.  Never the machine's
own Redis (port 6379), which other programs may use.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from attrs import define, field

from tests._processes import free_port

REDIS_SERVER = shutil.which("redis-server")


@define(eq=False)
class RedisServer:
    """
    One redis-server process in C{workdir}, on 127.0.0.1:C{port}.
    """

    workdir: Path
    port: int = field(factory=free_port)
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None, "redis-server is not installed (apt-get install redis-server)"
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir), "--protected-mode", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        log = open(self.workdir / f"redis-{self.port}.log", "ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def ping(self) -> bool:
        try:
            return self.call("PING") in (b"+PONG", b"-NOAUTH Authentication required.")
        except OSError:
            return False

    def call(self, *words: str, timeout: float = 2.0) -> bytes:
        """
        Send one inline command, return the first line of the reply.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            if self.password:
                s.sendall(f"AUTH {self.password}\r\n".encode())
                s.recv(1024)
            s.sendall((" ".join(words) + "\r\n").encode())
            return s.recv(65536).split(b"\r\n", 1)[0]

    def memory(self) -> int:
        """
        Bytes of memory the server uses (INFO memory, used_memory).
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"INFO memory\r\n")
            data = b""
            while b"used_memory:" not in data or not data.endswith(b"\r\n"):
                data += s.recv(65536)
        return int(data.split(b"used_memory:", 1)[1].split(b"\r\n", 1)[0])

    def shutdown_nosave(self) -> None:
        """
        SHUTDOWN NOSAVE: the server exits and its data is gone.
        """
        try:
            self.call("SHUTDOWN", "NOSAVE")
        except OSError:
            pass
        assert self.process is not None
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
