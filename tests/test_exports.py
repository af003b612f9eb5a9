"""
The public API resolves to the private modules that implement it.
"""

from __future__ import annotations

import micro
import micro._app.api
import micro._app.default
import micro._kernel.config
import micro._app.node
import micro._kernel.errors
import micro.testing


def test_every_exported_name_resolves() -> None:
    """
    Each name in micro.__all__ and micro.testing.__all__ is an attribute.
    """
    for module in (micro, micro.testing):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []


def test_exports_are_the_implementations() -> None:
    """
    micro's names are the very objects of the private modules.
    """
    assert micro.HttpError is micro._kernel.errors.HttpError
    assert micro.call_service is micro._app.api.call_service
    assert micro.create_service is micro._app.api.create_service
    assert micro.Node is micro._app.node.Node
    assert micro.Settings is micro._kernel.config.Settings
    assert micro.default_node is micro._app.default.default_node
