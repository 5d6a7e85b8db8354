"""Frame-level normalize: mappings, aliases, keep=, lazy/eager, order, dtypes, sugar, contract."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import warnings
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import audframe
from audframe.errors import ColumnTypeError, ValidationError
from audframe.keys import KEYS
from audframe.mapping import ALIASES, detect_mapping
from audframe.schemas import check_normalized

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DIGEST = hashlib.sha256(b"mary@example.com").hexdigest()


def customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [" C1 ", "C2", "C3", "C4"],
            "mail": ["John_Smith@gmail.com", DIGEST.upper(), "nope", None],
            "mobile": ["(650)555-1212", "+44 20 7183 8750", "12", None],
            "given": ["Valéry", "정", "Mary Jane", "  "],
            "family": ["O'Brien", "김", "Smith-Jones", None],
            "sex": ["Male", "f", "x", None],
            "born": ["2/16/1997", "1997-02-30", "19800101", None],
            "town": ["São Paulo", "서울", "Москва", "12"],
            "state": ["California", "Seoul", "N.Y.", None],
            "post": ["94035-1234", "04524", "SW1A 1AA", "2134"],
            "land": ["United States", "KR", "UK", None],
            "ad_id": ["6D92078A-8246-4BA4-AE5B-76104861E7DC",
                      "00000000-0000-0000-0000-000000000000", "x", None],
            "ltv": ["44.5", "140", "-1", None],
        }
    )


MAPPING = {
    "EXTERN_ID": "customer_id", "EMAIL": "mail", "PHONE": "mobile", "FN": "given",
    "FI": "given", "LN": "family", "GEN": "sex", "DOB": "born", "CT": "town", "ST": "state",
    "ZIP": "post", "COUNTRY": "land", "MADID": "ad_id", "LOOKALIKE_VALUE": "ltv",
}

EXPECTED = {
    "EXTERN_ID": ["C1", "C2", "C3", "C4"],
    "EMAIL": ["john_smith@gmail.com", DIGEST, None, None],
    "PHONE": ["16505551212", "442071838750", None, None],
    "GEN": ["m", "f", None, None],
    "DOBY": ["1997", None, "1980", None],
    "DOBM": ["02", None, "01", None],
    "DOBD": ["16", None, "01", None],
    "LN": ["obrien", "김", "smithjones", None],
    "FN": ["valéry", "정", "maryjane", None],
    "FI": ["v", "정", "m", None],
    "CT": ["saopaulo", "서울", "москва", None],
    "ST": ["ca", "seoul", "ny", None],
    "ZIP": ["94035", "04524", "sw1a1aa", "02134"],
    "COUNTRY": ["us", "kr", "gb", None],
    "MADID": ["6d92078a-8246-4ba4-ae5b-76104861e7dc", None, None, None],
    "LOOKALIKE_VALUE": [44.5, 140.0, None, None],
}


def test_every_key_in_one_frame() -> None:
    out = audframe.normalize(customers(), MAPPING, default_country="US")
    expected = pl.DataFrame(
        EXPECTED, schema={k: KEYS[k].dtype if k in KEYS else pl.String for k in EXPECTED}
    )
    assert_frame_equal(out, expected)


def test_columns_in_catalogue_order_whatever_the_mapping_order() -> None:
    reversed_mapping = dict(reversed(list(MAPPING.items())))
    out = audframe.normalize(customers(), reversed_mapping, default_country="US")
    assert out.columns == [k for k in KEYS if k in out.columns]
    assert out.columns == list(EXPECTED)


def test_dtypes_string_and_lookalike_float() -> None:
    out = audframe.normalize(customers(), MAPPING, default_country="US")
    assert {k: d for k, d in out.schema.items() if d != pl.String} == {
        "LOOKALIKE_VALUE": pl.Float64
    }


def test_normalized_output_passes_the_contract() -> None:
    out = audframe.normalize(customers(), MAPPING, default_country="US")
    assert check_normalized(out) is out


def test_the_contract_rejects_what_normalize_would_not_produce() -> None:
    raw = pl.DataFrame({"EMAIL": ["John@Example.com"], "COUNTRY": ["usa"]})
    with pytest.raises(audframe.ValidationError) as info:
        check_normalized(raw)
    assert "John@Example.com" not in str(info.value)
    assert "EMAIL" in str(info.value)


def test_no_empty_strings_anywhere() -> None:
    out = audframe.normalize(customers(), MAPPING, default_country="US")
    strings = [c for c, d in out.schema.items() if d == pl.String]
    assert out.select(pl.any_horizontal(pl.col(strings) == "").any()).item() is False


def test_mapping_keys_are_case_insensitive() -> None:
    df = customers()
    lower = audframe.normalize(df, {"email": "mail", " Fn ": "given", "zip": "post"})
    upper = audframe.normalize(df, {"EMAIL": "mail", "FN": "given", "ZIP": "post"})
    assert_frame_equal(lower, upper)
    assert lower.columns == ["EMAIL", "FN", "ZIP"]


def test_other_columns_dropped_unless_kept() -> None:
    df = customers()
    out = audframe.normalize(df, {"EMAIL": "mail"})
    assert out.columns == ["EMAIL"]
    kept = audframe.normalize(df, {"EMAIL": "mail"}, keep=["customer_id", "mail"])
    assert kept.columns == ["EMAIL", "customer_id", "mail"]
    assert kept["customer_id"].to_list() == df["customer_id"].to_list()  # unchanged
    assert kept["mail"].to_list() == df["mail"].to_list()


def test_keep_cannot_shadow_a_key_column() -> None:
    df = pl.DataFrame({"mail": ["a@b.co"], "EMAIL": ["x"]})
    with pytest.raises(audframe.AudframeError, match="EMAIL"):
        audframe.normalize(df, {"EMAIL": "mail"}, keep=["EMAIL"])


def test_keep_names_a_missing_column() -> None:
    with pytest.raises(audframe.ColumnNotFoundError, match="'nope' not found"):
        audframe.normalize(customers(), {"EMAIL": "mail"}, keep=["nope"])


def test_a_frame_read_without_its_header_row_is_refused_without_its_first_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # pl.read_csv of a file without a header: the first customer names the columns
    first = {"Jane": ["Mary"], "Doe": ["Roe"], "jane.doe@corp.com": ["mary@y.com"],
             "+1 650 555 1212": ["650 555 1213"], "1985-03-02": ["1990-01-01"],
             "Boston": ["Salem"]}
    repeated = {"john@x.com": ["a@b.co"], "6505551212": ["1"], "6505551212_duplicated_0": ["2"]}
    for columns in (first, repeated):
        df = pl.DataFrame(columns)
        for mapping in (None, {"EMAIL": "email"}, {"FN": next(iter(columns))}):
            with pytest.raises(audframe.AudframeError, match="seems to have no header row") as info:
                audframe.normalize(df, mapping)
            told = str(info.value)
            assert "give the table a header row" in told
            assert not any(name.split("_")[0] in told for name in columns)  # no name shown

    # A list of phones alone: refused when the phone's column is a key's; else warned of,
    # since a numeric id may be named like a phone number too (not refused)
    phones = pl.DataFrame({"Ann": ["Bob"], "Smith": ["Roe"], "01.23.45.67.89": ["01 98 76 54 32"]})
    with pytest.raises(audframe.ValidationError, match="seems to have no header row") as info:
        audframe.normalize(phones, {"PHONE": "01.23.45.67.89"}, default_country="FR")
    with pytest.raises(audframe.ColumnNotFoundError) as info:  # nothing named like a key
        audframe.normalize(phones)
    assert not any(name in str(info.value) for name in ("Ann", "Smith", "01.23"))
    assert str(info.value).startswith("no column is named like a Meta key; columns are: 3, not")
    with caplog.at_level(logging.WARNING, logger="audframe"):
        assert audframe.normalize(phones, {"FN": "Ann"})["FN"].to_list() == ["bob"]
        ids = pl.DataFrame({"email": ["a@b.co"], "7234567890123": [3]})  # a product id
        assert audframe.normalize(ids)["EMAIL"].to_list() == ["a@b.co"]
    warned = [r.getMessage() for r in caplog.records if "named like a phone" in r.getMessage()]
    assert len(warned) == 2 and "give the table a header row" in warned[0]
    assert not any(name in " ".join(warned) for name in ("01.23", "7234567890123"))

    # named like data, but not like a value: dates, periods, years, short ids
    names = ["2024-01-15", "15.01.2024", "2022-2023", "2023 - 2024", "20240115",
             "1/1/2023 - 12/31/2023", "202401-202412", "01/2024-12/2024", "1234567",
             "1234567.0", "id 1234", "Q1 2024", "Phone (Work)"]
    fine = pl.DataFrame({**{n: ["x"] for n in names}, "email": ["a@b.co"]})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="audframe"):
        assert audframe.normalize(fine, {"EMAIL": "email"})["EMAIL"].to_list() == ["a@b.co"]
    assert not caplog.records
    with pytest.raises(audframe.ColumnNotFoundError) as info:
        audframe.normalize(fine, {"EMAIL": "mail"})
    assert ", ".join(map(repr, [*names, "email"])) in str(info.value)
    assert "header" not in str(info.value)


def test_a_digest_of_another_kind_is_missing_with_its_reason_not_read_as_text() -> None:
    md5, sha1 = hashlib.md5(b"mary").hexdigest(), hashlib.sha1(b"x").hexdigest().upper()
    sha512, sha256 = hashlib.sha512(b"x").hexdigest(), hashlib.sha256(b"x").hexdigest()
    cells = [md5, f" {sha1} ", sha512, "0x" + sha256, "SHA256:" + sha256]
    df = pl.DataFrame({"v": [*cells, "Mary", "1" * 40, sha256],
                       "id": [md5] * 8})
    mapping = {k: "v" for k in ("EMAIL", "PHONE", "FN", "FI", "CT", "ST", "ZIP")}
    out = audframe.normalize(df, {**mapping, "EXTERN_ID": "id"}, default_country="GB")
    for key in ("FN", "CT", "ST", "ZIP", "FI"):  # before: their letters as a name, a city …
        assert out[key].head(5).to_list() == [None] * 5, key
    assert out["FN"].tail(3).to_list() == ["mary", None, sha256]
    assert out["EXTERN_ID"].to_list() == [md5] * 8  # an id may be any text
    report = audframe.validate(df, mapping, default_country="GB")
    other = report.filter(pl.col("reason").str.contains("not SHA-256"))
    assert sorted(other["key"]) == sorted(mapping) and set(other["count"]) == {5}
    # digits alone keep the key's own reason
    assert report.filter(key="PHONE", reason="phone too long")["count"].to_list() == [1]


def test_fn_and_fi_from_one_column() -> None:
    df = pl.DataFrame({"name": ["Émilie", " o'Hara", "123", DIGEST]})
    out = audframe.normalize(df, {"FN": "name", "FI": "name"})
    assert out.columns == ["FN", "FI"]
    assert out["FN"].to_list() == ["émilie", "ohara", None, DIGEST]
    # the initial of a digest is unknowable: missing, not the first hex character
    assert out["FI"].to_list() == ["é", "o", None, None]


def test_dob_expands_into_three_columns() -> None:
    df = pl.DataFrame({"email": ["a@b.co", "c@d.co"], "born": ["2/16/1997", "1997-02-30"]})
    out = audframe.normalize(df, {"EMAIL": "email", "DOB": "born"})
    assert out.columns == ["EMAIL", "DOBY", "DOBM", "DOBD"]
    assert out.rows() == [("a@b.co", "1997", "02", "16"), ("c@d.co", None, None, None)]


def test_prehashed_cells_pass_through_per_cell() -> None:
    digest = hashlib.sha256("valéry".encode()).hexdigest()
    df = pl.DataFrame(
        {"mail": [DIGEST, "Mary@Example.com", f" {DIGEST.upper()} "],
         "first": ["Valéry", digest.upper(), "Mary"],
         "zip": [digest, "94035-1234", None]}
    )
    out = audframe.normalize(df, {"EMAIL": "mail", "FN": "first", "ZIP": "zip"})
    assert out["EMAIL"].to_list() == [DIGEST, "mary@example.com", DIGEST]
    assert out["FN"].to_list() == ["valéry", digest, "mary"]
    assert out["ZIP"].to_list() == [digest, "94035", None]
    check_normalized(out)


def test_a_pre_hashed_empty_string_is_missing_and_reported() -> None:
    empty = hashlib.sha256(b"").hexdigest()  # what tools that hash blank cells upload
    df = pl.DataFrame({
        "mail": [empty, f" {empty.upper()} ", "a@b.co"],
        "first": [empty, "Ann", None],
        "tel": [empty, None, "(650)555-1212"],
    })
    mapping = {"EMAIL": "mail", "FN": "first", "PHONE": "tel"}
    out = audframe.normalize(df, mapping, default_country="US")
    assert out.rows() == [
        (None, None, None), (None, None, "ann"), ("a@b.co", "16505551212", None),
    ]
    report = audframe.validate(df, mapping, default_country="US")
    why = report.filter(pl.col("reason") == "pre-hashed value is the SHA-256 of an empty string")
    assert dict(zip(why["key"], why["count"], strict=True)) == {"EMAIL": 2, "FN": 1, "PHONE": 1}
    hashed = audframe.prepare(df, mapping, default_country="US")
    assert hashed.null_count().row(0) == (2, 2, 2)
    assert empty not in str(hashed.rows())


# ----------------------------------------------------------------------------- PHONE


def test_phone_official_vector_with_default_country() -> None:
    df = pl.DataFrame({"phone": ["(650)555-1212"]})
    out = audframe.normalize(df, {"PHONE": "phone"}, default_country="US")
    assert out["PHONE"].to_list() == ["16505551212"]
    assert hashlib.sha256(b"16505551212").hexdigest() == (
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    )


def test_default_country_applies_only_where_the_row_has_no_country() -> None:
    df = pl.DataFrame(
        {"phone": ["020 7183 8750", "(650)555-1212"], "zip": ["SW1A 1AA", "2134"],
         "country": ["United Kingdom", None]}
    )
    out = audframe.normalize(
        df, {"PHONE": "phone", "ZIP": "zip", "COUNTRY": "country"}, default_country="usa"
    )
    assert out.rows() == [("442071838750", "sw1a1aa", "gb"), ("16505551212", "02134", None)]


# ----------------------------------------------------------------------------- aliases


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("email", "EMAIL"), ("e_mail", "EMAIL"), ("E-Mail", "EMAIL"),
        ("email_address", "EMAIL"), ("Email Address", "EMAIL"),
        ("phone", "PHONE"), ("mobile", "PHONE"), ("phone_number", "PHONE"), ("tel", "PHONE"),
        ("first_name", "FN"), ("First Name", "FN"), ("given_name", "FN"),
        ("last_name", "LN"), ("surname", "LN"),
        ("zip", "ZIP"), ("zipcode", "ZIP"), ("postcode", "ZIP"), ("postal_code", "ZIP"),
        ("ZIP Code", "ZIP"),
        ("city", "CT"), ("state", "ST"), ("country", "COUNTRY"), ("gender", "GEN"),
        ("birth_date", "DOB"), ("dob", "DOB"), ("madid", "MADID"),
        ("external_id", "EXTERN_ID"),
        # contact exports (Outlook, Google): headers seen in the wild
        ("Cell Phone", "PHONE"), ("Mobile Number", "PHONE"),
        ("Phone 1 - Value", "PHONE"), ("E-mail 1 - Value", "EMAIL"), ("Post Code", "ZIP"),
        ("Zip/Postal Code", "ZIP"), ("Country/Region", "COUNTRY"),
    ],
)
def test_alias_table(column: str, key: str) -> None:
    df = pl.DataFrame({column: ["x"], "unrelated": ["y"]})
    assert detect_mapping(df) == {key: column}


def test_an_outlook_export_gives_its_mobile_phone_not_its_home_phone() -> None:
    columns = ["First Name", "Last Name", "E-mail Address", "Home Phone", "Mobile Phone",
               "Business Phone", "Home Postal Code", "Home Country/Region"]
    found = detect_mapping(pl.DataFrame({c: ["x"] for c in columns}))
    assert found["PHONE"] == "Mobile Phone" and found["EMAIL"] == "E-mail Address"


@pytest.mark.parametrize("column", ["ltv", "customer_value", "region", "value", "name", "id"])
def test_ambiguous_columns_are_not_guessed(column: str) -> None:
    # an ltv column would make an ordinary audience refuse the upload (LOOKALIKE_VALUE
    # is for value-based ones); a region may be a sales region, not a state
    df = pl.DataFrame({column: ["x"], "email": ["a@b.co"]})
    assert detect_mapping(df) == {"EMAIL": "email"}
    assert detect_mapping(pl.DataFrame({"lookalike_value": [1.0]})) == {
        "LOOKALIKE_VALUE": "lookalike_value"
    }


def test_aliases_documented_in_the_table() -> None:
    for alias in ("email", "e_mail", "email_address", "phone", "mobile", "phone_number", "tel",
                  "first_name", "given_name", "zip", "zipcode", "postcode", "postal_code"):
        assert alias in ALIASES


def test_without_a_mapping_columns_are_recognised_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    df = pl.DataFrame(
        {"Postcode": ["94035-1234"], "notes": ["secret"], "E-mail": [" Secret@Example.com "],
         "first_name": ["Valéry"]}
    )
    with caplog.at_level(logging.INFO, logger="audframe"):
        out = audframe.normalize(df, default_country="US")
    assert out.columns == ["EMAIL", "FN", "ZIP"]
    assert out.row(0) == ("secret@example.com", "valéry", "94035")
    assert "EMAIL=E-mail" in caplog.text
    assert "FN=first_name" in caplog.text
    assert "ZIP=Postcode" in caplog.text
    assert "secret" not in caplog.text.lower()  # column names only, never values


def test_two_columns_named_like_one_key_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    df = pl.DataFrame({"email": ["a@b.co"], "E-mail": ["c@d.co"], "phone": ["1"]})
    with caplog.at_level(logging.WARNING, logger="audframe"):
        assert detect_mapping(df) == {"EMAIL": "email", "PHONE": "phone"}
    assert "EMAIL: columns 'email' and 'E-mail' are both named like it" in caplog.text
    assert "a@b.co" not in caplog.text


def test_detect_mapping_prefers_parts_over_dob() -> None:
    df = pl.DataFrame({"dob": ["1997-02-16"], "birth_year": ["1997"]})
    assert detect_mapping(df) == {"DOBY": "birth_year"}


# ----------------------------------------------------------------------------- lazy


def test_lazy_stays_lazy_and_equals_eager() -> None:
    df = customers()
    lazy = audframe.normalize(df.lazy(), MAPPING, default_country="US")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect_schema() == audframe.normalize(df, MAPPING, default_country="US").schema
    assert_frame_equal(lazy.collect(), audframe.normalize(df, MAPPING, default_country="US"))


def test_lazy_stays_lazy_through_the_namespace() -> None:
    lf = customers().lazy()
    out = lf.audience.normalize({"EMAIL": "mail"})
    assert isinstance(out, pl.LazyFrame)


# ----------------------------------------------------------------------------- sugar


def test_frame_namespace_equals_typed_function() -> None:
    df = customers()
    kwargs: dict[str, Any] = {"default_country": "US", "keep": ["customer_id"]}
    assert_frame_equal(
        df.audience.normalize(MAPPING, **kwargs), audframe.normalize(df, MAPPING, **kwargs)
    )
    assert_frame_equal(
        df.lazy().audience.normalize(MAPPING, **kwargs).collect(),
        audframe.normalize(df.lazy(), MAPPING, **kwargs).collect(),
    )


@pytest.mark.parametrize(
    ("key", "column"),
    [("EMAIL", "mail"), ("FN", "given"), ("FI", "given"), ("LN", "family"), ("GEN", "sex"),
     ("CT", "town"), ("ST", "state"), ("COUNTRY", "land"), ("MADID", "ad_id"),
     ("EXTERN_ID", "customer_id"), ("LOOKALIKE_VALUE", "ltv")],
)
def test_expression_namespace_equals_typed_function_and_frame(key: str, column: str) -> None:
    df = customers()
    sugar = df.select(pl.col(column).audience.normalize(key))
    typed = df.select(audframe.normalize_key(column, key))
    assert_frame_equal(sugar, typed)
    framewise = audframe.normalize(df, {key: column})
    assert sugar.to_series().to_list() == framewise[key].to_list()
    assert sugar.columns == [column]


def test_expression_with_region_and_default_country() -> None:
    df = pl.DataFrame({"zip": ["2134", "2134", "94035-1234"], "c": ["US", "AT", None]})
    got = df.select(pl.col("zip").audience.normalize("ZIP", region="c", default_country="US"))
    assert got["zip"].to_list() == ["02134", "2134", "94035"]
    framewise = audframe.normalize(df, {"ZIP": "zip", "COUNTRY": "c"}, default_country="US")
    assert framewise["ZIP"].to_list() == got["zip"].to_list()


def test_expression_inside_a_users_own_select() -> None:
    df = pl.DataFrame({"mail": [" A@B.CO "], "id": [7]})
    out = df.select("id", pl.col("mail").audience.normalize("email").alias("EMAIL"))
    assert out.rows() == [(7, "a@b.co")]


# ----------------------------------------------------------------------------- downstream


def test_hashing_the_normalized_frame_follows_the_spec() -> None:
    # SDK mistakes: MADID hashed, "" hashed for empty cells.
    out = audframe.hash(audframe.normalize(customers(), MAPPING, default_country="US"))
    assert out["MADID"].to_list() == EXPECTED["MADID"]
    assert out["EXTERN_ID"].to_list() == EXPECTED["EXTERN_ID"]
    assert out["EMAIL"].to_list()[:2] == [
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f", DIGEST,
    ]
    assert out["FN"].to_list()[0] == (
        "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"
    )
    assert out["COUNTRY"].to_list()[0] == (
        "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"
    )
    assert out["EMAIL"].to_list()[2:] == [None, None]
    strings = [c for c, d in out.schema.items() if d == pl.String]
    assert out.select(pl.any_horizontal(pl.col(strings) == EMPTY_SHA256).any()).item() is False


def test_date_column_frame() -> None:
    df = pl.DataFrame({"birthday": [dt.date(1997, 2, 16)], "mail": ["a@b.co"]})
    out = audframe.normalize(df)
    assert out.columns == ["EMAIL", "DOBY", "DOBM", "DOBD"]
    assert out.row(0) == ("a@b.co", "1997", "02", "16")


def test_all_null_column() -> None:
    df = pl.DataFrame({"mail": [None, None]})
    out = audframe.normalize(df, {"EMAIL": "mail"})
    assert out.schema == pl.Schema({"EMAIL": pl.String})
    assert out["EMAIL"].to_list() == [None, None]


def test_expression_form_reads_whole_floats_like_the_frame_form() -> None:
    df = pl.DataFrame({"zip": [94035.0, None], "tel": [6505551212.0, 12.5]})
    exprs = df.select(
        audframe.normalize_key("zip", "ZIP", default_country="US"),
        audframe.normalize_key("tel", "PHONE", default_country="US"),
    )
    frame = audframe.normalize(df, {"ZIP": "zip", "PHONE": "tel"}, default_country="US")
    assert exprs["zip"].to_list() == frame["ZIP"].to_list() == ["94035", None]
    assert exprs["tel"].to_list() == frame["PHONE"].to_list() == ["16505551212", None]


def test_whole_floats_written_as_text_read_as_their_number() -> None:
    # pandas writes a number column with gaps as "3012345678.0": a CSV of it is text,
    # and the ".0" is no digit (a German phone read it as 4930123456780 before)
    df = pl.DataFrame({"tel": ["3012345678.0", "6505551212.0", "030.123.450"],
                       "zip": ["10115.0", "94035.0", "SW1A 1AA"], "c": ["DE", "US", "GB"],
                       "m": ["2.0", "12.0", None]})
    mapping = {"PHONE": "tel", "ZIP": "zip", "COUNTRY": "c", "DOBM": "m"}
    out = audframe.normalize(df, mapping)
    assert out.select("PHONE", "ZIP", "DOBM").rows() == [
        ("493012345678", "10115", "02"), ("16505551212", "94035", "12"),
        ("44030123450", "sw1a1aa", None),
    ]
    exprs = df.select(audframe.normalize_key("tel", "PHONE", region="c"))
    assert exprs["tel"].to_list() == out["PHONE"].to_list()


# ----------------------------------------------------------------------------- input review


def test_city_and_state_fold_letters_not_symbols() -> None:
    # NFKD spells mathematical bold letters as plain capitals (lowercased after), and
    # symbols with letters too (№ as "No", ™ as "TM", Ⓒ as "C"): those go before it
    df = pl.DataFrame({"city": ["Колхоз №1", "𝐋𝐨𝐧𝐝𝐨𝐧", "Acme™"], "state": ["№ 5", "NY", "Ⓒ"]})
    out = audframe.normalize(df, {"CT": "city", "ST": "state"})
    assert out.rows() == [("колхоз", None), ("london", "ny"), ("acme", None)]
    check_normalized(out)
    assert audframe.prepare(df, {"CT": "city", "ST": "state"}).equals(audframe.hash(out))


def test_invisible_format_characters_are_dropped_but_not_from_extern_id() -> None:
    zwsp, bom, shy, rlm = "\u200b", "\ufeff", "\u00ad", "\u200f"
    df = pl.DataFrame({
        "mail": [f"John@Example.com{zwsp}", f"{bom}john@example.com", f"jo{shy}hn@example.com",
                 f"john{rlm}@example.com"],
        "zip": [f"SW1A{zwsp}1AA", None, None, None],
        "madid": [f"{bom}6d92078a-8246-4ba4-ae5b-76104861e7dc", None, None, None],
        "id": [f"c{zwsp}1", None, None, None],
    })
    mapping = {"EMAIL": "mail", "ZIP": "zip", "MADID": "madid", "EXTERN_ID": "id"}
    out = audframe.normalize(df, mapping, default_country="GB")
    assert out["EMAIL"].to_list() == ["john@example.com"] * 4
    assert out["ZIP"][0] == "sw1a1aa" and out["MADID"][0].startswith("6d92078a")
    assert out["EXTERN_ID"][0] == f"c{zwsp}1"  # sent exactly as given
    decomposed = "Jose\u0301-7"  # not even put in NFC
    ids = audframe.normalize(pl.DataFrame({"id": [decomposed]}), {"EXTERN_ID": "id"})
    assert ids["EXTERN_ID"].to_list() == [decomposed]
    assert df.select(audframe.normalize_key("mail", "EMAIL"))["mail"].to_list() == (
        ["john@example.com"] * 4
    )


def test_invisible_letters_and_selectors_are_dropped_too() -> None:
    # Hangul fillers are letters (Lo) that print as nothing: a name of one alone is
    # blank, not a value; variation selectors and the grapheme joiner are marks that
    # change no letter. All default-ignorable, like the format characters.
    names = ["\u3164", "\u115f\u1160", "Mary\ufe0f", "A\u034fnn", "\uffa0Bob"]
    df = pl.DataFrame({"n": names})
    out = audframe.normalize(df, {"FN": "n", "CT": "n"})
    assert out["FN"].to_list() == [None, None, "mary", "ann", "bob"]
    assert out["CT"].to_list() == [None, None, "mary", "ann", "bob"]
    report = audframe.validate(df, {"FN": "n"})  # blank, like a cell of spaces
    assert report.select("present", "valid", "invalid").rows() == [(3, 3, 0)]


def test_invisible_format_characters_are_dropped_from_phones_too() -> None:
    digest = hashlib.sha256(b"16505551212").hexdigest()
    cells = [digest + "\u200b", "\ufeff" + digest, "\u200e" + digest.upper(),
             "6505551212\u200e x12", "\u200b"]
    df = pl.DataFrame({"tel": cells})
    out = audframe.normalize(df, {"PHONE": "tel"}, default_country="US")
    assert out["PHONE"].to_list() == [digest, digest, digest, "16505551212", None]
    expr = df.select(audframe.normalize_key("tel", "PHONE", default_country="US"))
    assert expr["tel"].to_list() == out["PHONE"].to_list()
    report = audframe.validate(df, {"PHONE": "tel"}, default_country="US")
    assert report.select("present", "valid").row(0) == (4, 4)  # a lone U+200B is blank
    assert audframe.prepare(df, {"PHONE": "tel"}, default_country="US").equals(
        audframe.hash(out)
    )


def test_normalize_key_takes_one_column_and_keeps_extern_id_text() -> None:
    df = pl.DataFrame({"a": ["A@b.co"], "b": ["c@d.co"], "ext": ["10.00"], "zip": ["2134.0"]})
    with pytest.raises(ValueError, match="takes one column"):
        df.select(audframe.normalize_key(pl.col("a", "b"), "EMAIL"))
    got = df.select(audframe.normalize_key("ext", "EXTERN_ID"),
                    audframe.normalize_key("zip", "ZIP", default_country="US"))
    assert got.row(0) == ("10.00", "02134")


def test_float_extern_id_and_float32_columns() -> None:
    # 123456789012345678 read into a float column (pandas: an id column with gaps) is
    # 123456789012345680: past 2**53 a float holds no longer every whole number
    big = 123456789012345678.0
    df = pl.DataFrame({"x": [float("inf"), 1e15, 1.0, 2.5, float("nan"), big, -1e300, -3.0]})
    assert audframe.normalize(df, {"EXTERN_ID": "x"})["EXTERN_ID"].to_list() == [
        None, "1000000000000000", "1", "2.5", None, None, None, "-3",
    ]
    # every one a present cell, counted with its reason (NaN is pandas' null)
    inexact = "has more digits than a float column holds exactly (2**53): read the column as " \
        "text or Int64"
    report = audframe.validate(df.rename({"x": "p"}), {"PHONE": "p"}, default_country="US")
    assert report.select("present", "valid").row(0) == (7, 0)
    counts = dict(report.select("reason", "count").iter_rows())
    assert counts[f"phone {inexact}"] == 2 and counts["phone is a negative number"] == 1
    assert counts["phone is not a finite number"] == counts["phone is not a whole number"] == 1
    # ZIP: 2.5 and -3 are no postcode either; EXTERN_ID: they are ids
    for key, name, valid in (("ZIP", "zip", 2), ("EXTERN_ID", "extern id", 4)):
        report = audframe.validate(df.rename({"x": "v"}), {key: "v"}, default_country="GB")
        counts = dict(report.select("reason", "count").iter_rows())
        assert report.select("present", "valid").row(0) == (7, valid)
        assert counts[f"{name} is not a finite number"] == 1
        assert counts[f"{name} {inexact}"] == 2
    narrow = pl.DataFrame({"p": pl.Series([16505551212.0], dtype=pl.Float32)})
    for key in ("PHONE", "EXTERN_ID"):
        with pytest.raises(ColumnTypeError, match="Float32"):
            audframe.normalize(narrow, {key: "p"}, default_country="US")


def test_wrong_argument_types_get_errors_that_name_them() -> None:
    df = pl.DataFrame({"email": ["a@b.co"], "id": ["c1"]})
    with pytest.raises(TypeError, match="mapping takes a dict"):
        audframe.normalize(df, "email")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a country is a code"):
        audframe.normalize(df, default_country=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dob_format is a strftime format"):
        audframe.normalize(pl.DataFrame({"dob": ["1997-02-16"]}), dob_format=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="examples must be a whole number"):
        audframe.validate(df, examples=-1)
    assert audframe.normalize(df, {"EMAIL": "email"}, keep="id").columns == ["EMAIL", "id"]


def test_a_user_column_named_like_the_internal_region_column_is_left_alone() -> None:
    df = pl.DataFrame({"__audframe_region": ["6505551212", "020 7183 8750"],
                       "zip": ["94035", "SW1A 1AA"], "country": ["US", "GB"]})
    mapping = {"PHONE": "__audframe_region", "ZIP": "zip", "COUNTRY": "country"}
    eager = audframe.normalize(df, mapping, keep=["__audframe_region"])
    assert eager["PHONE"].to_list() == ["16505551212", "442071838750"]
    assert eager["__audframe_region"].to_list() == df["__audframe_region"].to_list()
    lazy = audframe.normalize(df.lazy(), mapping, keep=["__audframe_region"])
    assert eager.equals(lazy.collect())


def test_a_pandas_frame_is_refused_saying_how_to_convert_it(emulator: Any) -> None:
    import pandas as pd

    from audframe.sender import Sender

    df = pd.DataFrame({"email": ["a@b.co"]})
    calls = [lambda: audframe.normalize(df), lambda: audframe.prepare(df, {"EMAIL": "email"}),
             lambda: audframe.hash(df), lambda: audframe.validate(df),
             lambda: audframe.to_payloads(df)]
    with Sender("EAAtest-token-9f8e7d6c5b4a", base_url=emulator.url, progress=False) as sender:
        calls.append(lambda: sender.add("5", df))
        for call in calls:
            with pytest.raises(TypeError, match=r"pandas DataFrame; convert it with pl\."):
                call()
    assert emulator.requests == []


def test_phones_without_any_region_warn_in_python_too() -> None:
    df = pl.DataFrame({"phone": ["650 555 1212"], "land": ["US"]})
    for run in (audframe.normalize, audframe.prepare, audframe.validate):
        with pytest.warns(audframe.PhoneRegionWarning, match="pass default_country=") as told:
            run(df, {"PHONE": "phone"})
        assert told[0].filename == __file__  # the user's line (shown once per line)
    with pytest.warns(audframe.PhoneRegionWarning) as told:
        audframe.validate(pl.concat([df] * 3).lazy(), {"PHONE": "phone"})
    assert told[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert audframe.normalize(df, {"PHONE": "phone"}, default_country="US").item() == (
            "16505551212"
        )
        assert audframe.normalize(df, {"PHONE": "phone", "COUNTRY": "land"})["PHONE"].item() == (
            "16505551212"
        )


def test_a_phone_of_two_numbers_or_in_scientific_notation_says_so() -> None:
    df = pl.DataFrame({"phone": ["555-1234 / 555-9876", "650-555-1212, 650-555-1213",
                                 "650 555 1212 Or +1 650 555 1213", "6.505551212E+09",
                                 "6,5E+09", "650-555-1212 x 23", "1-800-FLOWERS", "12"]})
    reasons = dict(audframe.validate(df, {"PHONE": "phone"}, default_country="US")
                   .filter(key="PHONE").select("reason", "example_rows").iter_rows())
    assert reasons == {
        "phone holds more than one number: keep one per cell": [0, 1, 2],
        "phone in scientific notation (a spreadsheet's number format, which may have lost "
        "digits): export the column as text": [3, 4],
        "phone too short": [7],
    }  # an extension and a vanity number are one number, and valid


def test_a_phone_missing_for_want_of_a_region_says_so() -> None:
    # 415 555 0100 in a row without a country reads as +41 (Switzerland): too short for
    # libphonenumber, but the missing country is what to fix
    df = pl.DataFrame({"phone": ["(415) 555-0100", "+1 650 555", "415 555 0100", "650 555 1212"],
                       "country": [None, None, "US", "Narnia"]})
    mapping = {"PHONE": "phone", "COUNTRY": "country"}
    reasons = dict(audframe.validate(df, mapping).filter(key="PHONE")
                   .select("reason", "example_rows").iter_rows())
    assert reasons == {
        "phone has no calling code, and its row no country (set a default country)": [0],
        "phone too short": [1],  # written with its calling code: libphonenumber's reason
    }  # (650 555 1212 in a row of an unknown country: +65, Singapore, as the spec reads it)
    fixed = audframe.validate(df, mapping, default_country="US").filter(key="PHONE")
    assert set(fixed["reason"].drop_nulls()) == {"phone too short"}
    with pytest.warns(audframe.PhoneRegionWarning):
        alone = audframe.validate(df.drop("country"), {"PHONE": "phone"}).filter(key="PHONE")
    assert "phone has no calling code, and its row no country (set a default country)" in set(
        alone["reason"])
