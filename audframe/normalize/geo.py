"""COUNTRY, ST and ZIP: keys whose reference data comes from pycountry (ISO 3166)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

import polars as pl
import pycountry

from audframe.errors import ValidationError
from audframe.normalize.rule import Rule, clean, make_rule, nfc, staged
from audframe.normalize.text import city, fold_latin, only_letters

__all__ = ["country", "country_code", "fold_key", "spreadsheet_text", "state", "zip_code"]

# English names in everyday use that ISO 3166 does not list under that spelling.
_COUNTRY_EXTRAS = {
    "uk": "gb", "britain": "gb", "greatbritain": "gb", "england": "gb", "scotland": "gb",
    "wales": "gb", "northernireland": "gb", "theunitedkingdom": "gb",
    "america": "us", "unitedstatesamerica": "us", "theunitedstates": "us",
    "russia": "ru", "vietnam": "vn", "czechrepublic": "cz", "turkey": "tr",
    "holland": "nl", "thenetherlands": "nl", "ivorycoast": "ci", "macedonia": "mk",
    "swaziland": "sz", "burma": "mm", "capeverde": "cv", "easttimor": "tl",
    "vatican": "va", "macau": "mo", "uae": "ae", "emirates": "ae", "korea": "kr",
    "thebahamas": "bs", "thegambia": "gm", "thephilippines": "ph", "syria": "sy",
    "laos": "la", "moldova": "md", "iran": "ir", "bolivia": "bo", "venezuela": "ve",
    "tanzania": "tz", "brunei": "bn", "micronesia": "fm", "palestine": "ps",
    "drcongo": "cd", "drc": "cd", "democraticrepublicofthecongo": "cd",
    "democraticrepublicofcongo": "cd", "congokinshasa": "cd", "congobrazzaville": "cg",
    "republicofthecongo": "cg", "vaticancity": "va", "vaticancitystate": "va",
    "bosnia": "ba", "trinidad": "tt", "antigua": "ag", "laopdr": "la", "prc": "cn",
    "mainlandchina": "cn", "saotome": "st", "falklands": "fk", "ksa": "sa", "saudi": "sa",
    "republicofireland": "ie", "theuk": "gb", "theus": "us", "theusa": "us", "theuae": "ae",
    "sainthelena": "sh", "sthelena": "sh", "turksandcaicos": "tc", "republicofcongo": "cg",
    "hongkongsar": "hk", "macaosar": "mo", "macausar": "mo",
}
# Spellings of US and Canadian subdivisions that ISO 3166-2 does not list (folded):
# everyday English ones, and the French names of the Canadian provinces and territories
# that differ from the English (Quebec's folds alike).
_STATE_EXTRAS = {
    "washingtondc": "dc", "usvirginislands": "vi", "virginislands": "vi",
    "pei": "pe", "newfoundland": "nl", "yukonterritory": "yt", "nwt": "nt",
    "colombiebritannique": "bc", "nouveaubrunswick": "nb", "nouvelleecosse": "ns",
    "ileduprinceedouard": "pe", "terreneuveetlabrador": "nl", "terreneuve": "nl",
    "territoiresdunordouest": "nt",
    # Canada's abbreviations in everyday use, and its former codes (Quebec's PQ, NF)
    "ont": "on", "que": "qc", "alta": "ab", "sask": "sk", "man": "mb", "nfld": "nl",
    "pq": "qc", "nf": "nl", "tex": "tx",
    # the US military's "states" (APO/FPO mail), by name
    "armedforcesamericas": "aa", "armedforceseurope": "ae", "armedforcespacific": "ap",
}
#: What no country code or name holds but placeholders and typos do: a COUNTRY cell with
#: a digit, ``/``, a backslash or ``#`` is unknown, whatever its letters spell (``N/A`` and
#: Excel's ``#N/A`` are not Namibia, ``US1`` is not the US). Other punctuation passes.
_NOT_A_NAME = r"[\p{N}/\\#]"

#: Regions whose postal codes are US ZIP codes: the US and its territories.
_US_ZIP_REGIONS = ("us", "pr", "vi", "gu", "as", "mp")


def _fold_all(labels: list[str]) -> list[str]:
    """Python-side twin of :func:`fold_key`, for building the look-up tables in one pass."""
    text = nfc(pl.lit(pl.Series(labels, dtype=pl.String)))
    return pl.select(fold_key(text)).to_series().to_list()


#: An ``&`` between two words (a letter on each side, with neither a letter nor another
#: ``&`` in between): ``Trinidad & Tobago``, ``Newfoundland&Labrador``.
_AMPERSAND = r"(\p{L})([^\p{L}&]*)&([^\p{L}&]*\p{L})"
#: Letters that are no letter of a place's name: modifier letters (the ʻokina of
#: ``Hawaiʻi``, superscripts) and the ordinal indicators ª and º, with their marks.
_NOT_A_LETTER_OF_A_NAME = r"[\p{Lm}ªº]\p{M}*"


def fold_key(expr: pl.Expr) -> pl.Expr:
    """Look-up key for names and codes: lowercase, Latin accents dropped, an ``&``
    between two words spelled ``and``, letters only (not modifier letters: the ʻokina
    of ``Hawaiʻi``). Any other ``&`` is punctuation: ``&`` alone is no letters, not
    ``AND`` (Andorra's code)."""
    text = clean(expr)
    # A match takes the next word's first letter, which an "&" right after that letter
    # needs too ("a&b&c"): the second pass spells those.
    for _ in range(2):
        text = text.str.replace_all(_AMPERSAND, "${1}${2}and${3}")
    # Letters only before folding, and no modifier letters or ordinal indicators: what
    # folding would spell out is no country (™ → TM, № → No, ᵘˢ → us, Nº → No)
    text = only_letters(text).str.replace_all(_NOT_A_LETTER_OF_A_NAME, "")
    return fold_latin(text).str.to_lowercase().str.replace_all(r"[\P{L}\p{Lm}]", "")


def _cldr_names() -> dict[str, str]:
    """Alpha-2 code → the English name CLDR gives it (``Hong Kong SAR China``, ``Myanmar
    (Burma)``, ``St. Vincent & Grenadines``, ``Congo - Brazzaville``): what ICU, browsers
    and shop systems write. Only for the codes ISO 3166-1 has (not ``XK``, ``EU``)."""
    from babel import Locale

    return {code: name for code, name in Locale("en").territories.items()
            if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None}


@cache
def _countries() -> dict[str, str]:
    labels: list[str] = []
    codes: list[str] = []
    cldr = _cldr_names()
    for c in pycountry.countries:
        for label in (c.alpha_2, c.alpha_3, c.name, getattr(c, "official_name", None),
                      getattr(c, "common_name", None), cldr.get(c.alpha_2)):
            if label:
                # "Falkland Islands (Malvinas)" is also "Falkland Islands"; "Korea,
                # Republic of" is also "Republic of Korea", "Virgin Islands, U.S." also
                # "U.S. Virgin Islands"
                plain = re.sub(r"\s*\(.*\)", "", label)
                head, comma, tail = plain.partition(", ")
                inverted = f"{tail} {head}" if comma else plain
                for spelling in dict.fromkeys((label, plain, inverted)):
                    labels.append(spelling)
                    codes.append(c.alpha_2.lower())
    table: dict[str, str] = {}
    for key, code in zip(_fold_all(labels), codes, strict=True):
        table.setdefault(key, code)
        if key.startswith("saint"):  # "St. Lucia", "St Kitts and Nevis"
            table.setdefault("st" + key.removeprefix("saint"), code)
    table.update(_COUNTRY_EXTRAS)
    for key, code in list(table.items()):  # "the Netherlands" (names, not codes: "theme")
        if len(key) > 3:
            table.setdefault("the" + key, code)
    return table


@cache
def _subdivisions() -> dict[str, str]:
    """The US's and Canada's subdivisions: ISO 3166-2 code (``US-CA``) → English name."""
    return {
        sub.code: sub.name
        for cc in ("US", "CA")
        for sub in pycountry.subdivisions.get(country_code=cc)  # type: ignore[no-untyped-call]
    }


def _us_states() -> dict[str, str]:
    """The 50 US states' English names → lowercase code."""
    return {sub.name: sub.code.split("-", 1)[1].lower()
            for sub in pycountry.subdivisions.get(country_code="US")  # type: ignore[no-untyped-call]
            if sub.type == "State"}


def _ap_abbreviations() -> dict[str, str]:
    """The AP style's abbreviations of the US states, DC and territories (``Calif.``,
    ``N.H.``, ``W.Va.``), from the us package → lowercase code."""
    import us

    places = [*us.states.STATES_AND_TERRITORIES, us.states.DC]
    return {p.ap_abbr: p.abbr.lower() for p in places if p.ap_abbr}


@cache
def _states() -> dict[str, str]:
    subs = _subdivisions()
    named = {name: iso.split("-", 1)[1].lower() for iso, name in subs.items()}
    # "N. Carolina", "S. Dakota", "W. Virginia"
    named |= {f"{name[0]}. {rest}": code for name, code in list(named.items())
              for first, _, rest in [name.partition(" ")] if first in ("North", "South", "West")}
    named |= _ap_abbreviations()
    # "New York State", "State of Washington", "NY State": the 50 states
    for name, code in _us_states().items():
        named |= {f"{name} State": code, f"State of {name}": code, f"{code.upper()} State": code}
    table = dict(zip(_fold_all(list(named)), named.values(), strict=True))
    table.update({code: code for code in named.values()})
    table.update(_STATE_EXTRAS)
    return table


@cache
def _iso_states() -> dict[str, str]:
    """ISO 3166-2 codes of the subdivisions (``US-CA``) → ``ca``.

    Apart from the names: folded like them, ``CA-PE`` would be the word ``cape``."""
    return {iso: iso.split("-", 1)[1].lower() for iso in _subdivisions()}


def country_code(value: str) -> str:
    """The lowercase ISO 3166-1 alpha-2 code for a code or English name.

    Raises ValidationError when ``value`` is not a country.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"a country is a code ('US', 'GBR') or an English name, got a {type(value).__name__}"
        )
    code: str | None = pl.select(_country_of(nfc(pl.lit(value, pl.String)))).item()
    if code is None:
        raise ValidationError(
            f"{value!r} is not a country; use an ISO 3166 code ('US', 'GBR') or an "
            "English name ('Germany')"
        )
    return code


def country(raw: pl.Expr) -> Rule:
    """COUNTRY: ISO 3166-1 alpha-2, lowercase, from alpha-2, alpha-3 or English names
    (ISO's, CLDR's and common ones).

    ``United States``, ``USA``, ``us`` → ``us``; ``UK`` → ``gb``; ``Korea, South`` →
    ``kr``. Unknown → missing, and so is a cell with a digit, ``/``, a backslash or ``#``
    (``N/A``, ``#N/A``, ``US1``), and ``NA`` (R's missing value: Namibia is ``NAM``).
    """
    code = _country_of(raw)
    return make_rule(
        raw, fold_key(raw), [(code.is_null(), "unknown country")],
        empty="country has no letters", result=code,
    )


def _country_of(text: pl.Expr) -> pl.Expr:
    """String (NFC) → the lowercase alpha-2 code it names, or null (see :func:`country`).

    A name is looked up as written, then turned around at its comma (``Korea, South``,
    ``Bahamas, The``, ``Ireland, Republic of``) or its part in brackets (``Korea (North)``
    → ``North Korea``), and last without that part when it names the same country
    (``Myanmar (Burma)``, ``United States (USA)``; not ``Congo (Kinshasa)``, which
    ``Congo`` alone would make the other Congo)."""
    text = clean(text)

    def code(key: pl.Expr) -> pl.Expr:
        return key.replace_strict(_countries(), default=None, return_dtype=pl.String)

    key = fold_key(text)
    bracketed = r"^([^(]*?)\s*\(([^()]*)\)\s*$"
    main, aside = (code(fold_key(text.str.replace(bracketed, p))) for p in ("${1}", "${2}"))
    found = pl.coalesce(
        code(key),
        code(fold_key(text.str.replace(r"^([^,]+),\s*([^,]+)$", "${2} ${1}"))),
        code(fold_key(text.str.replace(bracketed, "${2} ${1}"))),
        pl.when(text.str.contains(bracketed) & (main == aside)).then(main),
    )
    # R writes NA for a missing value: no Namibia ("NAM", "Namibia") and no placeholder
    return pl.when(~text.str.contains(_NOT_A_NAME) & (key != _R_MISSING)).then(found)


#: What R writes for a missing value, folded (``NA``, ``N.A.``): not Namibia's code.
_R_MISSING = "na"


def state(raw: pl.Expr) -> Rule:
    """ST: US states, DC, US territories and Canadian provinces become their 2-letter code.

    Given by name or code in any case and punctuation (``California``, ``CA``,
    ``N.Y.``, ``new york`` → ``ca``, ``ny``), as an ISO 3166-2 code (``US-CA``), or,
    for Canada, by French name (``Colombie-Britannique`` → ``bc``). Anything else is
    normalized like CT (``Île-de-France`` → ``iledefrance``).
    """
    key = fold_key(raw)
    code = key.replace_strict(_states(), default=None, return_dtype=pl.String)
    # "US-CA", "ca – qc", "US CA": a dash or whitespace between country and subdivision
    iso = clean(raw).str.to_uppercase().str.replace_all(r"[\s\p{Pd}]+", "-")
    iso_code = iso.replace_strict(_iso_states(), default=None, return_dtype=pl.String)
    return make_rule(
        raw, pl.coalesce(code, iso_code, city(raw).value), [], empty="state has no letters"
    )


#: How spreadsheets keep a ZIP's leading zeros in text: ``="02134"`` (a formula),
#: ``'02134`` (and ``'02134'``).
_SPREADSHEET_TEXT = r"^=?\"(.*)\"$|^'(.*?)'?$"


def spreadsheet_text(raw: pl.Expr) -> pl.Expr:
    """``raw`` trimmed, without a spreadsheet's text marks (``="02134"``, ``'02134``).
    String in, String out, null kept."""
    return clean(raw).str.replace(_SPREADSHEET_TEXT, "${1}${2}")


def zip_code(raw: pl.Expr, region: pl.Expr | None = None, *, from_integer: bool = False) -> Rule:
    """ZIP: lowercase, whitespace and dashes removed; US ZIPs cut to their first 5 digits.

    Parameters
    ----------
    raw : String expression.
    region : lowercase alpha-2 country per row (the row's COUNTRY, else the default).
        Without one, a value shaped ``NNNNN``, ``NNNNN-NNNN`` or ``NNNNNNNNN`` is
        taken as a US ZIP.
    from_integer : the source column was a number column. In the US, a ZIP that lost
        its leading zeros is left-padded (``2134`` → ``02134``); a ZIP+4 of 7–8 digits
        to 9 digits first (``21341234`` → ``021341234`` → ``02134``).

    Decision: a US ZIP string of digits is padded the same way (3–4 digits to 5, 7–8
    to 9, when written without a dash), since no US ZIP is shorter than 5 digits and no
    ZIP+4 than 9: a spreadsheet lost its zeros (and wrote ``21341234.0``, which reads as
    its number). A ZIP+4 cut short (``940351``, ``94035-12``) gives its first 5 digits;
    more than 9 digits, or anything but digits, is not a US ZIP (missing).

    A spreadsheet's text marks go first: ``="02134"`` and ``'02134`` read ``02134``.

    Elsewhere, a postcode is letters and digits (``SW1A 1AA``, ``K1A 0B1``, ``01-234``):
    a cell with ``/``, a backslash or ``#`` is a placeholder (``N/A``, Excel's
    ``#N/A``), and one with no letter or digit (``?``, ``.``) no postcode; both missing.

    Decision: the US territories with their own ISO code that use US ZIP codes
    (Puerto Rico ``pr``, US Virgin Islands ``vi``, Guam ``gu``, American Samoa
    ``as``, Northern Mariana Islands ``mp``) follow the US rule. Every Unicode dash
    (``–``, ``—`` …) and the minus sign ``−`` are removed like ``-``.
    """
    text = spreadsheet_text(raw)
    inputs = {
        "raw": raw,
        "text": text,
        "z": text.str.to_lowercase().str.replace_all(r"[\s\-\p{Pd}\u2212]", ""),
    }
    if region is not None:
        inputs["region"] = region

    def build(c: Mapping[str, pl.Expr]) -> Rule:
        z = c["z"]
        shaped_us = z.str.contains(r"^[0-9]{5}([0-9]{4})?$")
        is_us = shaped_us if region is None else pl.when(c["region"].is_not_null()).then(
            c["region"].is_in(_US_ZIP_REGIONS)
        ).otherwise(shaped_us)
        digits = z.str.contains(r"^[0-9]+$")
        n = z.str.len_chars()
        # (7–8 digits written without a dash: "94035-12" is a ZIP+4 cut short)
        zip4 = c["text"].str.contains(r"^[0-9]{7,8}$")
        us = (pl.when(digits & n.is_between(3, 4)).then(z.str.zfill(5))
              .when(zip4).then(z.str.zfill(9)).otherwise(z))
        us_ok = us.str.contains(r"^[0-9]{5,9}$")
        value = pl.when(is_us).then(us.str.slice(0, 5)).otherwise(z)
        return make_rule(
            c["raw"],
            value,
            [
                (is_us & ~us_ok, "zip is not a 5-to-9-digit US zip"),
                (z.str.contains(r"[/\\#]"), "zip holds /, \\ or # (a placeholder: N/A, #N/A)"),
                (~z.str.contains(r"[\p{L}\p{N}]"), "zip has no letters or digits"),
            ],
            empty="zip has no characters",
        )

    return staged(inputs, build)
