"""
The dashboard in a real headless Chromium, against a real twistd registry
and real service processes: the services appear with their instances,
a route and a subscription are listed, a killed instance disappears
within the lease, and the rates move under load.  The last screen is
saved (to $MICRO_DASHBOARD_SCREENSHOT, for the README, when set).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests._browser import Browser, missing
from tests._processes import Processes, free_port, instances, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

TTL = 4.0

APP = '''
import micro

PRICES = {"apple": 3, "pear": 4, "fig": 7}


@micro.route("/api/prices")
def prices(payload):
    return PRICES


@micro.service
async def quote(payload, ctx):
    table = await ctx.call("prices")
    return {"total": sum(table[item] for item in payload["items"])}


@micro.subscribe("orders.*")
def record(order, ctx):
    return {"seen": ctx.channel}
'''

LOAD = '''
import os, time
import micro

async def main():
    deadline = time.monotonic() + float(os.environ["LOAD_SECONDS"])
    while time.monotonic() < deadline:
        await micro.call_service("quote", {"items": ["apple", "pear"]})

micro.run(main)
'''

# What the page shows, read from its tables.
READ_PAGE = """
const rows = (id) => Array.from(document.querySelectorAll('#' + id + ' tbody tr[data-' + arguments[0][id] + ']'));
const cells = (tr) => Array.from(tr.children).map((td) => td.textContent);
return {
  updates: Number(document.body.dataset.updates || 0),
  services: Object.fromEntries(rows('services').map((tr) => [tr.dataset.service, cells(tr)])),
  instances: rows('instances').map((tr) => [tr.dataset.of, tr.dataset.instance, cells(tr)[4]]),
  routes: rows('routes').map((tr) => tr.dataset.route),
  channels: rows('channels').map((tr) => cells(tr)),
  nodes: rows('nodes').length,
};
"""
KEYS = {"services": "service", "instances": "instance", "routes": "route", "channels": "channel", "nodes": "node"}


def _page(browser: Browser) -> dict[str, Any]:
    return browser.script(READ_PAGE, KEYS)  # type: ignore[no-any-return]


def test_the_dashboard_in_chromium(processes: Processes, tmp_path: Path) -> None:
    """
    The page lists what runs, loses a killed process within the lease,
    and shows calls per second under load.
    """
    (processes.workdir / "store_app.py").write_text(APP)
    (processes.workdir / "load.py").write_text(LOAD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port, "--ttl", str(TTL))
    first = processes.service("store_app", url)
    wait_until(lambda: len(instances(url, "quote")) == 1, what=f"the store\n{first.log()}")
    second = processes.service("store_app", url)
    wait_until(lambda: len(instances(url, "quote")) == 2, what=f"a second store\n{second.log()}")

    browser = Browser.start()
    try:
        browser.go(url + "/_micro/ui")
        page = wait_until(lambda: (lambda p: p if len(p["services"]) >= 3 and p["updates"] else None)(_page(browser)),
                          timeout=20, what="the services on the page")
        assert {"prices", "quote", "_micro.subscriber"} <= set(page["services"])
        assert page["routes"] == ["/api/prices"]
        [channel] = page["channels"]
        assert channel[0] == "orders.*" and channel[1] == "2"
        assert sorted(i[1] for i in page["instances"] if i[0] == "quote") == sorted(instances(url, "quote"))
        wait_until(lambda: all(i[2] == "serving" for i in _page(browser)["instances"]), timeout=10,
                   what="each instance asked for its health")

        doomed = [loc for loc in instances(url, "quote") if loc not in _locations_of(first, url)]
        second.signal(signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: not any(i[1] in doomed for i in _page(browser)["instances"]), timeout=TTL + 2,
                   what="the killed instance leaving the page")
        assert time.monotonic() - killed <= TTL + 1
        assert _page(browser)["services"]["quote"][1] == "1"

        load = processes.python("load", str(processes.workdir / "load.py"),
                                env={"MICRO_REGISTRY_URL": url, "LOAD_SECONDS": "12"})
        rate = wait_until(lambda: _rate(_page(browser), "quote"), timeout=12, interval=0.3,
                          what="calls per second moving")
        assert rate > 0
        time.sleep(1.5)
        shot = tmp_path / "dashboard.png"
        browser.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("MICRO_DASHBOARD_SCREENSHOT"):
            shutil.copy(shot, os.environ["MICRO_DASHBOARD_SCREENSHOT"])
        assert load.wait(30) == 0, load.log()
    finally:
        browser.quit()


def _rate(page: dict[str, Any], service: str) -> float | None:
    row = page["services"].get(service)
    if row is None or row[2] in ("-", ""):
        return None
    value = float(row[2].replace(",", ""))
    return value if value > 0 else None


def _locations_of(process: Any, url: str) -> set[str]:
    """
    The locations the first store process announced in its log.
    """
    return {line.split(" at ")[-1].strip() for line in process.log().splitlines() if "serving quote at" in line}
