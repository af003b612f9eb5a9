"""
The twistd plugins: discovery, options, and the services they build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from twisted.application.service import IServiceMaker
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import IPlugin, getPlugins
from twisted.python.usage import UsageError
from zope.interface.verify import verifyObject

from micro._twistd import registry_tap as _registry_tap
from micro._twistd import options as _options
from micro._twistd import service_tap as _service_tap


def test_both_commands_are_discoverable_plugins() -> None:
    """
    twistd finds micro-registry and micro-service, backed by our modules.
    """
    makers = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
    for name in ("micro-registry", "micro-service"):
        assert verifyObject(IServiceMaker, makers[name])
        assert verifyObject(IPlugin, makers[name])
    assert makers["micro-registry"].options is _registry_tap.Options
    assert makers["micro-service"].options is _service_tap.Options


def test_registry_listens_where_the_registry_url_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without --listen, the registry takes MICRO_REGISTRY_URL's port, on
    loopback for a loopback host and everywhere otherwise.
    """
    options = _registry_tap.Options()
    options.parseOptions([])
    assert options["listen"] == "tcp:9999:interface=127.0.0.1"
    monkeypatch.setenv("MICRO_REGISTRY_URL", "http://registry.internal:7000")
    options = _registry_tap.Options()
    options.parseOptions(["--ttl", "2.5"])
    assert (options["listen"], options["ttl"]) == ("tcp:7000", 2.5)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_registry_ttl_must_be_positive(value: str) -> None:
    """
    A ttl that is not a positive number is a usage error.
    """
    with pytest.raises(UsageError):
        _registry_tap.Options().parseOptions(["--ttl", value])


def test_registry_service_listens_on_injected_reactor() -> None:
    """
    makeService listens on the given endpoint when started, and learns its port.
    """
    reactor = MemoryReactorClock()
    options = _registry_tap.Options()
    options.parseOptions(["--listen", "tcp:8123:interface=127.0.0.1"])
    service = _registry_tap.makeService(options, reactor=reactor)
    service.privilegedStartService()
    service.startService()
    [(port, _, _, interface)] = reactor.tcpServers
    assert (port, interface) == (8123, "127.0.0.1")
    assert service.stack.state.ports.base_port == 8123  # type: ignore[attr-defined]
    service.stopService()


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, name: str) -> None:
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_service_module_is_found_in_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    --module finds a module in the current directory without PYTHONPATH,
    and collects its marked services in order.
    """
    _app(tmp_path, monkeypatch, "import micro\n\n@micro.service\ndef b(p):\n    return p\n\n"
                                "@micro.service(name='alpha')\ndef a(p):\n    return p\n\ndef plain(p):\n    return p\n",
         "shop_app_1")
    options = _service_tap.Options()
    options.parseOptions(["--module", "shop_app_1"])
    assert [name for name, _ in options["services"]] == ["b", "alpha"]


@pytest.mark.parametrize("argv, message", [
    (["--module", "no_such_module_x"], "cannot import module 'no_such_module_x'"),
    (["--module", "broken_app_x"], "importing module 'broken_app_x' failed: ZeroDivisionError"),
    (["--module", "empty_app_x"], "has no functions marked @micro.service"),
    (["--module", "missing.py"], "no such file: missing.py"),
])
def test_bad_module_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str) -> None:
    """
    A module that cannot be imported, or has no services, ends twistd with
    one line that says why.
    """
    _app(tmp_path, monkeypatch, "x = 1 / 0\n", "broken_app_x")
    _app(tmp_path, monkeypatch, "import micro\n", "empty_app_x")
    with pytest.raises(SystemExit) as caught:
        _service_tap.Options().parseOptions(argv)
    text = str(caught.value.code)
    assert message in text and "\n" not in text


def test_module_is_required() -> None:
    """
    Without --module, the usage error says what it is for.
    """
    with pytest.raises(UsageError, match="--module is required"):
        _service_tap.Options().parseOptions([])


def test_foreground_twistd_writes_no_pidfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Under twistd -n, the default twistd.pid is dropped; an explicit one stays.
    """
    _app(tmp_path, monkeypatch, "import micro\n\n@micro.service\ndef s(p):\n    return p\n", "pid_app_x")
    for parent, expected in (({"nodaemon": 1, "pidfile": "twistd.pid"}, ""),
                             ({"nodaemon": 1, "pidfile": "mine.pid"}, "mine.pid"),
                             ({"nodaemon": 0, "pidfile": "twistd.pid"}, "twistd.pid")):
        options = _service_tap.Options()
        options.parent = dict(parent)  # type: ignore[attr-defined]
        options.parseOptions(["--module", "pid_app_x"])
        assert options.parent["pidfile"] == expected  # type: ignore[attr-defined]


