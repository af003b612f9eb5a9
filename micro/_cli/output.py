# -*- test-case-name: tests.cli.test_output -*-
"""
What the C{micro} command writes: human tables or JSON lines on standard
output, one-line errors and progress on standard error.
"""

from __future__ import annotations

import json
import time
from typing import IO, Any, Sequence

from attrs import define

# Exit statuses: the command did what it was asked; the cluster answered
# with an error (or could not be reached); the command line was wrong.
OK = 0
REMOTE_ERROR = 1
USAGE = 2


@define
class Output:
    """
    Where a command writes.

    @ivar stdout: Binary standard output (a call's bytes go there as they are).
    @ivar stderr: Text standard error: errors, progress, notes.
    @ivar json: Machine output: one JSON document per line on stdout.
    @ivar interactive: Whether stdout is a terminal (C{top} redraws it).
    """

    stdout: IO[bytes]
    stderr: IO[str]
    json: bool = False
    interactive: bool = False
    progress_on_terminal: bool = False

    def line(self, text: str = "") -> None:
        self.raw((text + "\n").encode("utf-8"))

    def raw(self, data: bytes) -> None:
        self.stdout.write(data)
        self.stdout.flush()

    def document(self, value: Any) -> None:
        """
        One JSON document on its own line.
        """
        self.line(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def documents(self, values: Sequence[Any]) -> None:
        """
        One JSON document a line, for each of C{values}.
        """
        for value in values:
            self.document(value)

    def pretty(self, value: Any) -> None:
        """
        A JSON value for people (indented), or one line with C{--json}.
        """
        if self.json:
            self.document(value)
        else:
            self.line(json.dumps(value, ensure_ascii=False, indent=2))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> None:
        self.line(table(headers, rows, right))

    def error(self, text: str) -> None:
        """
        A one-line error on stderr.
        """
        self.note(f"micro: {one_line(text)}")

    def note(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def progress(self, text: str) -> None:
        """
        A progress line on stderr, redrawn in place on a terminal.
        """
        if self.progress_on_terminal:
            self.stderr.write("\r\x1b[K" + text)
            self.stderr.flush()
        else:
            self.note(text)

    def end_progress(self) -> None:
        if self.progress_on_terminal:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()


def one_line(text: str, limit: int = 400) -> str:
    """
    C{text} on one line, cut to C{limit} characters.
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """
    Columns aligned on the longest cell: numbers, and the columns C{right}
    names (by index), to the right.
    """
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    aligned = [i in right or (bool(rows) and all(_numeric(row[i]) or row[i] is None for row in rows))
               for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(width) if align else cell.ljust(width) for cell, width, align in zip(row, widths, aligned)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def seconds(value: float | None) -> str:
    """
    A duration for people: C{850us}, C{1.2ms}, C{3.4s}, C{2m05s}.
    """
    if value is None:
        return "-"
    if value < 0.001:
        return f"{value * 1e6:.0f}us"
    if value < 1:
        return f"{value * 1000:.3g}ms"
    if value < 120:
        return f"{value:.3g}s"
    minutes, rest = divmod(int(value), 60)
    if minutes < 120:
        return f"{minutes}m{rest:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def rate(value: float) -> str:
    """
    Events per second for people: C{0}, C{0.5}, C{12.3}, C{1,234}.
    """
    if value == 0:
        return "0"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def clock_time(moment: float) -> str:
    """
    The local time of day of C{moment} (seconds since the epoch), to the millisecond.
    """
    whole = int(moment)
    return time.strftime("%H:%M:%S", time.localtime(whole)) + f".{int((moment - whole) * 1000):03d}"
