"""
Host the cache service in a process of its own, until Ctrl-C or SIGTERM:

    python cache_host.py
"""

from twisted.internet.defer import Deferred

import micro


async def main():
    await micro.cache_service()
    await Deferred()  # wait until the process is told to stop


if __name__ == "__main__":
    micro.run(main)
