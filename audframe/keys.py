"""The catalogue of Meta match keys: which are hashed, their output dtype, their aliases.

The order of :data:`KEYS` is the column order of every normalized frame and the
``schema`` order of every payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = [
    "DOB",
    "HASHED_KEYS",
    "INPUT_KEYS",
    "KEYS",
    "ROW_UNIQUE_KEYS",
    "Key",
    "canonical_key",
]


@dataclass(frozen=True)
class Key:
    """One Meta match key.

    name: the key as Meta spells it (``EMAIL``).
    hashed: whether Meta expects a SHA-256 digest.
    dtype: the dtype of the normalized column.
    aliases: lowercase source-column names recognised without a mapping.
    """

    name: str
    hashed: bool
    dtype: type[pl.DataType]
    aliases: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("EXTERN_ID", False, pl.String,
            ("extern_id", "external_id", "customer_id", "user_id", "client_id", "crm_id")),
        Key("EMAIL", True, pl.String,
            ("email", "e_mail", "email_address", "e_mail_address", "mail", "emailaddress",
             "email_1", "e_mail_1", "e_mail_1_value")),
        Key("PHONE", True, pl.String,
            ("phone", "mobile", "phone_number", "tel", "telephone", "mobile_phone", "cell",
             "phonenumber", "cell_phone", "mobile_number", "mobile_phone_number",
             "cell_phone_number", "phone_1", "phone_1_value")),  # not "home_phone": Outlook
            # writes it before "Mobile Phone", and the first column named like a key wins
        Key("GEN", True, pl.String, ("gen", "gender", "sex")),
        Key("DOBY", True, pl.String, ("doby", "birth_year", "year_of_birth")),
        Key("DOBM", True, pl.String, ("dobm", "birth_month", "month_of_birth")),
        Key("DOBD", True, pl.String, ("dobd", "birth_day", "day_of_birth")),
        Key("LN", True, pl.String,
            ("ln", "last_name", "lastname", "surname", "family_name")),
        Key("FN", True, pl.String,
            ("fn", "first_name", "firstname", "given_name", "forename")),
        Key("FI", True, pl.String, ("fi", "first_initial")),
        Key("CT", True, pl.String, ("ct", "city", "town")),
        Key("ST", True, pl.String,
            ("st", "state", "province", "state_province")),  # not "region": sales regions
        Key("ZIP", True, pl.String,
            ("zip", "zipcode", "zip_code", "postcode", "postal_code", "postalcode", "post_code",
             "zip_postal_code")),
        Key("COUNTRY", True, pl.String,
            ("country", "country_code", "countrycode", "country_region", "country_name")),
        Key("MADID", False, pl.String,
            ("madid", "maid", "idfa", "gaid", "advertising_id", "mobile_advertiser_id")),
        # Only a column named for it: an "ltv" column in an export for an ordinary
        # audience would make Meta refuse the upload (value-based audiences only).
        Key("LOOKALIKE_VALUE", False, pl.Float64, ("lookalike_value",)),
    )
}

#: The one input-only key: a date column that expands into DOBY, DOBM and DOBD.
DOB = "DOB"
DOB_ALIASES = ("dob", "birth_date", "birthdate", "date_of_birth", "birthday")

#: Every key a mapping may name.
INPUT_KEYS: tuple[str, ...] = (*KEYS, DOB)

#: Keys whose values Meta expects as SHA-256 digests (EXTERN_ID only by opt-in).
HASHED_KEYS: frozenset[str] = frozenset(k.name for k in KEYS.values() if k.hashed)

#: Keys whose values are nearly unique per person: worked on row by row. The others
#: repeat heavily (names, cities, ZIPs, dates) and are worked on once per distinct value.
ROW_UNIQUE_KEYS: frozenset[str] = frozenset(
    {"EMAIL", "PHONE", "MADID", "EXTERN_ID", "LOOKALIKE_VALUE"}
)


def canonical_key(name: str) -> str:
    """Return the upper-case Meta key for ``name``, or raise ``UnknownKeyError``."""
    from audframe.errors import UnknownKeyError

    key = name.strip().upper()
    if key not in INPUT_KEYS:
        raise UnknownKeyError(
            f"{name!r} is not a Meta match key; valid keys are: {', '.join(INPUT_KEYS)}"
        )
    return key
