"""EMAIL, FN, LN, FI, CT and GEN: text keys.

Every function takes a String expression and returns a :class:`Rule`; the public
expression API (:func:`audframe.normalize_key`) takes ``Rule.value``.
"""

from __future__ import annotations

import polars as pl

from audframe.normalize.rule import Rule, clean, make_rule
from audframe.schemas import ADDRESS_WRAPPERS, CONTROLS, PATTERNS

__all__ = [
    "city", "email", "first_initial", "fold_latin", "gender", "letters", "name", "only_letters",
]

#: What letters() drops: each character that is not a letter or a mark, with the marks
#: that follow it, and marks at the start (a mark alone is no letter: "-\u0301" is empty).
#: The modifier letters written as apostrophes (ʼ ʻ ʽ ʾ ʿ ʹ ʺ ˈ, and ꞌ) go too: Unicode
#: files them as letters, but in ``Oʼ Brien``, Ukrainian ``Вʼячеслав`` or ``Kāneʻohe`` they
#: are the apostrophe that ``O'Brien`` loses.
_NOT_LETTER = r"(?:[^\p{L}\p{M}]|[\u02B9-\u02BF\u02C8\uA78B\uA78C])\p{M}*|^\p{M}+"


#: :data:`audframe.schemas.PATTERNS` ``EMAIL`` with the surrounding whitespace that the
#: value loses allowed: a raw cell matches it exactly when its trimmed, lowercased value
#: matches the pattern (lowercasing makes and removes no ``@``, ``.`` or whitespace).
_RAW_EMAIL = r"^\s*" + PATTERNS["EMAIL"][1:-1] + r"\s*$"


def email(raw: pl.Expr) -> Rule:
    """EMAIL: trim, Unicode lowercase; one ``@``, a local part, a dotted domain.

    No Gmail-style dot or ``+tag`` removal. Whitespace inside makes it invalid.

    The value is tested on the raw cell and trimmed once, by ``strip_chars()`` (the same
    characters as :func:`audframe.whitespace.trim`, at half the cost: polars does not
    share it between uses, and here it has one).
    """
    v = clean(raw).str.to_lowercase()
    ats = v.str.count_matches("@", literal=True)
    domain = v.str.split_exact("@", 1).struct.field("field_1")
    return make_rule(
        raw,
        v,
        [
            (ats == 0, "email has no @"),
            (ats > 1, "email has more than one @"),
            (v.str.starts_with("@"), "email has no local part"),
            (v.str.ends_with("@"), "email has no domain"),
            (v.str.contains(r"\s"), "email contains whitespace"),
            (v.str.contains(f"[{CONTROLS}]"), "email holds control characters (NUL …)"),
            (v.str.contains(f"[{ADDRESS_WRAPPERS}]"),
             "email holds <>, brackets, quotes, ',', ';' or ':' (a wrapped or listed address)"),
            (~domain.str.contains(r"^[^.]+(\.[^.]+)+$"), "email domain is not valid"),
        ],
        empty="email is empty",
        result=raw.str.strip_chars().str.to_lowercase(),
        valid=raw.str.contains(_RAW_EMAIL),
    )


def letters(expr: pl.Expr) -> pl.Expr:
    """Lowercase and keep only letters (any script, with the marks that follow them)."""
    return only_letters(clean(expr).str.to_lowercase())


def only_letters(expr: pl.Expr) -> pl.Expr:
    """Only the letters (with the marks that follow them), case kept. Before
    :func:`fold_latin`, so that symbols it would spell out as letters (``™`` → ``TM``,
    ``№`` → ``No``, ``㎝`` → ``cm``) go first: they are not letters of a name."""
    return expr.str.replace_all(_NOT_LETTER, "")


def name(raw: pl.Expr) -> Rule:
    """FN and LN: lowercase, drop punctuation, digits and whitespace; keep every script.

    ``Valéry`` → ``valéry``, ``정`` → ``정``, ``Mary Jane`` → ``maryjane``.
    """
    return make_rule(raw, letters(raw), [], empty="name has no letters")


def first_initial(raw: pl.Expr) -> Rule:
    """FI: the first letter of the normalized first name (``Émilie`` → ``é``)."""
    initial = letters(raw).str.extract(r"^(\p{L}\p{M}*)", 1)
    return make_rule(raw, initial, [], empty="name has no letters")


#: Latin letters that no decomposition folds (a stroke, a ligature, a letter of its own),
#: spelled in ASCII as people type them without the letter: ``Łódź`` → ``Lodz``,
#: ``København`` → ``Kobenhavn``, ``Gießen`` → ``Giessen``, ``Kırşehir`` → ``Kirsehir``.
_UNFOLDED_LATIN = {
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d",
    "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t", "ı": "i", "Æ": "AE", "æ": "ae", "Œ": "OE",
    "œ": "oe", "ß": "ss", "ẞ": "SS", "Þ": "TH", "þ": "th",
}


def fold_latin(expr: pl.Expr) -> pl.Expr:
    """Drop the accents of Latin letters (NFKD, drop their marks, NFC) and spell the
    Latin letters no decomposition folds in ASCII (``ł`` → ``l``, ``æ`` → ``ae``, ``ß`` →
    ``ss``); other scripts stay.

    NFKD also spells out compatibility characters, some in capitals (mathematical ``𝐋``
    → ``L``): lowercase after folding. It spells symbols with letters too (``™`` →
    ``TM``): callers keep only letters before (:func:`only_letters`).
    """
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"(\p{Latin})\p{M}+", "${1}")
        .str.normalize("NFC")
        .str.replace_many(list(_UNFOLDED_LATIN), list(_UNFOLDED_LATIN.values()))
    )


def city(raw: pl.Expr) -> Rule:
    """CT: lowercase, Latin accents folded to ASCII, only letters kept.

    ``São Paulo`` → ``saopaulo``; ``Москва`` → ``москва`` (Decision: non-Latin letters stay).
    """
    v = only_letters(fold_latin(only_letters(clean(raw))).str.to_lowercase())
    return make_rule(raw, v, [], empty="city has no letters")


#: Punctuation, symbols and whitespace before the first or after the last letter.
_AROUND_A_WORD = r"^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$"

_GENDERS = {
    **dict.fromkeys(("m", "male", "man", "boy", "mr"), "m"),
    **dict.fromkeys(("f", "female", "woman", "girl", "mrs", "ms", "miss"), "f"),
}


def gender(raw: pl.Expr) -> Rule:
    """GEN: ``m`` or ``f`` from m/male/man/boy/mr and f/female/woman/girl/mrs/ms/miss.

    Case-insensitive; punctuation around the word is ignored (``Mr.``, ``(f)``). Anything
    else is missing: digits, inner spaces and inner punctuation included (``M1``,
    ``ma le``, and ``Mr(s)``, ``M/S``, ``(wo)man``, which are no one answer).
    """
    key = clean(raw).str.to_lowercase().str.replace_all(_AROUND_A_WORD, "")
    v = key.replace_strict(_GENDERS, default=None, return_dtype=pl.String)
    return make_rule(
        raw, key, [(v.is_null(), "gender not recognised")], empty="gender has no letters", result=v
    )
