"""Normalize and hash in one pass: :func:`prepare`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial

from audframe.frames import Frame
from audframe.hashing import hash_id, hash_normalized
from audframe.keys import HASHED_KEYS
from audframe.normalize import Finish, select_keys

__all__ = ["finishers", "prepare"]


def finishers(*, hash_extern_id: bool = False, use_plugin: bool | None = None) -> dict[str, Finish]:
    """Key → the function :func:`prepare` applies to its normalized value: SHA-256 for
    the hashed keys (a digest passes through), and for EXTERN_ID with ``hash_extern_id``."""
    finish: dict[str, Finish] = dict.fromkeys(
        HASHED_KEYS, partial(hash_normalized, use_plugin=use_plugin)
    )
    if hash_extern_id:
        finish["EXTERN_ID"] = partial(hash_id, use_plugin=use_plugin)
    return finish


def prepare(
    frame: Frame,
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    keep: Iterable[str] = (),
    hash_extern_id: bool = False,
    use_plugin: bool | None = None,
) -> Frame:
    """``hash(normalize(frame, …))`` in one pass: the hashed keys of a raw customer table.

    Each value is hashed right after it is normalized, inside the same pass, so
    repetitive keys (names, cities, ZIPs, countries) are normalized and hashed once
    per distinct value, and nothing is checked twice: every normalized value is fit
    to hash by construction.

    Parameters
    ----------
    frame, mapping, default_country, dob_format, keep : as for
        :func:`audframe.normalize`.
    hash_extern_id, use_plugin : as for :func:`audframe.hash`.

    Returns
    -------
    The same kind of frame (a LazyFrame stays lazy), equal to
    ``hash(normalize(frame, mapping, …), hash_extern_id=…)``: one column per mapped
    key in catalogue order. Hashed keys are String, 64 lowercase hex or null (null
    where the input is null, blank or invalid for its key); MADID, LOOKALIKE_VALUE
    (Float64) and EXTERN_ID (unless ``hash_extern_id``) are normalized, not hashed.
    ``keep`` columns follow unchanged.

    Raises
    ------
    As :func:`audframe.normalize`: bad *values* never raise.

    Examples
    --------
    >>> import polars as pl, audframe
    >>> df = pl.DataFrame({"email": [" Ann@Example.com ", "nope"]})
    >>> [v and v[:12] for v in audframe.prepare(df)["EMAIL"]]
    ['71d4f55f72fa', None]
    """
    return select_keys(
        frame, mapping, default_country=default_country, dob_format=dob_format, keep=keep,
        finish=finishers(hash_extern_id=hash_extern_id, use_plugin=use_plugin),
    )
