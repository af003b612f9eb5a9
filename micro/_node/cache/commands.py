# -*- test-case-name: tests.node.cache.test_service -*-
"""
What the C{cache} service answers: one payload, one or more commands.

    {"get": "key"}                    the value, or None when missing or expired
    {"get": "*"}                      {key: value} of every live key
    {"set": {"k": v, ...}}            store, never expiring
    {"setex": {"k": v, ...}}          store, expiring after the default TTL
    {"ex": {"k": ms, ...}}            a live key expires in ms (None: never)
    {"del": "k" | ["k", ...] | {"k": true, ...}}
    {"clear": true}
    {"settings": {"expire_time": ms, "eviction_interval": ms, "max_entries": n}}

Writes may be combined in one payload (C{{"setex": {...}, "ex": {...}}}) and
run in the order clear, del, set, setex, ex, settings, after the whole
payload has been checked: a bad part changes nothing.  C{get} stands alone.
Times are milliseconds, as in micro-js; camelCase setting names work too.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field

from micro._kernel.errors import InvalidArgument
from micro._node.cache.store import TtlStore

COMMANDS = ("get", "set", "setex", "ex", "del", "clear", "settings")
WRITE_ORDER = ("clear", "del", "set", "setex", "ex", "settings")
ALL_KEYS = "*"
MIN_EVICTION_INTERVAL = 10.0
SETTING_NAMES = {
    "expire_time": "expire_time", "expireTime": "expire_time",
    "eviction_interval": "eviction_interval", "evictionInterval": "eviction_interval",
    "max_entries": "max_entries", "maxEntries": "max_entries",
}


def _bad(message: str) -> InvalidArgument:
    return InvalidArgument(message)


def milliseconds(value: Any, what: str, *, minimum: float | None = None) -> float | None:
    """
    A positive number of milliseconds (at least C{minimum}), or C{None}
    (also spelled C{"None"}) for "never".
    """
    if value is None or value == "None":
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf")
            or (minimum is not None and value < minimum)):
        floor = f" (at least {minimum:g})" if minimum is not None else ""
        raise _bad(f"{what} must be a positive number of milliseconds{floor} or null, not {value!r}")
    return float(value)


def entry_count(value: Any) -> int | None:
    if value is None or value == "None":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(f"max_entries must be a positive whole number or null, not {value!r}")
    return value


def check_settings(document: Any) -> dict[str, Any]:
    """
    Validated setting changes, by their snake_case names.
    """
    if not isinstance(document, dict):
        raise _bad('settings takes an object like {"expire_time": 60000, "eviction_interval": 30000}')
    changes: dict[str, Any] = {}
    for name, value in document.items():
        canonical = SETTING_NAMES.get(name)
        if canonical is None:
            raise _bad(f"unknown cache setting {str(name)[:40]!r}; settings: expire_time, eviction_interval, max_entries")
        if canonical == "expire_time":
            changes[canonical] = milliseconds(value, "expire_time")
        elif canonical == "eviction_interval":
            changes[canonical] = milliseconds(value, "eviction_interval", minimum=MIN_EVICTION_INTERVAL)
        else:
            changes[canonical] = entry_count(value)
    return changes


def _values(argument: Any, command: str) -> dict[str, Any]:
    if not isinstance(argument, dict) or not argument:
        raise _bad(f'{command} takes a non-empty object of keys and values, like {{"{command}": {{"key": "value"}}}}')
    if ALL_KEYS in argument:
        raise _bad(f"{command}: the key '*' is reserved (get '*' reads every key)")
    return argument


def _ttls(argument: Any) -> dict[str, float | None]:
    if not isinstance(argument, dict) or not argument:
        raise _bad('ex takes an object of keys and times to live in milliseconds, like {"ex": {"key": 300000}}')
    return {key: milliseconds(ttl, f"ex time for {key[:40]!r}") for key, ttl in argument.items()}


def _keys(argument: Any) -> list[str]:
    if isinstance(argument, str):
        return [argument]
    if isinstance(argument, list) and argument and all(isinstance(k, str) for k in argument):
        return argument
    if isinstance(argument, dict) and argument and all(v is True for v in argument.values()):
        return list(argument)
    raise _bad('del takes a key, a list of keys, or {"key": true, ...}')


@define
class CacheCommands:
    """
    Run cache payloads against a L{TtlStore}.

    @ivar settings: Current settings, in milliseconds (C{None}: never).
    @ivar apply_settings: Called with the validated changes of a
        C{settings} command, which it makes take effect.
    """

    store: TtlStore
    settings: dict[str, Any]
    apply_settings: Callable[[dict[str, Any]], None]
    _parsers: dict[str, Callable[[Any], Any]] = field(init=False)
    _writes: dict[str, Callable[[Any], Any]] = field(init=False)

    def __attrs_post_init__(self) -> None:
        self._parsers = {"set": lambda a: _values(a, "set"), "setex": lambda a: _values(a, "setex"),
                         "ex": _ttls, "del": _keys, "clear": self._clear_flag, "settings": check_settings}
        self._writes = {"set": self._set, "setex": self._setex, "ex": self._ex, "del": self._del,
                        "clear": self._clear, "settings": self._settings}

    def run(self, payload: Any) -> Any:
        if not isinstance(payload, dict) or not payload:
            raise _bad(f'a cache command is an object like {{"get": "key"}}; commands: {", ".join(COMMANDS)}')
        unknown = [name for name in payload if name not in COMMANDS]
        if unknown:
            raise _bad(f"unknown cache command {str(unknown[0])[:40]!r}; commands: {', '.join(COMMANDS)}")
        if "get" in payload:
            if len(payload) > 1:
                raise _bad("get cannot be combined with other commands")
            return self._get(payload["get"])
        parsed = {name: self._parsers[name](payload[name]) for name in WRITE_ORDER if name in payload}
        reply: dict[str, Any] = {"ok": True}
        for name, argument in parsed.items():
            reply[name] = self._writes[name](argument)
        return reply

    def _get(self, key: Any) -> Any:
        if key == ALL_KEYS:
            return dict(self.store.items())
        if not isinstance(key, str):
            raise _bad(f"get takes a key (a string) or '*', not {type(key).__name__}")
        return self.store.get(key)

    def _clear_flag(self, argument: Any) -> bool:
        if argument is not True:
            raise _bad("clear takes true")
        return True

    def _clear(self, _: bool) -> int:
        return self.store.clear()

    def _del(self, keys: list[str]) -> list[str]:
        return [key for key in keys if self.store.delete(key)]

    def _set(self, values: dict[str, Any]) -> list[str]:
        for key, value in values.items():
            self.store.set(key, value)
        return list(values)

    def _setex(self, values: dict[str, Any]) -> list[str]:
        expire_time = self.settings["expire_time"]
        ttl = None if expire_time is None else expire_time / 1000.0
        for key, value in values.items():
            self.store.set(key, value, ttl)
        return list(values)

    def _ex(self, ttls: dict[str, float | None]) -> list[str]:
        return [key for key, ttl in ttls.items() if self.store.expire(key, None if ttl is None else ttl / 1000.0)]

    def _settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        self.apply_settings(changes)
        return dict(self.settings)