def test_service_options_reach_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    --registry and --home override the environment for the node built.
    """
    _app(tmp_path, monkeypatch, "import micro\n\n@micro.service\ndef s(p):\n    return p\n", "opt_app_x")
    options = _service_tap.Options()
    options.parseOptions(["--module", "opt_app_x", "--registry", "http://10.1.1.1:9000", "--home", "http://10.1.1.2",
                          "--drain-timeout", "3"])
    service = _service_tap.makeService(options, reactor=MemoryReactorClock())
    node = service.node  # type: ignore[attr-defined]
    assert node.registry_client.url == "http://10.1.1.1:9000"
    assert node.settings.service_home() == "http://10.1.1.2"
    assert options["drain-timeout"] == 3.0


def test_production_registry_without_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    MICRO_ENV=production and no token: one line, and no registry.
    """
    monkeypatch.setenv("MICRO_ENV", "production")
    with pytest.raises(SystemExit) as caught:
        _registry_tap.Options().parseOptions([])
    assert "refusing to start an open registry" in str(caught.value.code)
    assert "\n" not in str(caught.value.code)


def test_token_comes_from_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    --token-file wins over MICRO_REGISTRY_TOKEN; an empty or missing file is
    a one-line error.
    """
    monkeypatch.setenv("MICRO_ENV", "production")
    monkeypatch.setenv("MICRO_REGISTRY_TOKEN", "from-env")
    options = _registry_tap.Options()
    options.parseOptions([])
    assert options["token"] == "from-env"
    (tmp_path / "token").write_text("from-file\n")
    options = _registry_tap.Options()
    options.parseOptions(["--token-file", str(tmp_path / "token")])
    assert options["token"] == "from-file"
    service = _registry_tap.makeService(options, reactor=MemoryReactorClock())
    assert service.stack.commands.token == "from-file"  # type: ignore[attr-defined]
    (tmp_path / "empty").write_text("  \n")
    for path, words in ((tmp_path / "empty", "is empty"), (tmp_path / "nope", "cannot read --token-file")):
        with pytest.raises(SystemExit) as caught:
            _registry_tap.Options().parseOptions(["--token-file", str(path)])
        assert words in str(caught.value.code)


def test_in_process_registry_refuses_production_without_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    registry_server() in production without a token raises before listening.
    """
    from micro._registry.server import OpenRegistryRefused, start_registry

    monkeypatch.setenv("MICRO_ENV", "production")
    reactor = MemoryReactorClock()
    with pytest.raises(OpenRegistryRefused):
        start_registry(reactor, "http://127.0.0.1:0")
    assert reactor.tcpServers == []


