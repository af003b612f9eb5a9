"""
A real headless Chromium for browser tests, driven through Debian's
chromedriver with the W3C WebDriver protocol (a few JSON requests: no
client library, no downloaded browser).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from attrs import define

from tests._processes import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# As this machine's probe starts it: no sandbox as root, and nothing that
# phones home (the network is closed; those connections only slow it down).
ARGUMENTS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1360,1000"]


def missing() -> str | None:
    """
    What this machine lacks to run a browser test, or C{None}.
    """
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is not installed (Debian's chromium and chromium-driver; .ci/run installs them)"
    return None


@define(eq=False)
class Browser:
    """
    One chromedriver process and one browser session.
    """

    driver: subprocess.Popen[bytes]
    base: str
    session: str
    profile: str

    @classmethod
    def start(cls) -> Browser:
        port = free_port()
        driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        profile = tempfile.mkdtemp(prefix="micro-chromium-")
        deadline = time.monotonic() + 20
        while True:
            try:
                if _send("GET", base + "/status")["ready"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                driver.kill()
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM, "args": [*ARGUMENTS, f"--user-data-dir={profile}"]}}}
        try:
            session = _send("POST", base + "/session", {"capabilities": capabilities})["sessionId"]
        except Exception:
            driver.kill()
            raise
        return cls(driver, base, session, profile)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return _send(method, f"{self.base}/session/{self.session}{path}", body)

    def go(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def script(self, source: str, *args: Any) -> Any:
        """
        Run C{source} (a function body; C{arguments} holds C{args}) in the page.
        """
        return self._call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))

    def quit(self) -> None:
        try:
            self._call("DELETE", "")
        finally:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def _send(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())["value"]
