"""Hypothesis: audframe's normalizers against a small, plain Python reference.

The reference below is written from shared/spec/normalization.md with ``unicodedata``,
``str.lower`` and ``pycountry`` only; it never calls audframe. Each property feeds
a whole list of generated cells through one polars call and compares cell by cell.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import babel
import polars as pl
import pycountry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import audframe

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# ============================================================================ the reference

#: Unicode White_Space: what "trim surrounding whitespace" trims.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
US_ZIP_REGIONS = {"us", "pr", "vi", "gu", "as", "mp"}  # the US and territories on US ZIPs


#: Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), beside Cf.
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]


def invisible(ch: str) -> bool:
    code = ord(ch)
    return unicodedata.category(ch) == "Cf" or any(a <= code <= b for a, b in DEFAULT_IGNORABLE)


def base(value: str) -> str:
    """General rules: NFC before anything else, invisible characters (Cf and the other
    default-ignorable ones) dropped (every key here but EXTERN_ID), then trim."""
    text = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in text if not invisible(ch)).strip(WHITESPACE)


#: Digests of other hash functions, or a SHA-256 behind a prefix: missing, not text.
OTHER_DIGEST = re.compile(r"(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}|[0-9a-fA-F]{96}"
                          r"|[0-9a-fA-F]{128}|(?i:0x|sha-?256:)[0-9a-fA-F]{64})")


def other_digest(value: str) -> bool:
    trimmed = base(value)
    return bool(OTHER_DIGEST.fullmatch(trimmed)) and bool(re.search("[a-fA-F]", trimmed))


def digest(value: str) -> str | None:
    """A cell that, trimmed, is 64 hex characters is a digest: lowercased, passed through."""
    trimmed = base(value)
    return trimmed.lower() if HEX64.fullmatch(trimmed) else None


#: Modifier letters written as apostrophes: no letters of a name (O'Brien's apostrophe).
APOSTROPHES = set("\u02b9\u02ba\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\ua78b\ua78c")


def letters(value: str) -> str:
    """The letters (not apostrophe-like modifiers), each with the marks right after it;
    other marks go."""
    out: list[str] = []
    on_letter = False
    for ch in value:
        kind = "P" if ch in APOSTROPHES else unicodedata.category(ch)[0]
        if kind == "L" or (kind == "M" and on_letter):
            out.append(ch)
        on_letter = kind == "L" or (kind == "M" and on_letter)
    return "".join(out)


#: Latin letters no decomposition folds, as ASCII.
UNFOLDED = {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae",
            "œ": "oe", "ß": "ss", "þ": "th"}
UNFOLDED |= {k.upper(): v.upper() for k, v in UNFOLDED.items() if k not in "ıß"} | {"ẞ": "SS"}


def fold_latin(value: str) -> str:
    """NFKD, drop the combining marks that sit on Latin letters, back to NFC; then the
    Latin letters no decomposition folds, spelled in ASCII."""
    out: list[str] = []
    on_latin = False
    for ch in unicodedata.normalize("NFKD", value):
        if unicodedata.category(ch).startswith("M"):
            if not on_latin:
                out.append(ch)
            continue
        on_latin = unicodedata.name(ch, "").startswith("LATIN")
        out.append(ch)
    return "".join(UNFOLDED.get(ch, ch) for ch in unicodedata.normalize("NFC", "".join(out)))


def control(ch: str) -> bool:
    """C0, DEL and C1: in no email address."""
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F


def ref_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    if (d := digest(raw)) is not None:
        return d
    v = base(raw).lower()
    if v.count("@") != 1 or any(ch in WHITESPACE or ch in '<>()[]\\,;:"' or control(ch)
                                for ch in v):
        return None  # (what wraps or lists addresses: "<john@x.com>", "a@b.co;")
    local, domain = v.split("@")
    labels = domain.split(".")
    if not local or len(labels) < 2 or "" in labels:
        return None
    return v


def unlike_a_digest(value: str | None) -> str | None:
    """A normalized value shaped like a digest would read as pre-hashed: missing."""
    return None if value is not None and HEX64.fullmatch(value) else value


#: What tools write for a missing value: missing for the keys that would take it.
PLACEHOLDERS = {"nan", "NaN", "None", "NULL", "null", "<NA>", "NaT", "N/A", "n/a", "#N/A"}


def ref_name(raw: str | None) -> str | None:
    if raw is None or raw.strip() in PLACEHOLDERS or other_digest(raw):
        return None
    if (d := digest(raw)) is not None:
        return d
    return unlike_a_digest(letters(base(raw).lower()) or None)


def ref_city(raw: str | None) -> str | None:
    if raw is None or raw.strip() in PLACEHOLDERS or other_digest(raw):
        return None
    if (d := digest(raw)) is not None:
        return d
    # letters only before folding: what NFKD spells out (™ → TM) is no letter of a city
    return unlike_a_digest(letters(fold_latin(letters(base(raw))).lower()) or None)


def unmarked(text: str) -> str:
    """A spreadsheet keeps a ZIP's zeros as text: ="02134", '02134 or '02134'."""
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        return text[1:-1]
    if text.startswith('="') and text.endswith('"') and len(text) > 2:
        return text[2:-1]
    if text.startswith("'"):
        return text[1:-1] if text.endswith("'") and len(text) > 1 else text[1:]
    return text


def ref_zip(raw: str | None, region: str | None) -> str | None:
    if raw is None:
        return None
    text = unmarked(base(raw))  # before anything: '02134 is 02134, 'nan a placeholder
    if text.strip() in PLACEHOLDERS or other_digest(text):
        return None
    if (d := digest(text)) is not None:
        return d
    z = "".join(
        ch for ch in text.lower()
        if ch not in WHITESPACE and ch != "-" and unicodedata.category(ch) != "Pd"
    )
    if not z:
        return None
    us = region in US_ZIP_REGIONS if region else bool(re.fullmatch(r"[0-9]{5}([0-9]{4})?", z))
    if not us:
        # a placeholder (N/A, #N/A), or no letter or digit at all: no postcode
        if re.search(r"[/\\#]", z) or not any(unicodedata.category(c)[0] in "LN" for c in z):
            return None
        return unlike_a_digest(z)
    if re.fullmatch(r"[0-9]{3,4}", z):  # Decision: a US ZIP that lost its leading zeros
        z = z.zfill(5)
    if re.fullmatch(r"[0-9]{7,8}", text):  # … and a ZIP+4 that did (no dash)
        z = z.zfill(9)
    return z[:5] if re.fullmatch(r"[0-9]{5,9}", z) else None


def is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def spell_ampersand(text: str) -> str:
    """Each '&' between two words is 'and': the nearest letter or '&' on each side of it
    is a letter ('Trinidad & Tobago'). Any other '&' is punctuation."""

    def word_next_to(chars: Any) -> bool:
        return is_letter(next((c for c in chars if c == "&" or is_letter(c)), "&"))

    return "".join(
        "and" if ch == "&" and word_next_to(reversed(text[:i])) and word_next_to(text[i + 1 :])
        else ch
        for i, ch in enumerate(text)
    )


def name_letters(text: str) -> str:
    """letters(), without modifier letters and the ordinal indicators ª º (with marks)."""
    out: list[str] = []
    keep = True
    for ch in letters(text):
        if not unicodedata.category(ch).startswith("M"):
            keep = unicodedata.category(ch) != "Lm" and ch not in "ªº"
        if keep:
            out.append(ch)
    return "".join(out)


def fold_country(label: str) -> str:
    v = fold_latin(name_letters(spell_ampersand(base(label)))).lower()
    return "".join(ch for ch in v if unicodedata.category(ch).startswith("L"))


#: Everyday English names ISO 3166 spells otherwise (the spec: "official and common").
COMMON_NAMES = {
    "gb": ["UK", "Britain", "Great Britain", "England", "Scotland", "Wales",
           "Northern Ireland", "The United Kingdom"],
    "us": ["America", "United States America", "The United States"],
    "ru": ["Russia"], "vn": ["Vietnam"], "cz": ["Czech Republic"], "tr": ["Turkey"],
    "nl": ["Holland", "The Netherlands"], "ci": ["Ivory Coast"], "mk": ["Macedonia"],
    "sz": ["Swaziland"], "mm": ["Burma"], "cv": ["Cape Verde"], "tl": ["East Timor"],
    "va": ["Vatican", "Vatican City", "Vatican City State"], "vi": ["US Virgin Islands"],
    "mo": ["Macau"], "ae": ["UAE", "Emirates"],
    "kr": ["Korea"], "bs": ["The Bahamas"], "gm": ["The Gambia"],
    "ph": ["The Philippines"], "sy": ["Syria"], "la": ["Laos"], "md": ["Moldova"],
    "ir": ["Iran"], "bo": ["Bolivia"], "ve": ["Venezuela"], "tz": ["Tanzania"],
    "bn": ["Brunei"], "fm": ["Micronesia"], "ps": ["Palestine"],
    "cd": ["DR Congo", "DRC", "Democratic Republic of the Congo",
           "Democratic Republic of Congo", "Congo-Kinshasa"],
    "cg": ["Congo-Brazzaville", "Republic of the Congo"],
    "cn": ["PRC", "Mainland China"], "sa": ["KSA", "Saudi"], "ba": ["Bosnia"],
    "tt": ["Trinidad"], "ag": ["Antigua"], "st": ["Sao Tome"], "fk": ["Falklands"],
    "ie": ["Republic of Ireland"],
}


def country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    cldr = babel.Locale("en").territories  # the English names ICU and shops write
    for c in pycountry.countries:
        for label in (c.alpha_2, c.alpha_3, c.name, getattr(c, "official_name", None),
                      getattr(c, "common_name", None), cldr.get(c.alpha_2)):
            if label:
                # "Falkland Islands (Malvinas)" is also "Falkland Islands"
                for spelling in (label, re.sub(r" *\(.*\)", "", label)):
                    key = fold_country(spelling)
                    table.setdefault(key, c.alpha_2.lower())
                    if key.startswith("saint"):  # "St. Lucia"
                        table.setdefault("st" + key[len("saint"):], c.alpha_2.lower())
    for code, names in COMMON_NAMES.items():
        table.update(dict.fromkeys(map(fold_country, names), code))
    table |= {"laopdr": "la", "theuk": "gb", "theus": "us", "theusa": "us", "theuae": "ae",
              "sainthelena": "sh", "sthelena": "sh", "turksandcaicos": "tc",
              "republicofcongo": "cg", "hongkongsar": "hk", "macaosar": "mo",
              "macausar": "mo"}
    return table


COUNTRIES = country_table()


def ref_country(raw: str | None) -> str | None:
    if raw is None:
        return None
    if (d := digest(raw)) is not None:
        return d
    # a digit (any number character), '/', a backslash or '#': a placeholder or a typo
    if any(unicodedata.category(c).startswith("N") or c in "/\\#" for c in raw):
        return None
    text = base(raw)
    if fold_country(text) == "na":  # R's missing value, not Namibia
        return None
    found = COUNTRIES.get(fold_country(text))
    if found is None and (turned := re.fullmatch(r"([^,]+),\s*([^,]+)", text)):
        found = COUNTRIES.get(fold_country(f"{turned[2]} {turned[1]}"))  # "Korea, South"
    bracket = re.fullmatch(r"([^(]*?)\s*\(([^()]*)\)\s*", text)
    if found is None and bracket:
        found = COUNTRIES.get(fold_country(f"{bracket[2]} {bracket[1]}"))  # "Korea (North)"
        main, aside = (COUNTRIES.get(fold_country(bracket[i])) for i in (1, 2))
        if found is None and main is not None and main == aside:  # "Myanmar (Burma)"
            found = main
    return found


# ============================================================================ strategies

ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII
    st.characters(min_codepoint=0xA0, max_codepoint=0x24F),  # Latin-1, Latin Extended-A/B
    st.characters(min_codepoint=0x300, max_codepoint=0x36F),  # combining diacritics
    st.characters(min_codepoint=0x391, max_codepoint=0x3C9),  # Greek
    st.characters(min_codepoint=0x400, max_codepoint=0x45F),  # Cyrillic
    st.characters(min_codepoint=0x900, max_codepoint=0x97F),  # Devanagari (spacing marks)
    st.characters(min_codepoint=0xAC00, max_codepoint=0xAC40),  # Hangul syllables
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4E40),  # CJK
    st.sampled_from([*WHITESPACE, "-", "–", "—", "@", ".", "'", "+", "_", "ß", "İ", "Σ",
                     "\u200b", "\u3164", "\ufe0f", "\u115f"]),  # invisible
)
TEXT = st.text(ALPHABET, max_size=16)
DIGESTS = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()).flatmap(
    lambda h: st.sampled_from([h, h.upper(), f" {h}\t"])
)


OTHER_DIGESTS = st.tuples(
    st.binary(min_size=1, max_size=8),
    st.sampled_from(["md5", "sha1", "sha224", "sha384", "sha512", "0x", "sha256:"]),
).map(lambda t: hashlib.new(t[1], t[0]).hexdigest() if t[1][0] == "m" or t[1][-1].isdigit()
      else t[1] + hashlib.sha256(t[0]).hexdigest()).flatmap(
    lambda h: st.sampled_from([h, h.upper(), f" {h}\t"]))


def cells(*extra: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(st.none(), TEXT, DIGESTS, OTHER_DIGESTS, *extra), min_size=1,
                    max_size=25)


EMAIL_LIKE = st.builds(
    lambda pre, local, dom, tld, post: f"{pre}{local}@{dom}.{tld}{post}",
    st.sampled_from(["", " ", "\t", "\u3000", "\x1c", "\x00"]),
    TEXT,
    st.text(ALPHABET, max_size=8),
    st.text(ALPHABET, max_size=4),
    st.sampled_from(["", " ", "\n", ".", "\x00", "\x7f", "\x85"]),
)


def country_label(c: Any, which: str) -> str | None:
    label: str | None = getattr(c, which, None)
    return label


COUNTRY_LABELS = st.builds(
    lambda c, which, case, sep: (
        None
        if (label := country_label(c, which)) is None
        else sep.join(getattr(label, case)().split(" "))
    ),
    st.sampled_from(list(pycountry.countries)),
    st.sampled_from(["alpha_2", "alpha_3", "name", "official_name", "common_name"]),
    st.sampled_from(["lower", "upper", "title", "strip"]),
    st.sampled_from([" ", "", "-", ".", "  "]),
)

US_ZIPS = st.builds(
    lambda five, four, sep: f"{five}{sep}{four}",
    st.from_regex(r"[0-9]{3,6}", fullmatch=True),
    st.sampled_from(["", "1234", "12"]),
    st.sampled_from(["", "-", " ", "–"]),
)
UK_POSTCODES = st.sampled_from(["SW1A 1AA", "M1 1AE", "EC1A 1BB", "B33 8TH", "cr2 6xh"])
#: Any cell behind a spreadsheet's text marks
MARKED = st.tuples(
    st.one_of(TEXT, DIGESTS, OTHER_DIGESTS, US_ZIPS, UK_POSTCODES,
              st.sampled_from(sorted(PLACEHOLDERS))),
    st.sampled_from(['="{}"', "'{}", "'{}'", '"{}"']),
).map(lambda t: t[1].format(t[0]))


# ============================================================================ properties


def check(
    keys: list[str], values: list[str | None], reference: Callable[[str | None], Any]
) -> None:
    df = pl.DataFrame({"x": values}, schema={"x": pl.String})
    out = audframe.normalize(df, dict.fromkeys(keys, "x"))
    want = [reference(v) for v in values]
    for key in keys:
        for value, g, w in zip(values, out[key].to_list(), want, strict=True):
            assert g == w, (key, value, g, w)


@SETTINGS
@given(cells(EMAIL_LIKE))
def test_email_matches_reference(values: list[str | None]) -> None:
    check(["EMAIL"], values, ref_email)


@SETTINGS
@given(cells())
def test_first_and_last_names_match_reference(values: list[str | None]) -> None:
    check(["FN", "LN"], values, ref_name)


@SETTINGS
@given(cells())
def test_city_matches_reference(values: list[str | None]) -> None:
    check(["CT"], values, ref_city)


@SETTINGS
@given(cells(COUNTRY_LABELS, st.text(st.characters(min_codepoint=0x41, max_codepoint=0x5A),
                                     min_size=2, max_size=3)))
def test_country_matches_reference(values: list[str | None]) -> None:
    check(["COUNTRY"], values, ref_country)


@settings(SETTINGS, max_examples=60)  # two keys per example
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), TEXT, DIGESTS, OTHER_DIGESTS, US_ZIPS, UK_POSTCODES,
                      MARKED),
            st.sampled_from([None, "US", "United States", "GB", "DE", "Puerto Rico"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_zip_matches_reference(rows: list[tuple[str | None, str | None]]) -> None:
    df = pl.DataFrame(rows, schema={"zip": pl.String, "country": pl.String}, orient="row")
    got = audframe.normalize(df, {"ZIP": "zip", "COUNTRY": "country"})["ZIP"].to_list()
    for (value, country), g in zip(rows, got, strict=True):
        region = None if country is None else COUNTRIES[fold_country(country)]
        assert g == ref_zip(value, region), (value, country, g)


@SETTINGS
@given(st.lists(st.one_of(st.none(), TEXT, US_ZIPS, UK_POSTCODES), min_size=1, max_size=25),
       st.sampled_from(["US", "GB", "DE"]))
def test_zip_default_country_matches_reference(values: list[str | None], default: str) -> None:
    df = pl.DataFrame({"zip": values}, schema={"zip": pl.String})
    got = audframe.normalize(df, {"ZIP": "zip"}, default_country=default)["ZIP"].to_list()
    assert got == [ref_zip(v, default.lower()) for v in values]


@settings(SETTINGS, max_examples=50)
@given(st.lists(st.integers(min_value=0, max_value=99999), min_size=1, max_size=25))
def test_integer_us_zip_is_left_padded(values: list[int]) -> None:
    df = pl.DataFrame({"zip": values})
    got = audframe.normalize(df, {"ZIP": "zip"}, default_country="US")["ZIP"].to_list()
    want = [f"{v:05d}" if v >= 100 else None for v in values]  # 3+ digits are a ZIP
    assert got == want


@settings(SETTINGS, max_examples=12)  # every key at once: a heavier query per example
@given(cells(EMAIL_LIKE, COUNTRY_LABELS, US_ZIPS))
def test_report_counts_add_up_for_every_key(values: list[str | None]) -> None:
    df = pl.DataFrame({"x": values}, schema={"x": pl.String})
    keys = [k for k in audframe.KEYS if k != "PHONE"]  # PHONE has its own suite
    report = audframe.validate(df, dict.fromkeys(keys, "x"), default_country="US")
    sums = report.group_by("key").agg(
        pl.col("present").first(), pl.col("valid").first(), pl.col("invalid").first(),
        pl.col("count").sum(),
    )
    for key, present, valid, invalid, count in sums.iter_rows():
        assert invalid == count, key
        assert present == valid + invalid, key
        blank = sum(v is None or v.strip(WHITESPACE) == "" for v in values)
        assert present == len(values) - blank, key
    out = audframe.normalize(df, dict.fromkeys(keys, "x"), default_country="US")
    strings = [c for c, d in out.schema.items() if d == pl.String]
    assert out.select(pl.any_horizontal(pl.col(strings) == "").any()).item() is False
