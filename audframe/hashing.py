"""SHA-256 of normalized keys, as polars expressions.

Hashing uses the polars-hash plugin (``chash.sha2_256``). If the plugin cannot be
loaded (it is compiled against one polars ABI and can break on a polars upgrade),
a ``hashlib`` fallback with identical output takes over and says so once in the
``audframe`` log.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import polars as pl

from audframe.distinct import collect_select, per_distinct_batch
from audframe.errors import ColumnTypeError, ValidationError
from audframe.frames import Frame, require_key_columns
from audframe.keys import HASHED_KEYS, ROW_UNIQUE_KEYS
from audframe.schemas import DIGEST, EMPTY_DIGEST, not_normalized
from audframe.whitespace import trim

__all__ = ["digest_text", "hash", "hash_id", "hash_key", "hash_normalized", "sha256"]

log = logging.getLogger("audframe")

#: A digest as users may give it: 64 hex characters in any case (sent lowercased).
_ANY_CASE_DIGEST = r"^[0-9A-Fa-f]{64}$"

_plugin_state: dict[str, bool] = {}


def _plugin_works() -> bool:
    """Whether the polars-hash plugin loads and hashes correctly (checked once)."""
    if "ok" not in _plugin_state:
        try:
            import polars_hash  # noqa: F401

            got = pl.select(pl.lit("abc").chash.sha2_256()).item()  # type: ignore[attr-defined]
            _plugin_state["ok"] = got == hashlib.sha256(b"abc").hexdigest()
        except Exception:  # any failure to load or run the plugin means: fall back
            _plugin_state["ok"] = False
        if not _plugin_state["ok"]:
            log.warning(
                "polars-hash plugin unavailable; hashing with hashlib (same output, slower)"
            )
    return _plugin_state["ok"]


def _hashlib_batch(s: pl.Series, **_polars: Any) -> pl.Series:
    return pl.Series(
        s.name,
        [None if v is None else hashlib.sha256(v.encode()).hexdigest() for v in s],
        dtype=pl.String,
    )


def sha256(expr: pl.Expr, *, use_plugin: bool | None = None) -> pl.Expr:
    """SHA-256 of each value's UTF-8 bytes.

    Parameters
    ----------
    expr : String expression.
    use_plugin : force (``True``) or avoid (``False``) the polars-hash plugin;
        ``None`` uses it when it loads.

    Returns
    -------
    String expression of 64 lowercase hex characters. Null stays null.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(sha256(pl.lit("mary"))).item()[:16]
    '6915771be1c5aa0c'
    """
    if use_plugin is None:
        use_plugin = _plugin_works()
    if use_plugin:
        import polars_hash  # noqa: F401  (registers the ``chash`` namespace)

        return expr.chash.sha2_256()  # type: ignore[attr-defined, no-any-return]
    return expr.map_batches(_hashlib_batch, return_dtype=pl.String, is_elementwise=True)


def digest_text(expr: pl.Expr) -> pl.Expr:
    """String: the trimmed value where it is a digest (64 hex characters, any case), else null.

    Only values of 64 bytes or more can be one, so only those are trimmed and
    matched: the other cells cost next to nothing (most columns hold no digest).
    """
    trimmed = trim(pl.when(expr.str.len_bytes() >= 64).then(expr))
    return pl.when(trimmed.str.contains(_ANY_CASE_DIGEST)).then(trimmed)


def hash_key(expr: pl.Expr, *, use_plugin: bool | None = None) -> pl.Expr:
    """Hash one normalized key column, passing pre-hashed cells through.

    Input String; output String of 64 lowercase hex characters. Surrounding
    whitespace is not part of the value. Null, ``""`` and blank cells become null
    (the digest of an empty string is never produced). A cell that, trimmed, is 64
    hex characters is lowercased and kept, not hashed again; the digest of an empty
    string becomes null too.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"FN": ["mary", "", None, " " + "AB" * 32]})
    >>> [v and v[:8] for v in df.select(hash_key(pl.col("FN")))["FN"]]
    ['6915771b', None, None, 'abababab']
    """
    trimmed, digest = trim(expr), digest_text(expr)
    lowered = digest.str.to_lowercase()
    return (
        pl.when(digest.is_not_null())
        .then(pl.when(lowered != EMPTY_DIGEST).then(lowered))
        .when(trimmed != "")
        .then(sha256(trimmed, use_plugin=use_plugin))
        .otherwise(None)
    )


def hash_normalized(expr: pl.Expr, *, use_plugin: bool | None = None) -> pl.Expr:
    """:func:`hash_key` of a value as :func:`audframe.normalize` leaves it, more cheaply.

    Input String, already trimmed, with any digest already lowercase (so nothing is
    trimmed or lowercased again); output String of 64 lowercase hex characters. A
    digest passes through; null and ``""`` become null.
    """
    return (
        pl.when(expr.str.contains(DIGEST))
        .then(expr)
        .when(expr != "")
        .then(sha256(expr, use_plugin=use_plugin))
    )


def hash_id(expr: pl.Expr, *, use_plugin: bool | None = None) -> pl.Expr:
    """SHA-256 of every non-blank trimmed value alike, for EXTERN_ID when asked.

    Input String; output String of 64 lowercase hex characters. Null and blank
    cells become null. Unlike :func:`hash_key`, an id that happens to look like a
    digest is an id, not a digest: it is hashed too.
    """
    text = trim(expr)
    return pl.when(text != "").then(sha256(text, use_plugin=use_plugin))


#: A cell hash() passes through: blank, or a digest in any case with spaces around it.
_BLANK_OR_DIGEST = r"^\s*(?:[0-9A-Fa-f]{64}\s*)?$"


def _unhashable(key: str) -> pl.Expr:
    """Boolean: a cell ``hash`` refuses: present, not blank, neither normalized nor a digest."""
    passed = pl.col(key).str.contains(_BLANK_OR_DIGEST)
    return (not_normalized(key, digest=False) & ~passed).fill_null(False)


def _refuse(counts: dict[str, int]) -> None:
    offenders = {c: n for c, n in counts.items() if n}
    if offenders:
        listed = ", ".join(f"{c} ({n} cells)" for c, n in offenders.items())
        raise ValidationError(
            f"columns are not normalized: {listed}; call audframe.normalize(...) "
            "before audframe.hash(...)"
        )


#: Refused cells found per batch, as (column, count): appended from polars' threads
#: (``list.append`` is atomic, a read-modify-write of a dict entry is not).
_Found = list[tuple[str, int]]


def _checked_hash(key: str, use_plugin: bool | None, found: _Found | None) -> pl.Expr:
    """``hash_key`` over one column, refusing cells that are not normalized.

    Checks and hashes run together, once per distinct value for repetitive keys.
    ``found`` collects the count of refused cells per column (raised by the caller,
    which can then name every column); without it a batch with one raises at once.
    """
    work = [_unhashable(key).alias("bad"), hash_key(pl.col(key), use_plugin=use_plugin)]

    def run(rows: pl.DataFrame) -> pl.Series:
        out = rows.lazy().select(work).collect(engine="in-memory")
        bad, digests = out.get_column("bad"), out.get_column(key)
        return pl.struct(bad, digests, eager=True)

    def check(batch: pl.Series) -> pl.Series:
        bad = int(batch.struct.field("bad").sum())
        if bad and found is None:
            _refuse({key: bad})
        if bad and found is not None:
            found.append((key, bad))
        return batch.struct.field(key)

    both = pl.Struct({"bad": pl.Boolean, key: pl.String})
    packed = per_distinct_batch(
        {key: pl.col(key)}, run, both, dedupe=key not in ROW_UNIQUE_KEYS
    )
    return packed.map_batches(check, return_dtype=pl.String, is_elementwise=True).alias(key)


def _hash_column(key: str, use_plugin: bool | None, found: _Found | None) -> pl.Expr:
    """The hashed column of ``key``: checked hash, or EXTERN_ID by :func:`hash_id`."""
    if key == "EXTERN_ID":
        return hash_id(pl.col(key), use_plugin=use_plugin).alias(key)
    return _checked_hash(key, use_plugin, found)


def hash(
    frame: Frame, *, hash_extern_id: bool = False, use_plugin: bool | None = None
) -> Frame:
    """SHA-256 every hashed key column of a normalized frame.

    Parameters
    ----------
    frame : a DataFrame or LazyFrame as :func:`audframe.normalize` returns it.
    hash_extern_id : hash EXTERN_ID too (every row alike). Off by default: Meta
        matches EXTERN_ID byte for byte. An extern id has no normalized form to tell a
        digest by, so every cell is hashed, one that is a digest too: hash a frame once.
    use_plugin : see :func:`sha256`.

    Returns
    -------
    The same kind of frame, same columns. Hashed keys (EMAIL, PHONE, GEN, DOBY,
    DOBM, DOBD, LN, FN, FI, CT, ST, ZIP, COUNTRY) become 64 lowercase hex or
    null; MADID, LOOKALIKE_VALUE and EXTERN_ID (unless asked) are unchanged.
    A LazyFrame stays lazy.

    Raises
    ------
    ValidationError
        when a hashed-key cell is neither normalized, blank nor a digest (on
        collect, for a LazyFrame): call ``normalize`` first. The message names
        the columns and counts, never the values. Also when the frame has no key
        column at all (its columns are named by the source, not by Meta's keys).
    ColumnTypeError
        when a hashed-key column is not a String (or Categorical) column.
    """
    keys = require_key_columns(frame)
    targets = [k for k in keys if k in HASHED_KEYS or (hash_extern_id and k == "EXTERN_ID")]
    checked = [k for k in targets if k in HASHED_KEYS]
    dtypes = frame.collect_schema()
    wrong = [k for k in checked
             if dtypes[k] not in (pl.String, pl.Null, pl.Categorical)
             and not isinstance(dtypes[k], pl.Enum)]
    if wrong:
        raise ColumnTypeError(
            f"columns {', '.join(wrong)} are not String columns as normalize returns "
            "them; call audframe.normalize(...) before audframe.hash(...)"
        )
    if hash_extern_id and "EXTERN_ID" in targets:
        frame = frame.with_columns(pl.col("EXTERN_ID").cast(pl.String))
    frame = frame.with_columns(pl.col(k).cast(pl.String) for k in checked)
    if isinstance(frame, pl.DataFrame):
        found: _Found = []
        exprs = {c: _hash_column(c, use_plugin, found) if c in targets else pl.col(c)
                 for c in frame.columns}
        hashed = collect_select(frame, exprs)
        counts: dict[str, int] = {}
        for column, bad in found:
            counts[column] = counts.get(column, 0) + bad
        _refuse(counts)
        return hashed
    return frame.with_columns(_hash_column(k, use_plugin, None) for k in targets)
