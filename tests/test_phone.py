"""PHONE normalization: the spec's *Phones* section, against libphonenumber."""

from __future__ import annotations

import hashlib
import importlib
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from audframe.normalize.phone import phone, phone_reason

# the module itself (``audframe.normalize.phone`` is also the name of the function)
phone_module = importlib.import_module("audframe.normalize.phone")


@contextmanager
def every_plan_vectorized() -> Iterator[None]:
    """Run the vectorized path for every region and calling code, however few rows it
    has (by default a batch's rare ones go to libphonenumber, which is cheaper)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phone_module, "_FEW", 0)
        yield

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TEN = ["US", "GB", "DE", "FR", "IT", "ES", "BR", "IN", "MX", "AU"]
REASONS = {
    "phone has no digits",
    "phone too short",
    "phone too long",
    "phone is all zeros",
    "phone length not possible for its country",
    "phone has no valid country calling code",
    "phone is not a phone number",
}


# --------------------------------------------------------------------------- reference
def libphonenumber(value: str, region: str | None) -> str | None:
    """Plain per-row libphonenumber: E.164 without '+' when the number is possible."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def acceptable(e164: str | None) -> str | None:
    """The spec's own exclusions on top of libphonenumber: 7–15 digits, not all zeros."""
    if e164 is None or not 7 <= len(e164) <= 15:
        return None
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    cc = next(e164[:i] for i in (1, 2, 3) if int(e164[:i]) in codes)
    return None if set(e164[len(cc):]) == {"0"} else e164


