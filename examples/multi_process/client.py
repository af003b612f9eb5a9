"""
Ask the shop for quotes, as a separate process:

    python client.py apple pear fig
"""

import sys

import micro


async def main():
    items = sys.argv[1:] or ["apple", "pear"]
    for _ in range(4):
        quote = await micro.call_service("quote", {"items": items})
        print(f"total {quote['total']} (quoted by process {quote['quoted_by']})")


if __name__ == "__main__":
    micro.run(main)
