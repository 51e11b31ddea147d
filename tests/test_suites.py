"""Run every suite in ``tests/suites`` under CPython (pyca/cryptography).

Each ``async def test_*`` of each suite module becomes one pytest test with
the id ``module::name``. ``tests/test_pyodide.py`` runs the same functions
inside Pyodide and checks that both runs cover the same set.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest

from pyodide_crypto import runtime

# Plain asserts in the suites get pytest's detailed failure messages.
pytest.register_assert_rewrite("suites", "tests.suites")

# tests/ is a plain folder today (pytest puts it on sys.path); if it ever
# becomes a package, the suites are its subpackage.
if __package__:
    from . import suites
else:
    import suites

SuiteTest = Callable[[], Awaitable[None]]


def _suite_modules() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(suites.__path__))
    return [importlib.import_module(f"{suites.__name__}.{name}") for name in names]


def collect() -> dict[str, SuiteTest]:
    """Every suite test function by ``module::name``, in a stable order."""
    found: dict[str, SuiteTest] = {}
    for module in _suite_modules():
        short = module.__name__.rsplit(".", 1)[-1]
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            # Only functions defined in the suite itself, not imported helpers.
            if name.startswith("test_") and function.__module__ == module.__name__:
                found[f"{short}::{name}"] = function
    return found


SUITE_TESTS = collect()


def test_suites_are_found() -> None:
    assert SUITE_TESTS, "no suite tests were collected from tests/suites"


@pytest.mark.parametrize("test_id", sorted(SUITE_TESTS))
async def test_suite(test_id: str) -> None:
    assert runtime.backend().name == "cpython"

    await SUITE_TESTS[test_id]()