@pytest.mark.parametrize("url", ["127.0.0.1:9955", "localhost:9999", "ftp://x:1", "http://"])
def test_a_malformed_registry_url_is_one_line(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """
    MICRO_REGISTRY_URL without http:// (the usual typo) ends either command
    with one line naming the variable, rather than another port or endless retries.
    """
    monkeypatch.setenv("MICRO_REGISTRY_URL", url)
    for options in (_registry_tap.Options(), _service_tap.Options()):
        with pytest.raises(SystemExit) as caught:
            options.parseOptions(["--module", "x"] if isinstance(options, _service_tap.Options) else [])
        text = str(caught.value.code)
        assert text.startswith("twistd micro-") and f"MICRO_REGISTRY_URL {url!r}" in text and "\n" not in text


@pytest.mark.parametrize("argv, message", [
    (["--registry", "localhost:9999"], "twistd micro-service: --registry 'localhost:9999' must be an http:// or "
                                       "https:// URL with a host"),
    (["--home", "10.0.0.5"], "twistd micro-service: --home '10.0.0.5' must be an http:// or https:// URL with a host"),
    (["--home", "http://0.0.0.0"], "twistd micro-service: --home 'http://0.0.0.0' names 0.0.0.0, where a server "
                                   "listens, not an address other processes can reach"),
])
def test_bad_service_urls_are_one_line(argv: list[str], message: str) -> None:
    """
    --registry and --home are checked before anything starts.
    """
    with pytest.raises(SystemExit) as caught:
        _service_tap.Options().parseOptions([*argv, "--module", "x"])
    assert str(caught.value.code).startswith(message)


def test_service_url_from_the_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    MICRO_SERVICE_URL=http://0.0.0.0 is refused, naming the variable.
    """
    monkeypatch.setenv("MICRO_SERVICE_URL", "http://0.0.0.0")
    with pytest.raises(SystemExit) as caught:
        _service_tap.Options().parseOptions(["--module", "x"])
    assert str(caught.value.code).startswith("twistd micro-service: MICRO_SERVICE_URL 'http://0.0.0.0' names 0.0.0.0")


def test_listen_must_agree_with_the_registry_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    --listen on another port than MICRO_REGISTRY_URL's is a one-line
    error; the same port, or no MICRO_REGISTRY_URL, is fine.
    """
    monkeypatch.setenv("MICRO_REGISTRY_URL", "http://127.0.0.1:9999")
    with pytest.raises(SystemExit) as caught:
        _registry_tap.Options().parseOptions(["--listen", "tcp:9998:interface=127.0.0.1"])
    assert str(caught.value.code) == (
        "twistd micro-registry: --listen tcp:9998:interface=127.0.0.1 is port 9998, but MICRO_REGISTRY_URL "
        "http://127.0.0.1:9999 says 9999: processes of this cluster would dial 9999; make them agree "
        "(or leave out --listen)")
    _registry_tap.Options().parseOptions(["--listen", "tcp:port=9999"])
    monkeypatch.delenv("MICRO_REGISTRY_URL")
    _registry_tap.Options().parseOptions(["--listen", "tcp:9998"])


@pytest.mark.parametrize("description, port", [
    ("tcp:9999", 9999), ("tcp:9999:interface=127.0.0.1", 9999), ("tcp:interface=\\:\\:1:port=80", 80),
    ("tcp6:port=7000", 7000), ("ssl:443:privateKey=k.pem", 443), ("unix:/tmp/s", None), ("tcp:interface=x", None),
])
def test_listen_port_reads_strports(description: str, port: int | None) -> None:
    """
    The port of a listen description, where it says one.
    """
    assert _options.listen_port(description) == port


def test_a_service_takes_its_token_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    micro-service --token-file, as the registry has: the node carries the
    file's token; a missing file is a one-line error.
    """
    _app(tmp_path, monkeypatch, "import micro\n\n@micro.service\ndef s(p):\n    return p\n", "token_app_x")
    monkeypatch.setenv("MICRO_REGISTRY_TOKEN", "from-env")
    (tmp_path / "token").write_text("from-file\n")
    options = _service_tap.Options()
    options.parseOptions(["--module", "token_app_x", "--token-file", str(tmp_path / "token")])
    node = _service_tap.makeService(options, reactor=MemoryReactorClock()).node  # type: ignore[attr-defined]
    assert node.settings.token == "from-file"
    with pytest.raises(SystemExit) as caught:
        _service_tap.Options().parseOptions(["--module", "token_app_x", "--token-file", str(tmp_path / "nope")])
    assert str(caught.value.code).startswith("twistd micro-service: cannot read --token-file")


def test_service_help_names_every_mark() -> None:
    """
    --help of micro-service names each mark a module may use.
    """
    text = str(_service_tap.Options())
    for mark in ("@micro.service", "@micro.route", "@micro.subscribe", "@micro.on_start", "@micro.on_stop"):
        assert mark in text


def test_version_names_micro(capsys: pytest.CaptureFixture[str]) -> None:
    """
    --version of either command prints micro's version beside Twisted's.
    """
    import twisted

    import micro

    for options in (_registry_tap.Options(), _service_tap.Options()):
        with pytest.raises(SystemExit) as caught:
            options.parseOptions(["--version"])
        assert caught.value.code == 0
        assert capsys.readouterr().out == f"micro (txmicro) {micro.__version__}, Twisted {twisted.__version__}\n"
