"""
How micro writes: tables, durations, rates, one-line errors.
"""

from __future__ import annotations

import io

from micro._cli.output import Output, clock_time, one_line, rate, seconds, table


def test_tables_align_numbers_right_and_text_left() -> None:
    """
    Columns are as wide as their longest cell; numbers go right, text left, None is a dash.
    """
    assert table(["NAME", "COUNT", "WHEN"], [["a", 1200, "3ms"], ["longer", 5, None]], right=[2]).splitlines() == [
        "NAME    COUNT  WHEN",
        "a       1,200   3ms",
        "longer      5     -",
    ]


def test_durations_and_rates_read_easily() -> None:
    """
    Seconds show in the unit that fits; rates keep three figures, thousands get commas.
    """
    assert [seconds(v) for v in (None, 0.00042, 0.0123, 1.5, 125, 8000)] == [
        "-", "420us", "12.3ms", "1.5s", "2m05s", "2h13m"]
    assert [rate(v) for v in (0, 0.5, 12.34, 1234.5)] == ["0", "0.5", "12.3", "1,234"]
    assert len(clock_time(0.25)) == len("00:00:00.250") and clock_time(0.25).endswith(".250")


def test_errors_are_one_line() -> None:
    """
    An error's text, however many lines it had, is written as one line after 'micro: '.
    """
    err = io.StringIO()
    Output(io.BytesIO(), err).error("first\n  second\tthird")
    assert err.getvalue() == "micro: first second third\n"
    assert one_line("x" * 500).endswith("...") and len(one_line("x" * 500)) == 400


def test_progress_redraws_on_a_terminal_and_prints_lines_elsewhere() -> None:
    """
    Progress overwrites its line on a terminal; in a log it is one line each time.
    """
    err = io.StringIO()
    terminal = Output(io.BytesIO(), err, progress_on_terminal=True)
    terminal.progress("1 call")
    terminal.end_progress()
    assert err.getvalue() == "\r\x1b[K1 call\r\x1b[K"
    log = io.StringIO()
    Output(io.BytesIO(), log).progress("1 call")
    assert log.getvalue() == "1 call\n"


def test_json_output_is_one_document_per_line() -> None:
    """
    --json: compact JSON, one document a line, unicode kept.
    """
    out = io.BytesIO()
    Output(out, io.StringIO(), json=True).pretty({"name": "Zoë", "n": [1, 2]})
    assert out.getvalue() == '{"name":"Zoë","n":[1,2]}\n'.encode()
