"""EMAIL, FN, LN, FI, CT and GEN, rule by rule, from shared/spec/normalization.md."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any, Final

import polars as pl
import pytest

import audframe
from audframe.whitespace import WHITESPACE


def norm(key: str, values: list[Any], **options: Any) -> list[Any]:
    """Normalize a String column of ``values`` as ``key`` with the single-key expression."""
    df = pl.DataFrame({"x": values}, schema={"x": pl.String})
    out = df.select(audframe.normalize_key("x", key, **options))
    assert out.columns == ["x"]
    assert out.schema["x"] == pl.String
    return out["x"].to_list()


def one(key: str, value: str | None, **options: Any) -> Any:
    return norm(key, [value], **options)[0]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


NFD: Final = "NFD"


# ----------------------------------------------------------------------------- Meta's vectors


@pytest.mark.parametrize(
    ("key", "raw", "normalized", "digest"),
    [
        ("EMAIL", "John_Smith@gmail.com", "john_smith@gmail.com",
         "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
        ("FN", "Mary", "mary",
         "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
        ("FN", "정", "정",
         "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14"),
        ("FN", "Valéry", "valéry",
         "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"),
    ],
)
def test_official_vectors(key: str, raw: str, normalized: str, digest: str) -> None:
    got = one(key, raw)
    assert got == normalized
    assert sha256(got) == digest


def test_official_vector_valery_decomposed_input_still_matches() -> None:
    # NFC first: the decomposed spelling must give Meta's bytes, not e + U+0301.
    decomposed = unicodedata.normalize(NFD, "Valéry")
    assert decomposed != "Valéry"
    got = one("FN", decomposed)
    assert got == "valéry"
    assert sha256(got) == "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufe0f", "\u034f"])
@pytest.mark.parametrize("key", ["FN", "LN", "CT"])
def test_an_invisible_character_between_a_letter_and_its_accent_still_gives_nfc(
    invisible: str, key: str
) -> None:
    # dropped before NFC: e + U+200B + U+0301 is é once the U+200B is gone
    got = one(key, f"Vale{invisible}\u0301ry")
    assert got == one(key, "Valéry") and unicodedata.is_normalized("NFC", got)


def test_seed_payload_email_digests() -> None:
    emails = [f"test{i}@example.com" for i in range(1, 5)]
    got = norm("EMAIL", emails)
    assert got == emails
    assert [sha256(e) for e in got] == [
        "9b431636bd164765d63c573c346708846af4f68fe3701a77a3bdd7e7e5166254",
        "8cc62c145cd0c6dc444168eaeb1b61b351f9b1809a579cc9b4c9e9d7213a39ee",
        "4eaf70b1f7a797962b9d2a533f122c8039012b31e0a52b34a426729319cb792a",
        "98df8d46f118f8bef552b0ec0a3d729466a912577830212a844b73960777ac56",
    ]


# ----------------------------------------------------------------------------- EMAIL


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John_Smith@Gmail.COM\t", "john_smith@gmail.com"),  # trim + lowercase
        ("ÉMILE@EXÄMPLE.COM", "émile@exämple.com"),  # Unicode lowercase, not ASCII only
        ("john.smith+news@gmail.com", "john.smith+news@gmail.com"),  # no Gmail dot/+tag removal
        ("a@b.co", "a@b.co"),
        ("first.last@mail.example.co.uk", "first.last@mail.example.co.uk"),
    ],
)
def test_email_valid(raw: str, expected: str) -> None:
    assert one("EMAIL", raw) == expected


def test_email_is_nfc() -> None:
    raw = unicodedata.normalize(NFD, "José@exämple.com")
    assert one("EMAIL", raw) == unicodedata.normalize("NFC", "josé@exämple.com")


@pytest.mark.parametrize(
    "raw",
    [
        "john.smith.gmail.com",  # no @
        "a@b@c.com",  # two @
        "@example.com",  # empty local part
        "john@",  # no domain
        "john@localhost",  # domain without a dot
        "john@.example.com",  # empty first label
        "john@example..com",  # empty middle label
        "john@example.com.",  # empty last label
    ],
)
def test_email_invalid_is_missing(raw: str) -> None:
    assert one("EMAIL", raw) is None


def test_email_with_a_control_character_is_missing_for_that_reason() -> None:
    # NUL-padded (fixed-width and database exports), DEL, a file separator in front
    raws = ["c@d.com\x00", "c@d.com\x00\x00 ", "c@d.com\x7f", "\x1cc@d.com", "c@d\x9f.com"]
    df = pl.DataFrame({"e": [*raws, "c@d.com"]})
    assert audframe.normalize(df, {"EMAIL": "e"})["EMAIL"].to_list() == [None] * 5 + ["c@d.com"]
    report = audframe.validate(df, {"EMAIL": "e"})
    want = [("email holds control characters (NUL …)", 5)]
    assert report.select("reason", "count").rows() == want


def test_email_trims_every_unicode_space_and_refuses_one_inside() -> None:
    # The rule tests the raw cell and trims it once: the value must be what trimming
    # (Unicode White_Space), lowercasing and the pattern give, for every kind of space
    # at either end or inside.
    raws = [f"{a}Ann.Lee@Example.COM{b}" for a in WHITESPACE for b in ("", a)]
    raws += [f"Ann{a}Lee@example.com" for a in WHITESPACE]
    raws += [f"ann@exa{a}mple.com" for a in WHITESPACE]

    def reference(raw: str) -> str | None:
        v = raw.strip(WHITESPACE).lower()
        local, _, domain = v.partition("@")
        labels = domain.split(".")
        whole = v.count("@") == 1 and local and len(labels) > 1 and all(labels)
        return v if whole and not any(c in WHITESPACE for c in v) else None

    assert norm("EMAIL", raws) == [reference(r) for r in raws]
    assert norm("EMAIL", ["\u3000Ann.Lee@Example.COM\x85"]) == ["ann.lee@example.com"]


@pytest.mark.parametrize(
    "raw", ["<john@x.com>", "mailto:john@x.com", "john@x.com;", "john@x.com,", '"john@x.com"',
            "(john@x.com)", "john@[10.0.0.1]", "a\\b@x.com"],
)
def test_a_wrapped_or_listed_email_is_reported_not_hashed_as_it_is(raw: str) -> None:
    # hashed with its wrapping it matches no one; the report says why it was dropped
    assert one("EMAIL", raw) is None
    report = audframe.validate(pl.DataFrame({"e": [raw, "o'brien@x.com"]}), {"EMAIL": "e"})
    assert report.select("valid", "reason").row(0) == (
        1, "email holds <>, brackets, quotes, ',', ';' or ':' (a wrapped or listed address)")


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_email_empty_is_missing_never_empty_string(raw: str | None) -> None:
    # SDK mistake: hashing "" for empty cells. Missing is null, never "".
    assert one("EMAIL", raw) is None


# ----------------------------------------------------------------------------- FN / LN


@pytest.mark.parametrize("key", ["FN", "LN"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Valéry", "valéry"),  # SDK mistake: valry
        ("정", "정"),  # SDK mistake: dropped
        ("Mary Jane", "maryjane"),
        ("O'Brien", "obrien"),
        ("  Jean-Luc  ", "jeanluc"),
        ("Anne2", "anne"),  # digits removed
        ("Dr. J. R. R.", "drjrr"),
        ("Σοφία", "σοφία"),  # Greek keeps its accent
        ("Ольга", "ольга"),
        ("ZOË", "zoë"),
        ("Mary\u00a0Jane", "maryjane"),  # no-break space is whitespace
        ("田中", "田中"),
        ("Oʼ Brien", "obrien"),  # modifier letters written as apostrophes go too
        ("Вʼячеслав", "вячеслав"),  # U+02BC, Ukrainian's apostrophe
        ("Łukasz", "łukasz"),  # names keep their letters: only cities fold
    ],
)
def test_names(key: str, raw: str, expected: str) -> None:
    assert one(key, raw) == expected


@pytest.mark.parametrize("key", ["FN", "LN"])
@pytest.mark.parametrize("raw", [None, "", "  ", "123", "'-.", "  4 2 "])
def test_names_without_letters_are_missing(key: str, raw: str | None) -> None:
    assert one(key, raw) is None


def test_name_decomposed_accent_is_composed() -> None:
    assert one("LN", unicodedata.normalize(NFD, "Müller")) == "müller"


# ----------------------------------------------------------------------------- FI


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Émilie", "é"),
        (unicodedata.normalize(NFD, "Émilie"), "é"),
        ("mary", "m"),
        ("  'Olga", "o"),  # first *letter* of the normalized name
        ("정", "정"),
        ("Ångström", "å"),
    ],
)
def test_first_initial(raw: str, expected: str) -> None:
    got = one("FI", raw)
    assert got == expected
    assert unicodedata.is_normalized("NFC", got)


@pytest.mark.parametrize("raw", [None, "", "  ", "42", "--"])
def test_first_initial_missing(raw: str | None) -> None:
    assert one("FI", raw) is None


# ----------------------------------------------------------------------------- CT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("São Paulo", "saopaulo"),
        ("New York", "newyork"),
        ("  MENLO PARK ", "menlopark"),
        ("Zürich", "zurich"),
        ("Saint-Étienne", "saintetienne"),
        ("Winston-Salem 2", "winstonsalem"),  # digits and punctuation go
        ("Hà Nội", "hanoi"),  # stacked Latin marks all go
        ("Москва", "москва"),  # Decision: non-Latin letters are kept
        ("서울", "서울"),
        ("Αθήνα", "αθήνα"),  # only *Latin* accents are folded
        ("東京", "東京"),
        # Latin letters no decomposition folds, as ASCII (as typed without them)
        ("Łódź", "lodz"),
        ("Kırşehir", "kirsehir"),
        ("Gießen", "giessen"),
        ("København", "kobenhavn"),
        ("Đà Nẵng", "danang"),
        ("Þingvellir", "thingvellir"),
        ("Kāneʻohe", "kaneohe"),  # the ʻokina is an apostrophe
    ],
)
def test_city(raw: str, expected: str) -> None:
    assert one("CT", raw) == expected


def test_city_decomposed_input() -> None:
    assert one("CT", unicodedata.normalize(NFD, "São Paulo")) == "saopaulo"


@pytest.mark.parametrize("raw", [None, "", " ", "10115", "--", "™", "№", "㎝", "℅", "Ⅻ"])
def test_city_without_letters_is_missing(raw: str | None) -> None:
    # symbols that NFKD spells with letters (™ → TM) are no letters of a city
    assert one("CT", raw) is None


# ----------------------------------------------------------------------------- GEN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(v, "m") for v in ("m", "M", "male", "MALE", "Man", "boy", "Mr", "mr.", " Male ")],
        *[(v, "f") for v in ("f", "F", "female", "Woman", "girl", "Mrs", "MS", "Miss", "mrs.")],
        *[(v, "m") for v in ("(m)", "'Male'", "Mr. ", "“M”")],  # punctuation around the word
        *[(v, "f") for v in ("(f)", "[Ms.]", "-F-")],
    ],
)
def test_gender(raw: str, expected: str) -> None:
    assert one("GEN", raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", " ", "x", "unknown", "other", "mf", "males", "fem", "1", "n/a",
            "M1", "f2", "ma le", "m r", "1 m",
            "Mr(s)", "Mr/s", "M/S", "(wo)man", "m/f", "M.R."]  # inner punctuation: no one answer
)
def test_gender_anything_else_is_missing(raw: str | None) -> None:
    assert one("GEN", raw) is None


# ----------------------------------------------------------------------------- pre-hashed


DIGEST = sha256("john_smith@gmail.com")


@pytest.mark.parametrize("key", ["EMAIL", "FN", "LN", "CT", "GEN"])
def test_prehashed_cell_is_lowercased_and_passed_through(key: str) -> None:
    assert one(key, "  " + DIGEST.upper() + " ") == DIGEST


def test_prehashed_is_per_cell() -> None:
    assert norm("EMAIL", [DIGEST, "Mary@Example.com", DIGEST.upper()]) == [
        DIGEST, "mary@example.com", DIGEST,
    ]


def test_almost_a_digest_is_normalized_as_text() -> None:
    # 63 hex characters are a name like any other (letters kept, digits removed).
    assert one("FN", "ab" * 31 + "a") == "ab" * 31 + "a"
    assert one("FN", "a1" * 32 + "g") == "a" * 32 + "g"


def test_a_combining_mark_without_a_letter_is_no_letter() -> None:
    for key in ("FN", "LN", "CT", "ST", "FI"):
        for cell in ("-\u0301", "1\u0308", "\u0301"):
            assert one(key, cell) is None, (key, cell)
    assert one("FN", "\u0301Ann") == "ann" and one("FI", "\u0301Ann") == "a"
    assert one("FN", "a-\u0301b") == "ab"
    assert one("FN", "Vale\u0301ry") == "valéry"  # a mark on a letter stays (NFC first)


@pytest.mark.parametrize("raw", ["nan", "None", "NULL", " <NA> ", "NaT", "n/a"])
def test_what_tools_write_for_a_missing_value_is_missing(raw: str) -> None:
    # pandas' astype(str) of NaN and None, SQL's NULL: no name, city, postcode or id
    frame = pl.DataFrame({"v": [raw, "Nan", "NA"], "c": ["gb"] * 3})
    mapping = {"FN": "v", "LN": "v", "FI": "v", "CT": "v", "ZIP": "v", "EXTERN_ID": "v",
               "COUNTRY": "c"}
    out = audframe.normalize(frame, mapping)
    assert out.drop("COUNTRY").row(0) == (None,) * 6
    assert out.row(1, named=True)["FN"] == "nan" and out.row(2, named=True)["LN"] == "na"
    report = audframe.validate(frame, mapping).filter(pl.col("key") == "FN")
    assert report.select("present", "valid", "reason").row(0) == (
        3, 2, "a placeholder for a missing value (nan, None, NULL, <NA> …)")
