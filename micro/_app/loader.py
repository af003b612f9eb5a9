# -*- test-case-name: tests.twistd.test_taps -*-
"""
Importing the app module that C{twistd micro-service --module} names.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from micro._kernel.errors import describe_error


class AppLoadError(Exception):
    """
    The app module cannot be imported; the message says why, in one line.
    """


def load_app_module(name: str) -> ModuleType:
    """
    Import C{name}, a dotted module name or a path to a C{.py} file.

    The current directory is put on C{sys.path} first, as C{python -m}
    does: the C{twistd} script does not, and C{--module app} with C{app.py}
    in the current directory would otherwise fail.
    """
    if not name:
        raise AppLoadError("--module needs a module name, like 'app' or 'mypackage.services'")
    if name.endswith(".py"):
        return _load_file(name)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        raise AppLoadError(f"cannot import module {name!r}: {e} (searched {cwd} and the Python path)") from None
    except Exception as e:
        raise AppLoadError(f"importing module {name!r} failed: {describe_error(e)}") from None


def _load_file(path: str) -> ModuleType:
    if not os.path.isfile(path):
        raise AppLoadError(f"no such file: {path}")
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise AppLoadError(f"importing {path} failed: {describe_error(e)}") from None
    return module
