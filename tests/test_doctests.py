"""The examples in audframe's docstrings run, and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import audframe

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(audframe.__path__, prefix="audframe.")
)
#: Modules whose docstrings must carry runnable examples (the public entry points).
WITH_EXAMPLES = {"audframe.normalize", "audframe.report"}


@pytest.mark.parametrize("name", ["audframe", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0


def test_examples_are_found_at_all() -> None:
    attempted = sum(
        doctest.testmod(importlib.import_module(name), report=False).attempted
        for name in WITH_EXAMPLES
    )
    assert attempted >= 4
