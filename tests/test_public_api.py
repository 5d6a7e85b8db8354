"""The public surface: a sorted __all__ whose names all exist."""

from __future__ import annotations

import inspect
from typing import Any

import polars as pl
import pytest

import audframe
from audframe.hashing import hash_key
from audframe.namespace import AudienceExpr, AudienceFrame


def _isort_key(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions: the order ruff's RUF022 keeps."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_all_is_sorted_and_complete() -> None:
    assert audframe.__all__ == sorted(audframe.__all__, key=_isort_key)
    assert len(set(audframe.__all__)) == len(audframe.__all__)
    for name in audframe.__all__:
        assert hasattr(audframe, name), name


def test_every_error_derives_from_the_base_class() -> None:
    errors = [getattr(audframe, n) for n in audframe.__all__ if n.endswith("Error")]
    assert len(errors) >= 8
    assert all(issubclass(e, audframe.AudframeError) for e in errors)
    assert issubclass(audframe.RateLimitError, audframe.GraphAPIError)
    assert issubclass(audframe.NotHashedError, audframe.ValidationError)


def test_namespaces_are_registered_on_frames_and_exprs() -> None:
    df = pl.DataFrame({"email": ["A@B.co"]})
    assert df.audience.normalize()["EMAIL"].to_list() == ["a@b.co"]
    assert df.lazy().audience.normalize().collect()["EMAIL"].to_list() == ["a@b.co"]
    assert df.select(pl.col("email").audience.normalize("EMAIL"))["email"].to_list() == ["a@b.co"]


@pytest.mark.parametrize(
    ("namespace", "method", "function", "own"),
    [
        (AudienceFrame, "normalize", audframe.normalize, "frame"),
        (AudienceFrame, "prepare", audframe.prepare, "frame"),
        (AudienceFrame, "validate", audframe.validate, "frame"),
        (AudienceFrame, "hash", audframe.hash, "frame"),
        (AudienceFrame, "to_payloads", audframe.to_payloads, "frame"),
        (AudienceFrame, "payloads_and_report", audframe.payloads_and_report, "source"),
        (AudienceExpr, "normalize", audframe.normalize_key, "expr"),
        (AudienceExpr, "hash", hash_key, "expr"),
    ],
)
def test_each_namespace_method_takes_every_option_of_its_function(
    namespace: type, method: str, function: Any, own: str
) -> None:
    wanted = dict(inspect.signature(function).parameters)
    del wanted[own]
    offered = dict(inspect.signature(getattr(namespace, method)).parameters)
    del offered["self"]
    assert wanted.keys() <= offered.keys(), (
        f"{namespace.__name__}.{method} lacks {wanted.keys() - offered.keys()}")
    for name, p in wanted.items():
        assert (offered[name].default, offered[name].kind) == (p.default, p.kind), name


def test_the_namespace_validate_passes_examples_on() -> None:
    df = pl.DataFrame({"email": ["x", "y", "a@b.co"]})
    got = df.audience.validate(examples=1)  # type: ignore[attr-defined]
    assert got.equals(audframe.validate(df, examples=1))
    assert got.filter(pl.col("reason").is_not_null())["example_rows"].to_list() == [[0]]
