"""The pandera contracts of a normalized and a hashed frame, and the fast per-cell checks."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

import audframe
from audframe.errors import ValidationError
from audframe.schemas import (
    PATTERNS,
    check_hashed,
    check_normalized,
    not_digest,
    not_normalized,
)

SECRET = "Secret.Person@Example.com"


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalized() -> pl.DataFrame:
    raw = pl.DataFrame(
        {
            "customer_id": [" c1 ", "c2", None],
            "email": ["John_Smith@gmail.com", None, "nope"],
            "first_name": ["Valéry", "정", None],
            "city": ["São Paulo", None, "Москва"],
            "country": ["United States", "KR", "RU"],
            "madid": ["6D92078A-8246-4BA4-AE5B-76104861E7DC", None, None],
            "value": [44.5, 0.0, None],
        }
    )
    return audframe.normalize(
        raw,
        {"EXTERN_ID": "customer_id", "EMAIL": "email", "FN": "first_name",
         "CT": "city", "COUNTRY": "country", "MADID": "madid", "LOOKALIKE_VALUE": "value"},
    )


def test_a_normalized_frame_passes_and_its_hash_passes_the_hashed_contract() -> None:
    df = normalized()
    assert check_normalized(df) is df
    hashed = audframe.hash(df)
    assert check_hashed(hashed) is hashed


def test_a_normalized_frame_may_hold_lowercase_digests() -> None:
    check_normalized(pl.DataFrame({"EMAIL": [h("x"), "a@b.co", None]}))


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("EMAIL", SECRET),
        ("EMAIL", "no-at-sign.example.com"),
        ("PHONE", "+16505551212"),
        ("FN", "Mary"),
        ("FN", "mary jane"),
        ("COUNTRY", "usa"),
        ("DOBM", "13"),
        ("DOBY", "2999"),
        ("MADID", "00000000-0000-0000-0000-000000000000"),
        ("EXTERN_ID", " padded"),
    ],
)
def test_a_bad_normalized_cell_fails_without_showing_its_value(key: str, bad: str) -> None:
    df = pl.DataFrame({key: [bad, None]}, schema={key: pl.String})
    with pytest.raises(ValidationError, match=key) as info:
        check_normalized(df)
    assert bad.strip() not in str(info.value)
    assert df.select(not_normalized(key))[key].to_list() == [True, False]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_a_lookalike_value_that_is_negative_or_not_finite_fails(bad: float) -> None:
    df = pl.DataFrame({"EMAIL": ["a@b.co", "c@d.co"], "LOOKALIKE_VALUE": [bad, 2.0]})
    for check in (check_normalized, check_hashed):
        with pytest.raises(ValidationError, match="LOOKALIKE_VALUE is a finite number >= 0"):
            check(df)


def test_a_lazyframe_is_checked_on_its_data_and_comes_back_lazy() -> None:
    raw = pl.LazyFrame({"EMAIL": ["John@Example.com"], "PHONE": ["+1 (650) 555"]})
    for check in (check_normalized, check_hashed):
        with pytest.raises(ValidationError, match="EMAIL"):
            check(raw)
    fine = pl.LazyFrame({"EMAIL": [h("a"), None]})
    assert check_hashed(fine) is fine


@pytest.mark.parametrize("frame", [pl.DataFrame, pl.LazyFrame])
def test_a_frame_without_any_key_column_fails_naming_its_columns(frame: type) -> None:
    raw = frame({"email": ["John@Example.com"], "Phone": ["+1 (650) 555"]})
    for check in (check_normalized, check_hashed):
        with pytest.raises(ValidationError,
                           match=r"no Meta-key column.*columns are 'email', 'Phone'.*normalize"):
            check(raw)


@pytest.mark.parametrize("bad", [SECRET, h("x").upper(), h("x")[:63], " " + h("x"), ""])
def test_a_hashed_frame_holds_only_lowercase_digests(bad: str) -> None:
    df = pl.DataFrame({"EMAIL": [h("y"), bad, None]})
    with pytest.raises(ValidationError, match="EMAIL") as info:
        check_hashed(df)
    message = str(info.value)
    if bad:
        assert bad.strip() not in message
    assert h("y") not in message
    assert df.select(not_digest("EMAIL"))["EMAIL"].to_list() == [False, True, False]


def test_the_digest_of_an_empty_string_breaks_both_contracts() -> None:
    empty = hashlib.sha256(b"").hexdigest()
    with pytest.raises(ValidationError, match="EMAIL is a SHA-256 digest, not of an empty"):
        check_hashed(pl.DataFrame({"EMAIL": [h("y"), empty, None]}))
    with pytest.raises(ValidationError, match="EMAIL is normalized"):
        check_normalized(pl.DataFrame({"EMAIL": ["a@b.co", empty]}))
    check_normalized(pl.DataFrame({"EMAIL": ["a@b.co", h("y")]}))  # any other digest passes


def test_the_hashed_contract_leaves_unhashed_keys_as_normalized() -> None:
    df = pl.DataFrame({"EXTERN_ID": ["c1"], "EMAIL": [h("x")], "MADID": ["not-a-uuid"]})
    with pytest.raises(ValidationError, match="MADID"):
        check_hashed(df)


def test_a_wrong_dtype_fails() -> None:
    with pytest.raises(ValidationError, match="EMAIL"):
        check_hashed(pl.DataFrame({"EMAIL": [1, 2]}))


def test_every_string_key_has_a_pattern() -> None:
    assert set(PATTERNS) == set(audframe.KEYS) - {"LOOKALIKE_VALUE"}
