"""Which source column feeds which Meta key: explicit mappings and the alias table."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import NoReturn

import polars as pl

from audframe.errors import ColumnNotFoundError, UnknownKeyError, ValidationError
from audframe.frames import HEADER_ADVICE, column_names, data_like, listed_columns, require_columns
from audframe.keys import DOB, DOB_ALIASES, INPUT_KEYS, KEYS, canonical_key

__all__ = ["ALIASES", "detect_mapping", "resolve_mapping"]

log = logging.getLogger("audframe")

#: Source-column name (lowercase, separators as ``_``) → Meta key, used without a mapping.
ALIASES: dict[str, str] = {
    **{alias: k.name for k in KEYS.values() for alias in k.aliases},
    **dict.fromkeys(DOB_ALIASES, DOB),
}


def _plain(column: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")


def detect_mapping(frame: pl.DataFrame | pl.LazyFrame) -> dict[str, str]:
    """Recognise key columns by name (``email``, ``e_mail``, ``phone_number`` …).

    Returns Meta key → column, in catalogue order; the first matching column wins, and
    a warning names the others. Raises ColumnNotFoundError, listing the columns, when
    none is recognised.
    """
    found: dict[str, str] = {}
    for column in column_names(frame):
        key = ALIASES.get(_plain(column))
        if key is not None and key in found:
            log.warning("%s: columns %r and %r are both named like it; %r is used (pass a "
                        "mapping to choose)", key, found[key], column, found[key])
        elif key is not None:
            found[key] = column
    if DOB in found and any(k in found for k in ("DOBY", "DOBM", "DOBD")):
        del found[DOB]
    if not found:
        raise ColumnNotFoundError(
            "no column is named like a Meta key; columns are: "
            f"{listed_columns(column_names(frame))}; pass a mapping such as "
            "{'EMAIL': 'your_email_column'} (on the command line: --map EMAIL=your_email_column)"
        )
    order = [*KEYS, DOB]
    return {k: found[k] for k in sorted(found, key=order.index)}


def resolve_mapping(
    frame: pl.DataFrame | pl.LazyFrame, mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """Check a user's mapping (keys in any case) or detect one; return key → column.

    Raises UnknownKeyError for an empty mapping, or a key Meta does not know or given
    twice, ColumnNotFoundError naming the columns that do exist, and ValidationError for
    a frame with a column named like a customer's value (a table read without its header
    row: its first customer would be lost).
    """
    like = {c: kind for c in column_names(frame) if (kind := data_like(c))}
    if "email" in like.values():  # no header row: its first customer would be lost
        _headerless("a column is named like an email address")
    if mapping is None:
        found = detect_mapping(frame)
        _check_header(found, like)
        log.info("columns recognised by name: %s", ", ".join(f"{k}={c}" for k, c in found.items()))
        return found
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "mapping takes a dict of Meta key → column name, such as {'EMAIL': 'email'}; "
            f"got a {type(mapping).__name__}"
        )
    if not mapping:
        raise UnknownKeyError(
            "the mapping is empty; map at least one key, such as {'EMAIL': 'your_email_column'} "
            f"(valid keys are: {', '.join(INPUT_KEYS)}), or pass None to recognise columns by name"
        )
    resolved: dict[str, str] = {}
    for name, column in mapping.items():
        key = canonical_key(name)
        if key in resolved:
            raise UnknownKeyError(f"key {key} is mapped twice; map each key to one column")
        if not isinstance(column, str):
            raise UnknownKeyError(f"key {key} must map to a column name, got {column!r}")
        resolved[key] = column
    if DOB in resolved and any(k in resolved for k in ("DOBY", "DOBM", "DOBD")):
        raise UnknownKeyError("map either DOB or DOBY/DOBM/DOBD, not both")
    require_columns(frame, resolved.values())
    _check_header(resolved, like)
    return resolved


def _headerless(what: str) -> NoReturn:
    raise ValidationError(f"{what}: the table seems to have no header row, and its first "
                          f"customer would be lost as one; {HEADER_ADVICE} (on the command "
                          "line: add a header line)")


def _check_header(resolved: Mapping[str, str], like: Mapping[str, str]) -> None:
    """Refuse a key column named like a phone number; warn of another (a numeric id
    may be named so, but so is a column of a table without its header row). ``like``:
    the columns named like a phone number (see :func:`data_like`)."""
    if any(c in like for c in resolved.values()):
        _headerless("a key's column is named like a phone number")
    if like:
        log.warning("a column is named like a phone number (not shown): if the table has no "
                    "header row, its first customer is lost as one; %s", HEADER_ADVICE)
