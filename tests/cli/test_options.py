"""
The command line of micro: global options, each command's arguments, payloads, help.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from twisted.python import usage

from micro import __version__
from micro._cli.cache import Cache
from micro._cli.command import payload
from micro._cli.main import command_of, parse, usage_message
from micro._cli.options import MicroOptions


def _error(argv: list[str], environ: dict[str, str] | None = None) -> str:
    options = MicroOptions(environ or {})
    with pytest.raises(usage.UsageError) as caught:
        options.parseOptions(argv)
    return usage_message(options, caught.value)


def test_registries_come_from_the_option_the_environment_or_the_default() -> None:
    """
    --registry wins over MICRO_REGISTRY_URL, which wins over the default; a list is split and checked.
    """
    assert parse(["ls"], {}).registries == ["http://localhost:9999"]
    assert parse(["ls"], {"MICRO_REGISTRY_URL": "http://r:1/"}).registries == ["http://r:1"]
    assert parse(["-r", "http://a:1, https://b:2", "ls"], {"MICRO_REGISTRY_URL": "http://r:1"}).registries == [
        "http://a:1", "https://b:2"]


def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    """
    --token-file is read and stripped; MICRO_REGISTRY_TOKEN otherwise; none by default.
    """
    (tmp_path / "t").write_text("  s3cret\n")
    assert parse(["--token-file", str(tmp_path / "t"), "ls"], {"MICRO_REGISTRY_TOKEN": "env"}).token == "s3cret"
    assert parse(["ls"], {"MICRO_REGISTRY_TOKEN": "env"}).token == "env"
    assert parse(["ls"], {}).token is None


def test_json_may_come_before_or_after_the_command() -> None:
    """
    --json is global, and accepted by every command too.
    """
    assert command_of(parse(["--json", "ls"], {})).json
    assert command_of(parse(["ls", "--json"], {})).json
    assert command_of(parse(["cache", "keys", "--json"], {})).json
    assert not command_of(parse(["ls"], {})).json


def test_options_after_arguments() -> None:
    """
    Options may follow the arguments; -- ends them.
    """
    call = command_of(parse(["call", "svc", '{"a": 1}', "--timeout", "2.5", "--retries", "1"], {}))
    assert (call.service, call.payload, call["timeout"], call["retries"]) == ("svc", {"a": 1}, 2.5, 1)
    assert command_of(parse(["call", "svc", "--", "-1"], {})).payload == -1
    bench = command_of(parse(["bench", "svc", "-c", "10", "-t", "5"], {}))
    assert (bench["concurrency"], bench["time"], bench["calls"]) == (10, 5.0, None)
    assert command_of(parse(["bench", "svc"], {}))["calls"] == 1000


@pytest.mark.parametrize("argv, message", [
    ([], "micro: no command given ('micro --help' lists the commands)"),
    (["dance"], "micro: unknown command 'dance' ('micro --help' lists the commands)"),
    (["ls", "a", "b"], "('micro ls --help' shows its options)"),
    (["cache", "nope"], "micro cache: unknown command 'nope' ('micro cache --help' lists the commands)"),
    (["--registry", "ftp://x", "ls"], "micro: a registry URL 'ftp://x' must be an http:// or https:// URL with a host"),
    (["--token-file", "/no/such/file", "ls"], "micro: cannot read --token-file /no/such/file: No such file"),
    (["ls", "a", "b"], "micro ls: expected at most a SERVICE, got 2 arguments"),
    (["ls", "--bogus"], "micro ls: option --bogus not recognized"),
    (["call"], "micro call: expected NAME and an optional JSON payload, got 0 arguments"),
    (["call", "a b"], "micro call: invalid service name 'a b'"),
    (["call", "svc", "{nope"], "micro call: the payload is not JSON: Expecting property name"),
    (["call", "svc", "hello"], "(a string needs quotes: '\"text\"')"),
    (["call", "svc", "{a: 1}"], "line 1 column 2 (char 1) ('micro call --help' shows its options)"),
    (["call", "svc", "@/no/such.json"], "micro call: cannot read /no/such.json: No such file"),
    (["call", "svc", "--timeout", "0"], "micro call: '0' is not a positive number of seconds"),
    (["bench", "svc", "-n", "5", "-t", "1"], "micro bench: give -n CALLS or -t SECONDS, not both"),
    (["publish", "orders.*", "1"], "micro publish: cannot publish to 'orders.*'"),
    (["publish", "orders"], "micro publish: expected a CHANNEL and a JSON message, got 1 argument"),
    (["subscribe", "a..b"], "micro subscribe: channel 'a..b' has an empty segment"),
    (["cache"], "micro cache: which one? get, set, del, keys"),
    (["cache", "get", "*"], "micro cache get: '*' is not a key"),
    (["get", "api"], "micro get: a path starts with '/'"),
    (["get", "/x", "-H", "nocolon"], "micro get: a header is 'Name: value'"),
])
def test_a_wrong_command_line_is_one_line_naming_the_command(argv: list[str], message: str) -> None:
    """
    Every wrong command line is a usage error: one line, starting with the command it is about.
    """
    line = _error(argv)
    assert message in line and "\n" not in line


def test_stdin_payload() -> None:
    """
    - reads the payload from standard input, as JSON.
    """
    assert payload("-", io.BytesIO(b'{"from": "stdin"}')) == {"from": "stdin"}
    with pytest.raises(usage.UsageError, match="standard input is not JSON"):
        payload("-", io.BytesIO(b"print('no eval')"))


EVERY_COMMAND = [[name] for name, _, _, _ in MicroOptions.subCommands] + [
    ["cache", name] for name, _, _, _ in Cache.subCommands]


@pytest.mark.parametrize("argv", [[]] + EVERY_COMMAND + [["bench", "svc"]], ids=" ".join)
def test_help_on_every_command(argv: list[str], capsys: Any) -> None:
    """
    --help prints the command's synopsis and options and exits 0.
    """
    with pytest.raises(SystemExit) as caught:
        parse(argv + ["--help"], {})
    assert caught.value.code == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith("Usage: micro [--registry URL[,URL]] [--token-file PATH] [--json] ")
    path = argv[:2] if argv[:1] == ["cache"] else argv[:1]
    assert first.split("[--json] ")[1].startswith(" ".join(path) or "COMMAND") and "--help" in text


def test_every_command_has_help_text() -> None:
    """
    Each command (and each cache command) has a description for --help.
    """
    for name, _, command, summary in MicroOptions.subCommands:
        assert summary and command.longdesc, name
    for name, _, command, summary in Cache.subCommands:
        assert summary and command.longdesc, name


def test_version(capsys: Any) -> None:
    """
    --version prints micro's version.
    """
    with pytest.raises(SystemExit):
        parse(["--version"], {})
    assert capsys.readouterr().out == f"micro {__version__}\n"
