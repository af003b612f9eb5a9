"""
The route table: path validation, matching, replacement and ownership.
"""

from __future__ import annotations

import pytest

from micro import HttpError
from micro._kernel.route_paths import check_data_type, check_route_path
from micro._registry.routes.table import RouteTable


@pytest.mark.parametrize("path", ["/", "/api/users", "/api/users/*", "/*", "/api*", "/café", "/a-b_c.d~e/%20x"])
def test_valid_paths_pass(path: str) -> None:
    """
    Paths that start with '/' and hold no forbidden characters are accepted as they are.
    """
    assert check_route_path(path) == path


@pytest.mark.parametrize("path, why", [
    ("api/users", "must start with '/'"),
    ("", "must start with '/'"),
    ("/api users", "whitespace or control"),
    ("/api\tusers", "whitespace or control"),
    ("/api\nusers", "whitespace or control"),
    ("/api\x00", "whitespace or control"),
    ("/api\x7f", "whitespace or control"),
    ("/api\u00a0x", "whitespace or control"),
    ("/api?x=1", "queries are not part"),
    ("/api#top", "queries are not part"),
    ("/api/*/users", "only at its end"),
    ("/" + "a" * 2048, "longer than"),
])
def test_bad_paths_are_400(path: str, why: str) -> None:
    """
    A path that does not start with '/' or holds whitespace, control
    characters, a query or a misplaced '*' is refused with a 400 saying why.
    """
    with pytest.raises(HttpError) as caught:
        check_route_path(path)
    assert caught.value.status == 400
    assert why in caught.value.message


@pytest.mark.parametrize("value", [42, None, ["/x"]])
def test_non_string_paths_are_400(value: object) -> None:
    """
    A path that is not a string is a 400 naming its type.
    """
    with pytest.raises(HttpError) as caught:
        check_route_path(value)
    assert caught.value.status == 400 and "must be a string" in caught.value.message


def test_data_types() -> None:
    """
    'dynamic' and media types pass; None means dynamic; anything else is a 400.
    """
    assert check_data_type("dynamic") == "dynamic"
    assert check_data_type(None) == "dynamic"
    assert check_data_type("text/html; charset=utf-8") == "text/html; charset=utf-8"
    for bad in ("html", "", 7, "text/html\r\nx: y"):
        with pytest.raises(HttpError) as caught:
            check_data_type(bad)
        assert caught.value.status == 400


def _table(*routes: tuple[str, str]) -> RouteTable:
    table = RouteTable()
    for path, service in routes:
        table.add(path, service)
    return table


def _served_by(table: RouteTable, path: str) -> str | None:
    entry = table.match(path)
    return None if entry is None else entry.service


def test_direct_routes_match_exactly() -> None:
    """
    A direct route matches its own path only: not a longer one, not one with a trailing slash.
    """
    table = _table(("/api/users", "users"))
    assert _served_by(table, "/api/users") == "users"
    assert _served_by(table, "/api/users/") is None
    assert _served_by(table, "/api/users/1") is None
    assert _served_by(table, "/api/user") is None


@pytest.mark.parametrize("order", [1, -1])
def test_longest_wildcard_prefix_wins_whatever_the_order(order: int) -> None:
    """
    Among wildcards the longest matching prefix wins, in either registration order.
    """
    table = _table(*[("/*", "root"), ("/api/*", "api"), ("/api/users/*", "users")][::order])
    assert _served_by(table, "/api/users/123") == "users"
    assert _served_by(table, "/api/users/") == "users"
    assert _served_by(table, "/api/orders/9") == "api"
    assert _served_by(table, "/api") == "root"
    assert _served_by(table, "/elsewhere") == "root"


def test_direct_route_beats_wildcard() -> None:
    """
    A direct route wins over a wildcard that also covers its path.
    """
    table = _table(("/api/users/*", "controller"), ("/api/users/profile", "profile"))
    assert _served_by(table, "/api/users/profile") == "profile"
    assert _served_by(table, "/api/users/123") == "controller"


def test_wildcard_prefix_need_not_end_at_a_slash() -> None:
    """
    '/api*' covers '/api', '/api/x' and '/apix'; wildcard characters in the prefix are literal.
    """
    table = _table(("/api*", "api"), ("/a.b/*", "dots"))
    assert [_served_by(table, p) for p in ("/api", "/api/x", "/apix", "/ap")] == ["api", "api", "api", None]
    assert _served_by(table, "/a.b/1") == "dots"
    assert _served_by(table, "/aXb/1") is None


def test_non_ascii_paths_match_their_wire_form() -> None:
    """
    A route registered as '/café' matches the percent-encoded path clients send.
    """
    table = _table(("/café", "cafe"), ("/ü/*", "umlaut"))
    assert _served_by(table, "/caf%C3%A9") == "cafe"
    assert _served_by(table, "/%C3%BC/x") == "umlaut"


def test_registering_a_path_again_replaces_it() -> None:
    """
    A second registration of a path replaces the first and reports what it replaced.
    """
    table = RouteTable()
    assert table.add("/x", "first") is None
    replaced = table.add("/x", "second", "text/plain")
    assert replaced is not None and replaced.service == "first"
    entry = table.match("/x")
    assert entry is not None and (entry.service, entry.data_type) == ("second", "text/plain")
    assert len(table) == 1


@pytest.mark.parametrize("first, second", [("svc", "svc"), ("old", "new")])
def test_a_route_lives_while_a_node_that_declared_its_target_lives(first: str, second: str) -> None:
    """
    Two nodes declare a path, the second to the same service or to another
    one that replaces it: the first's death leaves the route, the second's
    takes it away.
    """
    table = RouteTable()
    table.add("/x", first, node="n1")
    table.add("/x", second, node="n2")
    assert table.release_node("n1") == []
    assert _served_by(table, "/x") == second
    assert table.release_node("n2") == ["/x"]
    assert table.match("/x") is None


def test_routes_registered_without_a_node_stay() -> None:
    """
    A route registered without a node survives the death of nodes that also claimed it.
    """
    table = RouteTable()
    table.add("/x", "svc")
    table.add("/x", "svc", node="n1")
    assert table.release_node("n1") == []
    assert _served_by(table, "/x") == "svc"


def test_remove_withdraws_a_claim_or_the_route() -> None:
    """
    Removing with a node withdraws only that node's claim; without one, the route itself.
    """
    table = RouteTable()
    table.add("/x", "svc", node="n1")
    table.add("/x", "svc", node="n2")
    assert table.remove("/x", "n1") is False
    assert table.remove("/x", "n2") is True
    assert table.match("/x") is None
    table.add("/y/*", "svc", node="n1")
    assert table.remove("/y/*") is True
    assert table.match("/y/z") is None and len(table) == 0


def test_entries_are_sorted_and_describable() -> None:
    """
    Entries come sorted by path and describe themselves as the protocol spells them.
    """
    table = _table(("/b", "b"), ("/a/*", "a"))
    assert [e.describe() for e in table.entries()] == [
        {"path": "/a/*", "service": "a", "dataType": "dynamic"},
        {"path": "/b", "service": "b", "dataType": "dynamic"},
    ]