def reference(value: str | None, region: str | None) -> str | None:
    """The spec, one value at a time, written the obvious way; a value with notes
    (letters libphonenumber does not take as an extension) read again without them."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    out = read(value, region)
    digits = [m.start() for m in re.finditer(r"\d", value)]
    if out is None and digits and any(c.isalpha() for c in value[digits[-1] + 1 :]):
        number = value[: digits[-1] + 1]  # a note follows the number: read up to it …
        util: Any = phonenumbers.phonenumberutil  # (libphonenumber's own extension rule)
        ext, main = util._maybe_strip_extension(util._extract_possible_number(number))
        rest = re.sub(r"^\D*", "", str(main) if ext else number)
        closed = all(number.count(a) == number.count(b) for a, b in ("()", "[]", "（）"))
        if closed and not any(c.isalpha() for c in rest):  # … when it is a number, whole
            return read(number, region)
    labelled = re.fullmatch(  # an extension after a label libphonenumber does not know
        r"(.*\d)[\s,;]*(poste|ramal|interno|int|durchwahl|dw|p|extension|extn|ext|x)\.?\s*"
        r"[#:.]?\s*\d{1,7}\s*", value, flags=re.IGNORECASE)
    if out is None and labelled:
        number = labelled.group(1)
        if not any(c.isalpha() for c in re.sub(r"^\D*", "", number)):
            return read(number, region)
    spaced = re.sub(r"(?<=\d)[\t\u2000-\u200a\u202f\u205f:_,]+(?=\d)", " ", value)
    if out is None and spaced != value:  # separators libphonenumber refuses
        return read(spaced, region)
    return out


def read(value: str, region: str | None) -> str | None:
    """One reading of a trimmed, non-empty value."""
    code = region.strip().upper() if region else ""  # the module trims the region too
    region = code if code in phonenumbers.SUPPORTED_REGIONS else None
    if not re.search(r"\d", value):
        return None
    first = re.search(r"[+\uff0b\d]", value)
    plus = first is not None and first.group() in "+\uff0b"
    if region is None and not plus:
        found = libphonenumber(value, None)  # an RFC 3966 phone-context names the code
        if found is not None:
            return acceptable(found)
        # digits only, leading zeros stripped, read as +digits
        # (zeros of any script; letters end the zeros: they start an extension's label)
        rest = re.sub(r"^[^\d+\uff0b]*(?:[^\d+\uff0bA-Za-z]|[0\uff10\u0660\u06f0])*", "", value)
        return acceptable(libphonenumber("+" + rest, None))
    out = acceptable(libphonenumber(value, region))
    double_zero = r"^[^\d+\uff0b]*[0\uff10\u0660\u06f0]\D*[0\uff10\u0660\u06f0]"
    if out is None and region is not None and not plus and re.match(double_zero, value):
        out = acceptable(libphonenumber(re.sub(double_zero, "+", value), None))
    return out


def run(values: list[str | None], regions: list[str | None] | None = None) -> pl.DataFrame:
    df = pl.DataFrame(
        {"tel": values, "country": regions if regions is not None else [None] * len(values)},
        schema={"tel": pl.String, "country": pl.String},
    )
    return df.select(
        phone=phone(pl.col("tel"), region=pl.col("country")),
        reason=phone_reason(pl.col("tel"), region=pl.col("country")),
    )


def one(value: str | None, region: str | None = None) -> str | None:
    result: str | None = run([value], [region])["phone"][0]
    return result


def why(value: str | None, region: str | None = None) -> str | None:
    result: str | None = run([value], [region])["reason"][0]
    return result


# ----------------------------------------------------------------------- spec examples
def test_official_vector() -> None:
    assert one("(650)555-1212", "us") == "16505551212"
    digest = hashlib.sha256(b"16505551212").hexdigest()
    assert digest == "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"


def test_trunk_prefix_goes() -> None:
    assert one("020 7183 8750", "gb") == "442071838750"


def test_leading_zero_that_belongs_to_the_number_stays() -> None:
    assert one("06 6982 0000", "it") == "390669820000"
    assert one("+39 06 6982 0000", None) == "390669820000"


def test_number_already_starting_with_calling_code_stays() -> None:
    assert one("16505551212", "us") == "16505551212"
    assert one("1 (650) 555-1212", "us") == "16505551212"
    assert one("442071838750", "gb") == "442071838750"


@pytest.mark.parametrize("region", ["us", "gb", "de", "it", None])
def test_plus_carries_the_country_code(region: str | None) -> None:
    assert one("+44 20 7183 8750", region) == "442071838750"
    assert one("+44 (0)20 7183 8750", region) == "442071838750"
    assert one("(+1) 650 555 1212", region) == "16505551212"


@pytest.mark.parametrize("region", ["us", "gb", "de", "au", "br", None])
def test_double_zero_carries_the_country_code(region: str | None) -> None:
    # GB/DE dial abroad with 00 (libphonenumber agrees); US, AU and BR do not, the spec decides
    assert one("0044 20 7183 8750", region) == "442071838750"
    assert one("00 49 30 1234567", region) == "49301234567" or region == "au"


def test_double_zero_yields_to_a_possible_national_reading() -> None:
    # in AU, 00 49 30 1234567 is a possible national number for libphonenumber: it wins
    assert libphonenumber("00 49 30 1234567", "AU") == "61049301234567"
    assert one("00 49 30 1234567", "au") == "61049301234567"


def test_double_zero_second_readings_match_libphonenumber_in_a_large_batch() -> None:
    # A batch with enough national numbers for the vectorized plans, and '00' numbers
    # that fail as national numbers: their second (international) readings run along
    # with the others; a calling code with few of them sends the invalid ones to
    # libphonenumber for their reason. Phone and reason equal the per-value rules.
    rng = random.Random(5)
    national = [f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
                for _ in range(300)]
    doubled = ["0044 20 7183 8750", "0044 7854 003008", "0044 12", "0049 30 1234567",
               "0049 1", "0033 1 23 45 67 89", "0000 44 20", "00 1 650 555 1212",
               "001 650 555", "0052 81 2088 2022", "0044 20 7183 8750 x12"]
    doubled += [f"0044 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}" for _ in range(60)]
    values = national + doubled
    out = run(values, ["us"] * len(values))
    expected = [phone_module._normalize_one(v, "US") for v in values]
    assert list(zip(out["phone"], out["reason"], strict=True)) == expected


def test_all_zeros_test_reads_digits_as_a_number() -> None:
    digits = pl.Series(["0" * 300, "0" * 299 + "1", "1" + "0" * 30, "000", "0001", None])
    got = pl.select(phone_module._all_zeros(pl.lit(digits))).to_series().fill_null(False)
    assert got.to_list() == [True, False, False, True, False, False]


def test_region_international_prefix_is_understood() -> None:
    assert one("011 44 20 7183 8750", "us") == "442071838750"
    assert one("0011 61 412 345 678", "au") == "61412345678"


def test_no_region_strips_leading_zeros_and_reads_a_calling_code() -> None:
    assert one("0044 20 7183 8750") == "442071838750"
    assert one("1 650 555 1212") == "16505551212"
    assert one("0016505551212") == "16505551212"
    # kept only when the length is possible for the calling code it starts with
    assert one("44 20 7183") == "44207183"  # a possible (local) GB number
    assert one("44 20") is None
    assert why("44 20") == "phone too short"
    assert one("999 1234 5678") is None  # 999 is no calling code
    assert why("999 1234 5678") == "phone has no valid country calling code"


def test_unknown_region_is_no_region() -> None:
    assert one("0044 20 7183 8750", "zz") == "442071838750"
    assert one("0044 20 7183 8750", "xx") == one("0044 20 7183 8750", None)


@pytest.mark.parametrize("value", ["+0044 20 7183 8750", "+44 20 7183 8750", "00012", "0001 650"])
def test_unknown_region_is_no_region_with_plus_and_zeros(value: str) -> None:
    # '+0044…' has no calling code: the spec's 00 rule is for numbers written without '+'
    assert one(value, "zz") == one(value, None) == reference(value, None)
    assert why(value, "zz") == why(value, None)


def test_region_is_case_and_space_insensitive() -> None:
    assert one("020 7183 8750", "GB") == one("020 7183 8750", " gb ") == "442071838750"
    # known codes in any case, and other text, in one batch (no region: calling code 20)
    regions = ["gb", "Gb", "gB", " GB", "gb\t", None, "", "xx", "g b"]
    assert run(["020 7183 8750"] * len(regions), regions)["phone"].to_list() == [
        *["442071838750"] * 5, *["2071838750"] * 4
    ]


def test_region_codes_are_trimmed_and_read_in_any_case() -> None:
    region = pl.Series(["us", "uS", " gb ", "xx", "g b", "ÜS", None, ""], dtype=pl.String)
    plans = phone_module._region_plans(region)
    keys = [None if n is None else phone_module._PLAN_KEYS[n] for n in plans.to_list()]
    assert keys == ["US", "US", "GB", None, None, None, None, None]


@pytest.mark.parametrize(
    "value",
    [
        "(650) 555-1212 x123",
        "650-555-1212 ext. 45",
        "650-555-1212 ext 45",
        "650.555.1212 EXT:45",
        "650-555-1212#9",
        "650-555-1212 X 12#",
        "650 555 1212 extension 7",
        "+1 650 555 1212;ext=44",
        "650 555 1212, ext 2",
        "(530) 583-6985 x302/x2303",
    ],
)
def test_extensions_are_dropped(value: str) -> None:
    assert one(value, "us") == "16505551212" or one(value, "us") == "15305836985"
    assert one(value, "us") == reference(value, "us")


@pytest.mark.parametrize(
    ("value", "region", "reason"),
    [
        ("12345", "us", "phone too short"),
        ("555 1", "gb", "phone too short"),  # libphonenumber: possible, +44 5551
        ("12", "us", "phone too short"),
        ("+49 30 1234567890123", None, "phone too long"),
        ("1234567890123456", "us", "phone too long"),
        ("n/a", "us", "phone has no digits"),
        ("unknown", None, "phone has no digits"),
        ("-", "gb", "phone has no digits"),
        ("0000000000", "us", "phone is all zeros"),
        ("+1 000 000 0000", None, "phone is all zeros"),
        ("000-0000", "gb", "phone is all zeros"),
        ("06 12 34 5", "fr", "phone too short"),
        ("0612 34 56 78 90 1", "fr", "phone too long"),
        ("+999 123 4567", "us", "phone has no valid country calling code"),
        ("+61 4123 456 7890", None, "phone length not possible for its country"),
    ],
)
def test_missing_values_and_their_reasons(value: str, region: str | None, reason: str) -> None:
    assert one(value, region) is None
    assert why(value, region) == reason


def test_fewer_than_7_digits_even_when_libphonenumber_finds_them_possible() -> None:
    # libphonenumber: '12345' is a possible German number (+49 12345); 7 digits after the
    # calling code pass, fewer do not
    assert libphonenumber("123", "DE") == "49123"
    assert one("123", "de") is None
    assert one("12345", "de") == "4912345"


def test_more_than_15_digits_even_when_libphonenumber_finds_them_possible() -> None:
    assert libphonenumber("+49 30 1234567890123", None) == "49301234567890123"
    assert one("+49 30 1234567890123") is None
    assert why("+49 30 1234567890123") == "phone too long"


def test_vanity_letters_are_read_on_the_keypad() -> None:
    # Decision: like libphonenumber, rather than dropping the letters
    assert one("1-800-FLOWERS", "us") == "18003569377"
    assert one("+1 800 GO FEDEX", None) == "18004633339"


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("650-555-1212 (cell)", "us", "16505551212"),  # keypad: 16505551212 2355
        ("650-555-1212 home", "us", "16505551212"),
        ("650.555.1212 - work", "us", "16505551212"),
        ("+44 20 7183 8750 (office)", "us", "442071838750"),
        ("020 7183 8750 mob", "gb", "442071838750"),
        ("0044 20 7183 8750 home", "de", "442071838750"),  # then '00' carries the code
        ("16505551212 cell", None, "16505551212"),  # no region
    ],
)
def test_a_number_with_a_note_is_read_again_without_its_letters(
    value: str, region: str | None, expected: str
) -> None:
    # Decision: libphonenumber reads the note on the keypad and finds no possible number;
    # Meta says to remove letters.
    assert libphonenumber(value, region.upper() if region else None) is None
    assert one(value, region) == expected == reference(value, region)
    assert why(value, region) is None


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("555-1212 x123 (office)", "us", "15551212"),  # the extension goes, then the note
        ("+49 30 1234567 x12 (office)", "de", "49301234567"),
        ("+49 30 1234567 ext 4 cell", None, "49301234567"),
    ],
)
def test_an_extension_before_a_note_is_dropped(
    value: str, region: str | None, expected: str
) -> None:
    assert one(value, region) == expected == reference(value, region)


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("(514) 555-1234 poste 123", "ca", "15145551234"),  # Quebec
        ("(11) 3456-7890 ramal 12", "br", "551134567890"),
        ("011 4567-8901 interno 12", "ar", "541145678901"),
        ("030 1234567 Durchwahl 12", "de", "49301234567"),
        ("650-555-1212 p. 123", "us", "16505551212"),
        ("650-555-1212 ext#12", "us", "16505551212"),
        ("020 7183 8750; ext 5", "gb", "442071838750"),  # a ';' libphonenumber refuses
        ("(650) 555-1212; ext. 12", "us", "16505551212"),
    ],
)
def test_an_extension_after_a_label_libphonenumber_does_not_know_is_dropped(
    value: str, region: str, expected: str
) -> None:
    # Decision ("extensions are dropped"): libphonenumber finds no possible number here
    assert libphonenumber(value, region.upper()) is None
    assert one(value, region) == expected == reference(value, region)
    # the same on the vectorized path, in a batch where each region has many numbers
    values = [value] * 50 + ["(514) 555-1234", "020 7183 8750"] * 400
    regions = [region] * 50 + ["ca", "gb"] * 400
    with every_plan_vectorized():
        assert run(values, regions)["phone"][:50].to_list() == [expected] * 50


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("06\u202f12\u202f34\u202f56\u202f78", "fr", "33612345678"),
        ("06\u200912\u200934\u200956\u200978", "fr", "33612345678"),
        ("44\t20 7183 8750", None, "442071838750"),
        ("0044:20 7183 8750", "us", "442071838750"),
        ("650_555_1212", "us", "16505551212"),
    ],
)
def test_separators_libphonenumber_refuses_are_read_as_spaces(
    value: str, region: str | None, expected: str
) -> None:
    assert one(value, region) == expected == reference(value, region)
    assert why(value, region) is None


@pytest.mark.parametrize(
    ("value", "region", "reason"),
    [
        ("650 555 1212 34", "us", "phone too long"),  # no label: no extension
        ("1-800-FLOWERS now", "us", "phone too long"),  # up to the note: 1800, too short
        ("650-555-1212 call after 5pm", "us", "phone too long"),  # digits in the note
        ("Home 650-555-1212 Work 650-555-3434", "us", "phone too long"),  # two numbers
        ("0171 1234567 ab 18 Uhr", "de", "phone too long"),
        ("+49 30 1234567 Mo-Fr 9-17", "de", "phone too long"),  # no note after the digits
        ("030 1234567 Zimmer 12", "de", "phone too long"),
        ("03-1234-5678 内線 12", "jp", "phone is not a phone number"),  # 内線: extension
        ("02 1234 5678 (2 lines)", "au", "phone too long"),  # the 2 is the note's
    ],
)
def test_digits_of_a_note_never_join_the_number(value: str, region: str, reason: str) -> None:
    # The first reading's reason stands: with only the letters dropped, most would become
    # wrong numbers (4917112345671 8 from the 18 of "ab 18 Uhr" …); missing is better.
    assert one(value, region) is None and reference(value, region) is None
    assert why(value, region) == reason


def test_letters_only_is_missing() -> None:
    assert run(["abc", "N/A", "none", "x"], ["us"] * 4)["phone"].to_list() == [None] * 4


def test_regions_sharing_a_calling_code() -> None:
    assert one("(416) 555-0123", "ca") == "14165550123"
    assert one("1 416 555 0123", "ca") == "14165550123"
    assert one("8 (727) 123 4567", "kz") == "77271234567"
    assert one("8 (495) 123-45-67", "ru") == "74951234567"
    assert one("01481 256789", "gg") == "441481256789"
    assert one("256789", "gg") == reference("256789", "gg")  # transform rule: 1481 + local


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("011 15 2345-6789", "ar"),  # AR mobile token: 15 after the area code becomes 9 …
        ("+54 9 11 2345-6789", None),
        ("0 11 91234-5678", "br"),  # BR: carrier code and trunk prefix
        ("0 21 11 91234-5678", "br"),
        ("(11) 91234-5678", "br"),
        ("+52 1 55 1234 5678", None),  # MX: the old mobile '1'
        ("55 1234 5678", "mx"),
        ("044 55 1234 5678", "mx"),
        ("03-1234-5678", "jp"),
        ("0549 123456", "sm"),
        ("123456", "sm"),
    ],
)
def test_unusual_national_rules_follow_libphonenumber(value: str, region: str | None) -> None:
    assert one(value, region) == reference(value, region)


def test_whitespace_and_symbols() -> None:
    values = ["  (650) 555-1212  ", "650/555/1212", "650.555.1212", "\t650 555 1212\n",
              "[650] 555 1212"]
    assert run(values, ["us"] * len(values))["phone"].to_list() == ["16505551212"] * len(values)


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("x1234567", "de", "491234567"),  # libphonenumber starts at the first digit or '+'
        ("Phone: 650 555 1212", "us", "16505551212"),
        ("tel: +44 20 7183 8750", "us", "442071838750"),
        ("Tel. (0)20 7183 8750", "gb", "442071838750"),
        ("650 555 1212 ext. 45.", "us", "16505551212"),
        ("650-555-1212,", "us", "16505551212"),
        ("mobile:0049 30 1234567;", "fr", "49301234567"),  # ';' goes to libphonenumber
        ("x123", "de", None),
    ],
)
def test_text_around_the_number_is_ignored(value: str, region: str, expected: str | None) -> None:
    assert one(value, region) == expected == reference(value, region)


def test_a_plus_then_x_is_punctuation_not_an_extension() -> None:
    # libphonenumber only cuts an extension off a viable number; '+' alone is not one
    for region in (None, "de", "us"):
        assert one("+x493012345", region) == "493012345" == reference("+x493012345", region)
    assert why("+ x60303#", "om") == phone_module._normalize_one("+ x60303#", "OM")[1]


def test_short_numbers_get_libphonenumber_s_reason_in_any_batch() -> None:
    # '+12' is not a number, '12' in a region too short: decided the same alone and in a
    # batch whose region is vectorized
    filler = [f"01 42 68 {i // 100:02d} {i % 100:02d}" for i in range(120)]
    for value, region in [("1", "us"), ("+12", "us"), ("12", None), ("0026", "fr"),
                          ("0044 x207183875", "fr"), ("0012", None)]:
        expected = phone_module._normalize_one(value, region.upper() if region else None)
        assert expected[0] is None
        assert why(value, region) == expected[1]
        batch = run([value, *filler], [region] + ["fr"] * len(filler))
        assert batch.row(0) == expected


def test_an_all_zero_number_with_an_extension_is_missing_on_every_path() -> None:
    # the extension's digits never become the number, ASCII (fast) or not (libphonenumber)
    for value in ("0000000 ext 16505551212", "0000000 ext 16505551212 \u260e"):
        assert one(value) is None and reference(value, None) is None


def test_text_before_the_digits_leaves_them_digits() -> None:
    assert why("x123", "de") == "phone too short"  # not "phone has no digits"
    assert why("Phone: 12", "us") == "phone too short"


def test_common_shapes_never_reach_libphonenumber(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(df: pl.DataFrame) -> pl.DataFrame:
        raise AssertionError(f"sent to libphonenumber: {df['v'].to_list()}")

    monkeypatch.setattr(phone_module, "_fallback", refuse)
    monkeypatch.setattr(phone_module, "_FEW", 0)
    values = ["(650) 555-1212", "+44 20 7183 8750", "0044 20 7183 8750", "Phone: 650 555 1212",
              "650 555 1212 x123", "650.555.1212 ext. 45", "tel: +1 650 555 1212", "123", "n/a",
              "0000000000", "  06 6982 0000 ", "(0)20 7183 8750,"]
    regions = ["us", "gb", "us", "us", "us", "us", None, "de", "us", "fr", "it", "gb"]
    assert run(values, regions)["phone"].to_list() == [
        reference(v, r) for v, r in zip(values, regions, strict=True)
    ]


def test_full_width_and_other_digits_go_through_libphonenumber() -> None:
    assert one("６５０ ５５５ １２１２", "us") == "16505551212"
    # their zeros are zeros: '00' and leading zeros read as in ASCII
    for value, region in [("００４４ 20 7183 8750", "us"), ("٠٠٤٤ ٢٠ ٧١٨٣ ٨٧٥٠", "us"),
                          ("０４４ 20 7183 8750", None)]:
        assert one(value, region) == "442071838750" == reference(value, region)
    assert why("０００ ０００", "us") == "phone is all zeros"
    assert one("tel: +44 20 7183 8750", None) == "442071838750"
    assert one("tel:+1-650-555-1212;phone-context=example.com", "us") == "16505551212"


def test_phone_context_names_the_calling_code_without_region() -> None:
    # libphonenumber finds these possible with no region, so the spec takes its reading
    for value, expected in [("tel:650-555-1212;phone-context=+1", "16505551212"),
                            ("6505551212;phone-context=+44", "446505551212")]:
        assert one(value, None) == expected == reference(value, None)
    assert one("12345;phone-context=+1", None) is None


def test_vanity_number_whose_digits_are_zeros_is_read_on_the_keypad() -> None:
    # the letters are digits (0008366), so the number is not all zeros
    assert one("000TFMO", "us") == "10008366" == reference("000TFMO", "us")
    assert one("+1 000TFMO", None) == "10008366"
    assert why("000 ab", "us") == "phone is all zeros"  # two letters: not a vanity number
    # letters in RFC 3966 parameters are not read: libphonenumber reads 0000000
    assert why("0000000;phone-context=example.com", "us") == "phone is all zeros"


# ------------------------------------------------------------------ nulls, types, lazy
def test_null_and_empty_are_missing_without_reason() -> None:
    out = run([None, "", "   "], ["us", "us", None])
    assert out["phone"].to_list() == [None, None, None]
    assert out["reason"].to_list() == [None, None, None]


def test_output_dtype_and_name() -> None:
    df = pl.DataFrame({"mobile": ["(650)555-1212"]})
    out = df.select(
        phone(pl.col("mobile"), region=pl.lit("us")), phone_reason(pl.col("mobile")).alias("r")
    )
    assert out.schema == pl.Schema({"mobile": pl.String, "r": pl.String})


def test_no_region_argument() -> None:
    df = pl.DataFrame({"tel": ["+44 20 7183 8750", "020 7183 8750"]})
    assert df.select(phone(pl.col("tel")))["tel"].to_list() == ["442071838750", "2071838750"]


def test_integer_column() -> None:
    df = pl.DataFrame({"tel": [16505551212, 2071838750, None], "c": ["us", "gb", "gb"]})
    assert df.select(phone(pl.col("tel").cast(pl.String), region=pl.col("c")))["tel"].to_list() == [
        "16505551212", "442071838750", None,
    ]
    # the cast is the caller's job, but an integer column works as it is
    assert df.select(phone(pl.col("tel"), region=pl.col("c")))["tel"].to_list() == [
        "16505551212", "442071838750", None,
    ]


def test_empty_frame() -> None:
    df = pl.DataFrame({"tel": [], "c": []}, schema={"tel": pl.String, "c": pl.String})
    out = df.select(phone(pl.col("tel"), region=pl.col("c")))
    assert out.height == 0
    assert out.schema == pl.Schema({"tel": pl.String})


def test_duplicates_get_the_same_answer_in_their_own_rows() -> None:
    values = ["020 7183 8750", "(650)555-1212", "020 7183 8750", None, "020 7183 8750"]
    regions = ["gb", "us", "us", "gb", "gb"]
    assert run(values, regions)["phone"].to_list() == [
        "442071838750", "16505551212", None, None, "442071838750",
    ]


def messy_values(n: int, seed: int) -> tuple[list[str | None], list[str | None]]:
    rng = random.Random(seed)
    values: list[str | None] = []
    regions: list[str | None] = []
    for _ in range(n):
        region = rng.choice(TEN * 5 + REGIONS)
        values.append(format_number(rng, region))
        regions.append(None if rng.random() < 0.1 else region.lower())
    return values, regions


def test_a_large_batch_reads_alike_whether_its_values_repeat_or_not() -> None:
    # Above _SAMPLE rows a batch whose values hardly repeat is read row by row, one whose
    # values repeat is read once per distinct (value, region): the same answers.
    def repeats(values: list[str | None], regions: list[str | None]) -> bool:
        plans = phone_module._region_plans(pl.Series(regions, dtype=pl.String))
        return phone_module._repeats(pl.DataFrame({"v": values, "r": plans}))

    n = phone_module._SAMPLE + 1000
    values, regions = messy_values(n, 5)
    assert not repeats(values, regions)
    check(values, regions)

    many = [i % 300 for i in range(n)]
    again = ([values[i] for i in many], [regions[i] for i in many])
    assert repeats(*again)
    alone = run(values[:300], regions[:300])
    out = run(*again)
    assert out["phone"].to_list() == [alone["phone"][i] for i in many]
    assert out["reason"].to_list() == [alone["reason"][i] for i in many]


def test_lazy_equals_eager_and_streams() -> None:
    values, regions = messy_values(1200, 7)
    df = pl.DataFrame({"tel": values, "country": regions})
    exprs = [phone(pl.col("tel"), region=pl.col("country")),
             phone_reason(pl.col("tel"), region=pl.col("country")).alias("why")]
    eager = df.select(exprs)
    lazy = pl.concat([df.slice(0, 1000).lazy(), df.slice(1000).lazy()]).select(exprs)
    assert_frame_equal(lazy.collect(), eager)
    assert_frame_equal(lazy.collect(engine="streaming"), eager)
    streamed = df.lazy().with_columns(exprs).collect(engine="streaming")
    assert_frame_equal(streamed.select("tel", "why"), eager)


# ------------------------------------------------ properties against libphonenumber
SEPARATORS = ["", " ", "-", ".", "/", " - ", "  "]
EXTENSIONS = ["", "", "", " x12", " ext. 345", "#9", " EXT 1", " x 12#", ", x3", " int 4", ";ext=5"]


def format_number(rng: random.Random, region: str) -> str:
    """A number of ``region`` in one of the shapes people type, from its example numbers."""
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                       phonenumbers.PhoneNumberType.TOLL_FREE])
    example = (phonenumbers.example_number_for_type(region, kind)
               or phonenumbers.example_number(region))
    if example is None:
        nsn = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 13)))
        cc = "1"
        prefix = "0"
    else:
        nsn = phonenumbers.national_significant_number(example)
        keep = rng.randint(max(1, len(nsn) - 6), len(nsn))
        nsn = nsn[:keep] + "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
        if rng.random() < 0.15:
            nsn = nsn[:-1] if rng.random() < 0.5 else nsn + rng.choice("0123456789")
        cc = str(example.country_code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        prefix = (metadata.national_prefix if metadata else None) or ""
    shape = rng.random()
    if shape < 0.3:
        text = (prefix if rng.random() < 0.8 else "") + nsn
    elif shape < 0.5:
        text = "+" + cc + rng.choice(SEPARATORS) + nsn
    elif shape < 0.6:
        text = "00" + cc + rng.choice(SEPARATORS) + nsn
    elif shape < 0.67:
        text = cc + nsn
    elif shape < 0.72:
        text = "+" + cc + " (" + prefix + ")" + nsn
    elif shape < 0.8:
        text = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
    elif shape < 0.84:
        text = "+" + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 17)))
    elif shape < 0.88:
        idd = rng.choice(["011", "0011", "810", "010", "00"])
        text = idd + rng.choice([cc, "44", "1", "49"]) + nsn
    else:
        text = "0" + nsn
    out = []
    for ch in text:
        out.append(ch)
        if rng.random() < 0.2:
            out.append(rng.choice(SEPARATORS))
    text = "".join(out)
    if rng.random() < 0.1:
        text = "(" + text[:3] + ")" + text[3:]
    text += rng.choice(EXTENSIONS)
    if rng.random() < 0.03:
        text = rng.choice(["tel: ", " ", "Phone ", "+", "  "]) + text
    if rng.random() < 0.02:
        text = text.replace("1", "I") if rng.random() < 0.5 else text + "ABC"
    return text


def check(values: list[str | None], regions: list[str | None]) -> None:
    with every_plan_vectorized():
        out = run(values, regions)
    # the default sends a batch's rare regions and calling codes to libphonenumber: same
    # phones (its reasons may name another failure of the same invalid value)
    default = run(values, regions)
    assert default["phone"].equals(out["phone"], null_equal=True)
    assert default["reason"].is_null().equals(out["reason"].is_null())
    rows = zip(values, regions, out["phone"], out["reason"], strict=True)
    for value, region, got, reason in rows:
        expected = reference(value, region)
        assert got == expected, (value, region)
        # equal to libphonenumber whenever it finds a possible number (and the spec keeps it)
        plain = None
        if value and region:
            plain = acceptable(libphonenumber(value.strip(), region.upper()))
        if plain is not None:
            assert got == plain, (value, region)
        present = value is not None and value.strip() != ""
        assert (reason is not None) == (present and got is None), (value, region, reason)
        assert reason is None or reason in REASONS


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    regions=st.lists(st.sampled_from([*TEN, *REGIONS, None]), min_size=1, max_size=60),
)
def test_property_matches_libphonenumber(seed: int, regions: list[str | None]) -> None:
    rng = random.Random(seed)
    values: list[str | None] = [format_number(rng, r or rng.choice(TEN)) for r in regions]
    check(values, [r.lower() if r and rng.random() < 0.9 else r for r in regions])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="0123456789 +-().x#/e", max_size=22),
                          st.sampled_from([*TEN, None])), min_size=1, max_size=40))
def test_property_arbitrary_text(rows: list[tuple[str, str | None]]) -> None:
    check([v for v, _ in rows], [r for _, r in rows])


def test_many_regions_and_shapes_at_once() -> None:
    values, regions = messy_values(4000, 11)
    check(values, regions)


def test_a_region_with_spaces_or_in_any_case_is_read_like_its_code() -> None:
    for region in (" us ", "US", "Us\t"):
        assert one("(650) 555-1212", region) == reference("(650) 555-1212", region) == "16505551212"
    assert one("020 7183 8750", " gb") == reference("020 7183 8750", " gb") == "442071838750"
