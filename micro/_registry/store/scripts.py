# -*- test-case-name: tests.integration.test_redis_store -*-
"""
The Lua script that makes every change in Redis, atomically: its text
(the files in C{lua/}, in order) and its SHA-1, for EVALSHA.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files

PARTS = ("common.lua", "instances.lua", "features.lua", "main.lua")

SCRIPT = "\n".join((files(__package__) / "lua" / part).read_text(encoding="utf-8") for part in PARTS)
SHA = hashlib.sha1(SCRIPT.encode("utf-8")).hexdigest()
