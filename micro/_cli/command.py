# -*- test-case-name: tests.cli.test_options -*-
"""
What every command of C{micro} is made of: its options (options may
follow the arguments, as in C{micro call hello '{}' --timeout 5}), a
C{run(session)} coroutine, and the values its command line may hold:
JSON payloads (never evaluated as code), seconds and counts.
"""

from __future__ import annotations

import getopt
import json
import sys
from typing import IO, Any, Callable

from twisted.python import usage

from micro._cli.output import OK
from micro._cli.session import Session


class Command(usage.Options):
    """
    A command of C{micro}: parse its options and arguments, then L{run}.
    """

    optFlags = [["json", None, "Machine output: JSON, one document per line (also before the command)."]]

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        Parse GNU style: options may come after the arguments; C{--} ends them.
        """
        argv = sys.argv[1:] if options is None else list(options)
        try:
            found, arguments = getopt.gnu_getopt(argv, self.shortOpt, self.longOpt)
        except getopt.GetoptError as e:
            raise usage.UsageError(str(e)) from None
        ordered: list[str] = []
        for name, value in found:
            takes_value = (name[2:] + "=" in self.longOpt) if name.startswith("--") else (name[1:] + ":" in self.shortOpt)
            ordered.extend([name, value] if takes_value else [name])
        super().parseOptions(ordered + ["--"] + arguments)

    def parseArgs(self, *arguments: str) -> None:
        if arguments:
            raise usage.UsageError(f"expected no arguments, got {' '.join(arguments)!r}")

    @property
    def json(self) -> bool:
        """
        Whether C{--json} was given, to the command or before it.
        """
        options: Any = self
        while options is not None:
            if options.get("json"):
                return True
            options = options.parent
        return False

    async def run(self, session: Session) -> int:
        raise NotImplementedError


class Group(usage.Options):
    """
    A command made of commands (C{micro cache get ...}).
    """

    subCommands: list[list[Any]] = []

    def getSynopsis(self) -> str:
        if self.subCommand and self.parent is not None:
            return f"{self.parent.getSynopsis()} {self.parent.subCommand}"
        return super().getSynopsis()

    def postOptions(self) -> None:
        if not self.subCommand:
            names = ", ".join(name for name, _, _, _ in self.subCommands)
            raise usage.UsageError(f"which one? {names}")

    async def run(self, session: Session) -> int:
        command: Command = self.subOptions
        return await command.run(session)


def arguments(given: tuple[str, ...], names: str, least: int, most: int) -> tuple[str | None, ...]:
    """
    C{given}, padded with C{None} to C{most}; a usage error saying what the
    command takes (C{names}) if there are fewer than C{least} or more than C{most}.
    """
    if not least <= len(given) <= most:
        count = f"{len(given)} argument{'s' if len(given) != 1 else ''}"
        raise usage.UsageError(f"expected {names}, got {count}")
    return given + (None,) * (most - len(given))


def payload(text: str | None, stdin: IO[bytes] | None = None) -> Any:
    """
    A payload from the command line: JSON text, C{@FILE} (a file of JSON),
    or C{-} (JSON on standard input); C{None} when there is none.  JSON
    only: a payload is never evaluated.
    """
    if text is None:
        return None
    where = "the payload"
    if text == "-":
        source = (stdin or sys.stdin.buffer).read()
        where = "standard input"
    elif text.startswith("@"):
        try:
            with open(text[1:], "rb") as f:
                source = f.read()
        except OSError as e:
            raise usage.UsageError(f"cannot read {text[1:]}: {e.strerror}") from None
        where = text[1:]
    else:
        source = text.encode("utf-8", "surrogateescape")
    try:
        return json.loads(source)
    except (ValueError, RecursionError) as e:
        bare_word = where == "the payload" and text.strip()[:1] not in tuple('{["-0123456789')
        hint = " (a string needs quotes: '\"text\"')" if bare_word else ""
        raise usage.UsageError(f"{where} is not JSON: {e}{hint}") from None


def positive(kind: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """
    A coercer for option values: C{kind(text)}, above zero.
    """
    def coerce(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {what}") from None
        if not value > 0:
            raise ValueError(f"{text!r} is not {what}")
        return value
    coerce.coerceDoc = f"{what[0].upper()}{what[1:]}."  # type: ignore[attr-defined]
    return coerce


seconds = positive(float, "a positive number of seconds")
count = positive(int, "a positive whole number")


def not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


__all__ = ["Command", "Group", "OK", "arguments", "count", "not_negative", "payload", "seconds"]
