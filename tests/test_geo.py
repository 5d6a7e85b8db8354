"""COUNTRY, ST and ZIP, rule by rule, from shared/spec/normalization.md."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
import pytest

import audframe
from audframe.errors import AudframeError, ValidationError


def norm(key: str, values: list[Any], dtype: Any = pl.String, **options: Any) -> list[Any]:
    df = pl.DataFrame({"x": values}, schema={"x": dtype})
    out = df.select(audframe.normalize_key("x", key, **options))
    assert out.columns == ["x"]
    assert out.schema["x"] == pl.String
    return out["x"].to_list()


def one(key: str, value: Any, **options: Any) -> Any:
    return norm(key, [value], **options)[0]


def frame(data: dict[str, list[Any]], mapping: dict[str, str], **options: Any) -> pl.DataFrame:
    return audframe.normalize(pl.DataFrame(data, strict=False), mapping, **options)


# ----------------------------------------------------------------------------- COUNTRY


def test_official_vector_united_states() -> None:
    got = one("COUNTRY", "United States")
    assert got == "us"  # SDK mistake: "un"
    assert hashlib.sha256(got.encode()).hexdigest() == (
        "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Germany", "de"),  # SDK mistake: "ge"
        ("United States of America", "us"),
        ("USA", "us"),
        ("usa", "us"),
        ("U.S.A.", "us"),
        ("US", "us"),
        (" us ", "us"),
        ("United Kingdom", "gb"),
        ("UK", "gb"),
        ("GB", "gb"),
        ("GBR", "gb"),
        ("DEU", "de"),
        ("deu", "de"),
        ("France", "fr"),
        ("french republic", "fr"),  # official name
        ("Federal Republic of Germany", "de"),
        ("Korea, Republic of", "kr"),  # ISO name
        ("South Korea", "kr"),  # common name
        ("Bolivia", "bo"),
        ("Côte d'Ivoire", "ci"),
        ("Cote d'Ivoire", "ci"),
        ("Viet Nam", "vn"),
        ("Taiwan", "tw"),
        ("GE", "ge"),  # Georgia's own code stays Georgia
        ("Georgia", "ge"),
        ("Russia", "ru"),  # common names
        ("Holland", "nl"),
        ("Ivory Coast", "ci"),
        ("DR Congo", "cd"),
        ("Democratic Republic of the Congo", "cd"),
        ("Republic of the Congo", "cg"),
        ("Vatican City", "va"),
        ("Falkland Islands", "fk"),  # ISO: "Falkland Islands (Malvinas)"
        ("St. Lucia", "lc"),  # ISO: "Saint Lucia"
        ("St Kitts and Nevis", "kn"),
        ("Republic of Korea", "kr"),  # ISO's "Korea, Republic of", inverted
        ("U.S. Virgin Islands", "vi"),  # ISO's "Virgin Islands, U.S.", inverted
        ("Islamic Republic of Iran", "ir"),
        ("The UK", "gb"),  # a leading "the"
        ("the Philippines", "ph"),
        ("Republic of Ireland", "ie"),  # everyday names
        ("Bosnia", "ba"),
        ("PRC", "cn"),
        ("KSA", "sa"),
        ("Trinidad & Tobago", "tt"),  # '&' for 'and'
        ("Bosnia & Herzegovina", "ba"),
        ("Antigua&Barbuda", "ag"),
        ("Bosnia_&_Herzegovina", "ba"),
        ("UNITED_STATES", "us"),
        ("“Germany”", "de"),  # other punctuation passes
        ("Côte d´Ivoire", "ci"),
        ("Timor−Leste", "tl"),
        ("[USA]", "us"),
        ("Korea; Democratic People's Republic of", "kp"),
        # CLDR's English names (ICU, browsers, shop systems)
        ("Hong Kong SAR China", "hk"),
        ("Myanmar (Burma)", "mm"),
        ("St. Vincent & Grenadines", "vc"),
        ("Congo - Brazzaville", "cg"),
        ("Palestinian Territories", "ps"),
        ("U.S. Outlying Islands", "um"),
        # turned around at a comma, or a part in brackets
        ("Korea, South", "kr"),
        ("Korea, North", "kp"),
        ("Korea (North)", "kp"),
        ("Bahamas, The", "bs"),
        ("Ireland, Republic of", "ie"),
        ("United States (USA)", "us"),
        ("Namibia", "na"),
        ("NAM", "na"),
    ],
)
def test_country(raw: str, expected: str) -> None:
    assert one("COUNTRY", raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "Narnia", "XX", "ZZZ", "123", "U", "Theme", "The"])
def test_unknown_country_is_missing(raw: str | None) -> None:
    assert one("COUNTRY", raw) is None


@pytest.mark.parametrize("raw", ["&", " & ", "(&)", "&&"])
def test_an_ampersand_between_no_words_is_punctuation_not_andorra(raw: str) -> None:
    # '&' spells 'and' only between two words; alone it would read as AND, Andorra's code
    assert one("COUNTRY", raw) is None
    report = audframe.validate(pl.DataFrame({"c": [raw]}), {"COUNTRY": "c"})
    assert report["reason"].to_list() == ["country has no letters"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Trinidad & & Tobago", None), ("& Andorra", "ad"), ("Andorra &", "ad"), ("&orra", None)],
)
def test_an_ampersand_next_to_no_word_adds_no_letters(raw: str, expected: str | None) -> None:
    assert one("COUNTRY", raw) == expected


@pytest.mark.parametrize("raw", ["№", "Nº", "n.º", "™", "℠", "℅", "㏂", "㎝", "ᵘˢ", "ºm"])
def test_a_symbol_that_folding_spells_with_letters_is_no_country(raw: str) -> None:
    # NFKD spells these with letters (№ → No, ™ → TM, ℅ → c/o, ᵘˢ → us): Norway,
    # Turkmenistan, Colombia and the US before letters were kept only before folding
    assert one("COUNTRY", raw) is None
    out = frame({"c": [raw], "p": ["650 555 1212"]}, {"COUNTRY": "c", "PHONE": "p"},
                default_country="US")
    assert out.row(0, named=True) == {"PHONE": "16505551212", "COUNTRY": None}  # not +57


@pytest.mark.parametrize("raw", ["Congo (Kenya)", "France (Europe)", "Korea, Rep. of Nowhere"])
def test_a_part_in_brackets_or_after_a_comma_never_makes_another_country(raw: str) -> None:
    # dropped only when it names the same country ("Myanmar (Burma)")
    assert one("COUNTRY", raw) is None


@pytest.mark.parametrize("raw", ["NA", "N.A.", "na", "N/A", "n/a", "#N/A", "US1", "12US", "N\\A",
                                 "٢US"])
def test_a_country_cell_with_a_digit_slash_or_hash_is_missing(raw: str) -> None:
    # (and R's NA for a missing value: Namibia is "NAM" or "Namibia")
    # Placeholders for "unknown" are not Namibia ('na'), and so the default country
    # applies to the row's ZIP (and PHONE).
    assert one("COUNTRY", raw) is None
    out = frame({"c": [raw], "z": ["2134"]}, {"COUNTRY": "c", "ZIP": "z"}, default_country="US")
    assert out.row(0) == ("02134", None)
    report = audframe.validate(pl.DataFrame({"c": [raw]}), {"COUNTRY": "c"})
    assert report["reason"].to_list() == ["unknown country"]


# ----------------------------------------------------------------------------- ST


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "ca"),  # SDK mistake: "california"
        ("CA", "ca"),
        ("ca", "ca"),
        ("N.Y.", "ny"),
        ("new york", "ny"),
        ("NEW YORK", "ny"),
        ("Texas", "tx"),
        ("District of Columbia", "dc"),  # DC
        ("D.C.", "dc"),
        ("Puerto Rico", "pr"),  # US territories
        ("Guam", "gu"),
        ("U.S. Virgin Islands", "vi"),
        ("American Samoa", "as"),
        ("Northern Mariana Islands", "mp"),
        ("Ontario", "on"),  # Canadian provinces and territories
        ("Québec", "qc"),
        ("Quebec", "qc"),
        ("QC", "qc"),
        ("British Columbia", "bc"),
        ("Newfoundland and Labrador", "nl"),
        ("Yukon", "yt"),
        ("Nunavut", "nu"),
        ("Northwest Territories", "nt"),
        ("Newfoundland & Labrador", "nl"),
        ("Newfoundland&Labrador", "nl"),
        ("&", None),  # no letters: missing
        ("Yukon Territory", "yt"),
        ("Hawaiʻi", "hi"),  # the ʻokina, a modifier letter
        ("US-CA", "ca"),  # ISO 3166-2 codes
        ("CA-QC", "qc"),
        ("us ca", "ca"),
        ("ca – qc", "qc"),
        ("Cape", "cape"),  # not CA-PE without its dash: a word, like CT
        ("cask", "cask"),
        ("USCA", "usca"),
        ("Colombie-Britannique", "bc"),  # French names in Canada
        ("Nouvelle-Écosse", "ns"),
        ("Terre-Neuve-et-Labrador", "nl"),
        ("Île-de-France", "iledefrance"),  # anything else: like CT
        ("Bavaria", "bavaria"),
        ("São Paulo", "saopaulo"),
        ("NSW", "nsw"),
        ("Москва", "москва"),
        ("Calif.", "ca"),  # AP style (the us package)
        ("W.Va.", "wv"),
        ("Mass.", "ma"),
        ("N. Carolina", "nc"),
        ("S. Dakota", "sd"),
        ("Ont.", "on"),  # Canada's abbreviations and former codes
        ("Nfld.", "nl"),
        ("PQ", "qc"),
        ("Armed Forces Europe", "ae"),
        ("Washington State", "wa"),
        ("New York State", "ny"),  # any state so, or its code so, or "State of …"
        ("NY State", "ny"),
        ("State of California", "ca"),
        ("State College", "statecollege"),  # (a town: like CT)
    ],
)
def test_state(raw: str, expected: str | None) -> None:
    assert one("ST", raw) == expected


@pytest.mark.parametrize("raw", [None, "", " ", "12", "--"])
def test_state_without_letters_is_missing(raw: str | None) -> None:
    assert one("ST", raw) is None


# ----------------------------------------------------------------------------- ZIP


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("94035-1234", "94035"),  # US: the first five digits
        ("94035 1234", "94035"),
        ("940351234", "94035"),
        ("94035", "94035"),
        (" 02134 ", "02134"),
    ],
)
def test_zip_us_shaped_without_country(raw: str, expected: str) -> None:
    assert one("ZIP", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SW1A 1AA", "sw1a1aa"),  # SDK mistake: keeps the space
        ("M1 1AE", "m11ae"),  # Meta's example
        ("m11ae", "m11ae"),
        (" ec1a-1bb ", "ec1a1bb"),
    ],
)
def test_zip_uk(raw: str, expected: str) -> None:
    assert one("ZIP", raw, default_country="GB") == expected
    assert one("ZIP", raw) == expected  # not US-shaped: same rule without a country


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("10115", "DE", "10115"),
        ("1010", "AT", "1010"),  # four digits outside the US are not padded
        ("A1B 2C3", "CA", "a1b2c3"),
        ("100-0001", "JP", "1000001"),
        ("94035-1234", "DE", "940351234"),  # not the US: only dashes go
        ("1234-567", "PT", "1234567"),
    ],
)
def test_zip_other_countries(raw: str, country: str, expected: str) -> None:
    assert one("ZIP", raw, default_country=country) == expected


def test_zip_us_by_default_country() -> None:
    assert norm("ZIP", ["94035-1234", "02134", "2134"], default_country="United States") == [
        "94035", "02134", "02134",
    ]


@pytest.mark.parametrize("raw", ["SW1A 1AA", "9403", "abcde", "94035-12345", "94035x"])
def test_zip_not_a_us_zip_in_the_us_is_missing(raw: str) -> None:
    expected = {"9403": "09403"}.get(raw)  # Decision: a 4-digit US ZIP lost its zero
    assert one("ZIP", raw, default_country="US") == expected


@pytest.mark.parametrize("raw", ["940351", "94035-12", "94035-123", "94035 1234"])
def test_zip_us_cut_short_zip4_gives_its_first_five_digits(raw: str) -> None:
    assert one("ZIP", raw, default_country="US") == "94035"


@pytest.mark.parametrize("raw", ["21341234", "21341234.0", "6011234"])
def test_a_zip4_text_that_lost_its_zeros_is_padded_like_a_number(raw: str) -> None:
    # 02134-1234 through a spreadsheet: 21341234 (or, as pandas writes it, 21341234.0)
    assert one("ZIP", raw, default_country="US") == ("00601" if raw == "6011234" else "02134")


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ('="02134"', "US", "02134"),  # a spreadsheet's formula text, kept by a CSV export
    ("'02134", "US", "02134"),
    ("'2134123", "US", "00213"),  # a ZIP+4 that lost its zeros, behind the mark
    ("'K1A 0B1", "CA", "k1a0b1"),
    ('"SW1A 1AA"', "GB", "sw1a1aa"),
    ('=""', "US", None),
    ("O'Neil", "GB", "o'neil"),  # an apostrophe inside is the value's
    ("'02134'", "GB", "02134"),
    ("'nan", "GB", None),  # the marks go first: a placeholder
    ('="NULL"', "GB", None),
    ("'" + hashlib.md5(b"x").hexdigest(), "GB", None),  # another digest
    ("'" + hashlib.sha256(b"x").hexdigest().upper(), "GB", hashlib.sha256(b"x").hexdigest()),
])
def test_zip_without_a_spreadsheets_text_marks(raw: str, country: str,
                                               expected: str | None) -> None:
    assert one("ZIP", raw, default_country=country) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", " - "])
def test_zip_empty_is_missing(raw: str | None) -> None:
    assert one("ZIP", raw) is None
    assert one("ZIP", raw, default_country="US") is None


def test_zip_unicode_dash_is_a_dash() -> None:
    assert one("ZIP", "94035–1234") == "94035"  # en dash
    assert one("ZIP", "100—0001", default_country="JP") == "1000001"  # em dash
    assert one("ZIP", "94035−1234") == "94035"  # minus sign


def test_zip_row_country_wins_over_default() -> None:
    out = frame(
        {"zip": ["94035-1234", "94035-1234", "SW1A 1AA", "2134"],
         "country": ["US", "Germany", "UK", None]},
        {"ZIP": "zip", "COUNTRY": "country"},
        default_country="US",
    )
    assert out["ZIP"].to_list() == ["94035", "940351234", "sw1a1aa", "02134"]
    assert out["COUNTRY"].to_list() == ["us", "de", "gb", None]


def test_zip_region_expression() -> None:
    df = pl.DataFrame({"zip": ["94035-1234", "94035-1234"], "c": ["usa", "DE"]})
    got = df.select(audframe.normalize_key("zip", "ZIP", region="c"))["zip"].to_list()
    assert got == ["94035", "940351234"]


def test_zip_integer_column_in_the_us_is_left_padded() -> None:
    out = frame({"zip": [2134, 94035, 501, None]}, {"ZIP": "zip"}, default_country="US")
    assert out.schema["ZIP"] == pl.String
    assert out["ZIP"].to_list() == ["02134", "94035", "00501", None]


def test_zip_integer_zip4_in_the_us() -> None:
    # 02134-1234 stored as an integer: 21341234 → 021341234 → 02134
    out = frame({"zip": [21341234, 940351234]}, {"ZIP": "zip"}, default_country="US")
    assert out["ZIP"].to_list() == ["02134", "94035"]


def test_zip_float_column_in_the_us() -> None:
    # pandas turns an integer column with gaps into floats: 2134.0
    out = frame({"zip": [2134.0, None, float("nan")]}, {"ZIP": "zip"}, default_country="US")
    assert out["ZIP"].to_list() == ["02134", None, None]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("N/A", "a placeholder for a missing value (nan, None, NULL, <NA> …)"),
        ("#N/A", "a placeholder for a missing value (nan, None, NULL, <NA> …)"),
        ("nan", "a placeholder for a missing value (nan, None, NULL, <NA> …)"),  # pandas'
        ("NULL", "a placeholder for a missing value (nan, None, NULL, <NA> …)"),
        ("#VALUE!", "zip holds /, \\ or # (a placeholder: N/A, #N/A)"),
        ("?", "zip has no letters or digits"),
        (". .", "zip has no letters or digits"),
    ],
)
def test_a_placeholder_is_no_postcode(raw: str, reason: str) -> None:
    assert one("ZIP", raw, default_country="GB") is None
    report = audframe.validate(pl.DataFrame({"z": [raw]}), {"ZIP": "z"}, default_country="GB")
    assert report["reason"].to_list() == [reason]


@pytest.mark.parametrize("dtype", [pl.Int64, pl.Float64, pl.Decimal(10, 0)])
def test_a_negative_number_is_no_zip_or_phone(dtype: pl.DataType) -> None:
    # the text "-2134" would lose its sign as a dash: 02134 (US) from a negative number
    df = pl.DataFrame({"n": [-2134, 2134, -6505551212, 6505551212]}).cast({"n": dtype})
    for key, want in (("ZIP", [None, "02134"]), ("PHONE", [None, "16505551212"])):
        rows = df.slice(0, 2) if key == "ZIP" else df.slice(2, 2)
        assert audframe.normalize(rows, {key: "n"}, default_country="US")[key].to_list() == want
        report = audframe.validate(rows, {key: "n"}, default_country="US")
        assert report["reason"].to_list() == [f"{key.lower()} is a negative number"]
    # text keeps Meta's rule: symbols go (libphonenumber reads "-650…" as 650…)
    text = pl.DataFrame({"n": ["-6505551212"]})
    out = audframe.normalize(text, {"PHONE": "n"}, default_country="US")
    assert out["PHONE"][0] == "16505551212"


def test_zip_integer_column_outside_the_us_is_not_padded() -> None:
    out = frame({"zip": [1010, 10115], "c": ["AT", "DE"]}, {"ZIP": "zip", "COUNTRY": "c"})
    assert out["ZIP"].to_list() == ["1010", "10115"]


def test_zip_us_territory_uses_us_zip() -> None:
    # Decision: Puerto Rico and the other US territories use US ZIP codes.
    out = frame(
        {"zip": [601, "00601-1234"], "c": ["PR", "Puerto Rico"]}, {"ZIP": "zip", "COUNTRY": "c"}
    )
    assert out["ZIP"].to_list() == ["00601", "00601"]


# ----------------------------------------------------------------------------- default_country


@pytest.mark.parametrize(
    "spelling", ["US", "us", "USA", "United States", "united states of america"]
)
def test_default_country_any_spelling(spelling: str) -> None:
    assert one("ZIP", "2134", default_country=spelling) == "02134"


def test_unknown_default_country_raises_clearly() -> None:
    with pytest.raises(ValidationError, match="'Narnia' is not a country") as info:
        audframe.normalize(pl.DataFrame({"zip": ["94035"]}), {"ZIP": "zip"},
                           default_country="Narnia")
    assert isinstance(info.value, AudframeError)
    assert one("ZIP", "2134", default_country="US\u200b") == "02134"  # (invisible: dropped)
    with pytest.raises(ValidationError, match="'N/A' is not a country"):
        audframe.normalize(pl.DataFrame({"zip": ["94035"]}), {"ZIP": "zip"},
                           default_country="N/A")
