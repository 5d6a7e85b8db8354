"""Synthetic customer rows for the benchmarks, fast and at any size.

Usage::

    python benchmarks/make_data.py                      # 1,000,000 rows
    python benchmarks/make_data.py --rows 20000000      # for benchmarks/memory.py

writes ``benchmarks/data/customers_<rows>.parquet`` (the directory is gitignored).

Columns are named like an export (``email, phone, country, first_name, last_name, city,
state, zip``), all String, with realistic cardinalities: emails and phones nearly unique;
about 3,000 first names, 30,000 last names, 3,000 cities, tens of thousands of ZIPs, ~150
state spellings, ~40 country spellings; phones from ten countries in national and
international formats. Frequencies are skewed (a few names are common, most are rare).

Every value is a pure function of (row number, seed): the pseudo-random numbers come from
SplitMix64 written as polars integer expressions, so the rows do not depend on the chunk
size, on the polars version or on the machine, and ``make_rows(n)`` equals the first
``n`` rows of any larger file with the same seed. Large files are written chunk by chunk
and never held in memory whole.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

__all__ = [
    "COLUMNS", "MAPPING", "default_path", "ensure_parquet", "make_chunk", "make_rows",
    "write_parquet",
]

COLUMNS = ("email", "phone", "country", "first_name", "last_name", "city", "state", "zip")
#: Meta key → column, the mapping every benchmark gives audframe.
MAPPING = {
    "EMAIL": "email", "PHONE": "phone", "COUNTRY": "country", "FN": "first_name",
    "LN": "last_name", "CT": "city", "ST": "state", "ZIP": "zip",
}
DATA_DIR = Path(__file__).resolve().parent / "data"
CHUNK_ROWS = 1_000_000
ROW_GROUP_ROWS = 250_000

_MASK = (1 << 64) - 1
_U64 = pl.UInt64


# --- pseudo-random numbers as expressions ------------------------------------------------


def _splitmix_int(x: int) -> int:
    """SplitMix64 finaliser in plain Python (to derive per-stream keys)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _splitmix(x: pl.Expr) -> pl.Expr:
    """The same finaliser over a UInt64 column (polars integer arithmetic wraps)."""
    z = x + pl.lit(0x9E3779B97F4A7C15, _U64)
    z = z.xor(z // (1 << 30)) * pl.lit(0xBF58476D1CE4E5B9, _U64)
    z = z.xor(z // (1 << 27)) * pl.lit(0x94D049BB133111EB, _U64)
    return z.xor(z // (1 << 31))


class _Random:
    """Independent pseudo-random streams over the row-number column ``i``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def bits(self, stream: int) -> pl.Expr:
        """A UInt64 per row, uniform."""
        key = _splitmix_int((self.seed << 16) ^ stream)
        return _splitmix(pl.col("i").xor(pl.lit(key, _U64)))

    def below(self, stream: int, k: int) -> pl.Expr:
        """An integer in [0, k), uniform."""
        return self.bits(stream) % k

    def unit(self, stream: int) -> pl.Expr:
        """A float in [0, 1)."""
        return (self.bits(stream) // (1 << 11)).cast(pl.Float64) / float(1 << 53)

    def skewed(self, stream: int, k: int, power: float = 2.5) -> pl.Expr:
        """An index in [0, k), low indices far more frequent (u ** power)."""
        return (self.unit(stream).pow(power) * k).floor().cast(pl.Int64)

    def digits(self, stream: int, n: int) -> pl.Expr:
        """``n`` (≤ 18) random decimal digits as a String."""
        modulus: int = 10**n
        return (self.bits(stream) % modulus).cast(pl.String).str.zfill(n)


def _choose(index: pl.Expr, values: Sequence[str]) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index)


# --- vocabularies (small, built once per seed in plain Python) ---------------------------

_ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n",
           "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "y", "z", "")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ie", "ou", "y")
_CODAS = ("", "n", "r", "l", "s", "th", "m", "nd", "rt", "x", "ck", "nn", "ll")
_ACCENTS = {"e": "é", "a": "á", "o": "ö", "u": "ü", "n": "ñ", "i": "í", "c": "ç"}
_CYRILLIC = "абвгдежзиклмнопрстуфхцчшя"
_HANGUL = "김이박정최강조윤장임민준서연지우하은도윤예수아현성영미진혜"


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    )


def _vocabulary(
    rng: random.Random, k: int, syllables: Sequence[int]
) -> tuple[list[str], list[str]]:
    """``k`` distinct capitalised names and their ASCII forms; ~8% accented, ~4% non-Latin."""
    names: list[str] = []
    ascii_forms: list[str] = []
    seen: set[str] = set()
    while len(names) < k:
        base = _word(rng, rng.choice(syllables))
        if len(base) < 3 or base in seen:
            continue
        seen.add(base)
        r = rng.random()
        if r < 0.08:
            pos = [i for i, c in enumerate(base) if c in _ACCENTS]
            shown = base
            if pos:
                i = rng.choice(pos)
                shown = base[:i] + _ACCENTS[base[i]] + base[i + 1 :]
            shown = shown.capitalize()
        elif r < 0.10:
            shown = "".join(rng.choice(_CYRILLIC) for _ in range(len(base))).capitalize()
        elif r < 0.12:
            shown = "".join(rng.choice(_HANGUL) for _ in range(rng.choice((1, 2, 2))))
        elif r < 0.14:
            shown = base.capitalize() + rng.choice(("-", " ", "'")) + _word(rng, 1).capitalize()
        else:
            shown = base.capitalize()
        names.append(shown)
        ascii_forms.append(base)
    return names, ascii_forms


@dataclass(frozen=True)
class _Country:
    code: str
    weight: float
    spellings: tuple[str, ...]
    calling_code: str
    trunk: str  # national (trunk) prefix, "" where there is none
    prefixes: tuple[str, ...]  # how national significant numbers start
    nsn_length: int
    groups: tuple[int, ...]  # digit grouping of the national number, for display
    idd00: bool  # whether the international prefix is 00
    regions: tuple[str, ...]
    zip_kind: str  # "us", "num5", "num6", "num4", "gb", "ca", "br"
    zips: int  # distinct postcodes drawn from


_US_STATES = (
    "California", "CA", "Texas", "TX", "Florida", "FL", "New York", "NY", "Illinois", "IL",
    "Pennsylvania", "PA", "Ohio", "OH", "Georgia", "GA", "North Carolina", "NC", "Michigan",
    "MI", "New Jersey", "NJ", "Virginia", "VA", "Washington", "WA", "Arizona", "AZ",
    "Massachusetts", "MA", "Tennessee", "TN", "Indiana", "IN", "Missouri", "MO", "Maryland",
    "MD", "Wisconsin", "WI", "Colorado", "CO", "Minnesota", "MN", "South Carolina", "SC",
    "Alabama", "AL", "Louisiana", "LA", "Kentucky", "KY", "Oregon", "OR", "Oklahoma", "OK",
    "Connecticut", "CT", "Utah", "UT", "Iowa", "IA", "Nevada", "NV", "ca", "ny", "tx",
    "N.Y.", "Calif.", "Fla.", "D.C.", "District of Columbia",
)

COUNTRIES: tuple[_Country, ...] = (
    _Country("US", 50, ("United States", "US", "USA", "us", "United States of America"),
             "1", "1", ("212", "415", "650", "617", "312", "305", "206", "512", "303", "404",
                        "213", "718", "202", "702", "615", "503", "919", "602", "713", "857"),
             10, (3, 3, 4), False, _US_STATES, "us", 30_000),
    _Country("CA", 5, ("Canada", "CA", "CAN", "canada"), "1", "1",
             ("416", "647", "604", "514", "403", "613", "780", "902"), 10, (3, 3, 4), False,
             ("Ontario", "ON", "Québec", "QC", "British Columbia", "BC", "Alberta", "AB"),
             "ca", 3_000),
    _Country("GB", 10, ("United Kingdom", "UK", "GB", "gb", "GBR"), "44", "0",
             ("20", "161", "74", "75", "77", "78", "79"), 10, (4, 6), True,
             ("England", "Greater London", "Scotland", "Wales", "Northern Ireland",
              "West Midlands"), "gb", 8_000),
    _Country("DE", 7, ("Germany", "DE", "DEU", "de"), "49", "0",
             ("30", "89", "151", "152", "160", "170", "171", "176"), 11, (3, 4, 4), True,
             ("Bayern", "Bavaria", "Berlin", "Nordrhein-Westfalen", "Hessen", "Sachsen"),
             "num5", 4_000),
    _Country("FR", 7, ("France", "FR", "FRA", "fr"), "33", "0",
             ("1", "2", "3", "4", "5", "6", "7"), 9, (1, 2, 2, 2, 2), True,
             ("Île-de-France", "Auvergne-Rhône-Alpes", "Occitanie", "Bretagne",
              "Provence-Alpes-Côte d'Azur"), "num5", 4_000),
    _Country("IT", 4, ("Italy", "IT", "ITA", "Italia"), "39", "",
             ("06", "02", "32", "33", "34", "36", "38"), 10, (3, 3, 4), True,
             ("Lazio", "Lombardia", "Campania", "Sicilia", "Veneto"), "num5", 3_000),
    _Country("ES", 4, ("Spain", "ES", "ESP", "España"), "34", "",
             ("6", "91", "93", "7"), 9, (3, 3, 3), True,
             ("Madrid", "Cataluña", "Andalucía", "Valencia", "Galicia"), "num5", 3_000),
    _Country("BR", 5, ("Brazil", "BR", "BRA", "Brasil"), "55", "",
             ("119", "219", "319", "419", "519", "619"), 11, (2, 5, 4), False,
             ("São Paulo", "SP", "Rio de Janeiro", "RJ", "Minas Gerais", "MG"), "br", 3_000),
    _Country("MX", 4, ("Mexico", "MX", "MEX", "México"), "52", "",
             ("55", "33", "81"), 10, (2, 4, 4), True,
             ("CDMX", "Jalisco", "Nuevo León", "Puebla"), "num5", 3_000),
    _Country("IN", 4, ("India", "IN", "IND", "india"), "91", "0",
             ("9", "8", "7", "6"), 10, (5, 5), True,
             ("Maharashtra", "Karnataka", "Delhi", "Tamil Nadu", "Gujarat"), "num6", 3_000),
)

_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
                  "aol.com", "gmx.de", "web.de", "orange.fr", "free.fr", "libero.it",
                  "uol.com.br", "yahoo.co.uk", "btinternet.com", "comcast.net",
                  "rediffmail.com", "example.com", "protonmail.com", "live.com", "msn.com")
_GB_AREAS = ("SW", "SE", "E", "N", "NW", "W", "EC", "WC", "M", "B", "L", "LS", "G", "EH",
             "CF", "BS", "NE", "S", "NG", "BT", "OX", "CB", "BN", "RG", "PO", "SO", "DE",
             "LE", "CV", "ST")
_POST_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_CA_LETTERS = "ABCEGHJKLMNPRSTVXY"


@dataclass(frozen=True)
class _Vocab:
    first: list[str]
    first_ascii: list[str]
    last: list[str]
    last_ascii: list[str]
    cities: list[str]


_VOCABS: dict[int, _Vocab] = {}


def _vocab(seed: int) -> _Vocab:
    if seed not in _VOCABS:
        rng = random.Random(seed)
        first, first_ascii = _vocabulary(rng, 3_000, (1, 2, 2))
        last, last_ascii = _vocabulary(rng, 30_000, (2, 2, 3))
        cities, _ = _vocabulary(rng, 3_000, (2, 3))
        suffixes = ("", "", "", "ville", " City", "burg", " Springs", "-sur-Mer", "ton")
        cities = [c + rng.choice(suffixes) if c.isascii() else c for c in cities]
        _VOCABS[seed] = _Vocab(first, first_ascii, last, last_ascii, cities)
    return _VOCABS[seed]


# --- the rows -----------------------------------------------------------------------------
#
# Country-independent columns (names, email, city) are computed over the whole chunk; the
# country-dependent ones (phone, ZIP, country and state spellings) per country, with the
# country's constants inlined, then put back in row order.


def _join(parts: Sequence[pl.Expr], sep: str) -> pl.Expr:
    return pl.concat_str(list(parts), separator=sep)


def _phone_formats(rnd: _Random, ctry: _Country) -> list[tuple[int, pl.Expr]]:
    """The ways people write numbers of ``ctry``: (share in percent, expression over ``_nsn``).

    Each row gets one format; the rows are split by format before any string is built,
    so that every row pays for its own format only.
    """
    nsn = pl.col("_nsn")
    offsets = [sum(ctry.groups[:g]) for g in range(len(ctry.groups))]
    groups = [nsn.str.slice(o, n) for o, n in zip(offsets, ctry.groups, strict=True)]
    cc, trunk = ctry.calling_code, ctry.trunk
    spaced = _join(groups, " ")
    if cc == "1":  # (650) 555-1212, 650-555-1212, 650.555.1212, 6505551212
        paren = pl.concat_str(pl.lit("("), groups[0], pl.lit(") "), groups[1], pl.lit("-"),
                              groups[2])
        nationals = [paren, _join(groups, "-"), _join(groups, "."), nsn]
    else:  # 020 7183 8750, 020-7183-8750, 020.7183.8750, 02071838750
        nationals = [pl.lit(trunk) + _join(groups, sep) for sep in (" ", "-", ".")]
        nationals.append(pl.lit(trunk) + nsn)
    idd = (
        pl.lit(f"00{cc} ") + spaced if ctry.idd00
        else pl.lit(f"+{cc}-") + _join(groups, "-")
    )
    return [
        *((11, national) for national in nationals),
        (26, pl.lit(f"+{cc} ") + spaced),
        (10, pl.lit(f"+{cc}") + nsn),
        (7, idd),
        (6, pl.lit(cc) + nsn),  # E.164 digits without the plus
        (4, nationals[0] + pl.lit(" x") + rnd.digits(24, 3)),  # an extension
        (2, pl.lit(None, pl.String)),  # blank
        (1, pl.concat_str(pl.lit(" "), nationals[1], pl.lit(" "))),  # padded
    ]


def _phones(rnd: _Random, part: pl.DataFrame, ctry: _Country) -> pl.DataFrame:
    """``i`` and ``phone`` for rows of one country."""
    formats = _phone_formats(rnd, ctry)
    cuts = [sum(w for w, _ in formats[: j + 1]) for j in range(len(formats) - 1)]
    f = rnd.below(25, 100)
    part = part.with_columns(
        _nsn=_nsn(rnd, ctry),
        _f=pl.sum_horizontal([(f >= cut).cast(pl.Int32) for cut in cuts]),
    )
    pieces = [
        sub.select("i", phone=formats[int(key[0])][1])
        for key, sub in part.partition_by("_f", as_dict=True).items()
    ]
    return pl.concat(pieces).sort("i")


def _nsn(rnd: _Random, ctry: _Country) -> pl.Expr:
    """The national significant number: a known leading block, then random digits."""
    prefix = _choose(rnd.below(20, len(ctry.prefixes)).cast(pl.Int64), ctry.prefixes)
    # the first subscriber digit is 2-9 (the NANP exchange rule; avoids unassigned blocks)
    body = (rnd.below(21, 8) + 2).cast(pl.String) + rnd.digits(22, 12)
    return pl.concat_str(prefix, body).str.slice(0, ctry.nsn_length)


def _zip(ctry: _Country) -> pl.Expr:
    """Postcode number ``_k`` of ``ctry``, written the local way (``_r31``: ZIP+4 or not)."""
    k = pl.col("_k")

    def text(x: pl.Expr, width: int = 1) -> pl.Expr:
        return x.cast(pl.String).str.zfill(width)

    def letter(x: pl.Expr, letters: str) -> pl.Expr:
        return _choose(x % len(letters), list(letters))

    kind = ctry.zip_kind
    if kind == "us":
        base = text(k * 3 + 1001, 5)
        plus4 = pl.concat_str(base, pl.lit("-"), text((k * 7919) % 10_000, 4))
        return pl.when(pl.col("_r31") < 8).then(plus4).otherwise(base)
    if kind == "gb":
        return pl.concat_str(
            _choose(k % len(_GB_AREAS), _GB_AREAS), text(k // len(_GB_AREAS) % 20 + 1),
            pl.lit(" "), text(k // 600 % 10), letter(k, _POST_LETTERS),
            letter(k // 7, _POST_LETTERS),
        )
    if kind == "ca":
        return pl.concat_str(
            letter(k, _CA_LETTERS), text(k // 18 % 10), letter(k // 180, _CA_LETTERS),
            pl.lit(" "), text(k % 10), letter(k // 3, _CA_LETTERS), text(k // 5 % 10),
        )
    if kind == "br":
        return pl.concat_str(text(k * 13 + 1000, 5), pl.lit("-"), text(k * 37 % 1000, 3))
    if kind == "num6":
        return text(k * 31 + 110_001, 6)
    return text(k * 7 + 1000, 5)


def _choose_messy(r: pl.Expr, index: pl.Expr, values: Sequence[str], *,
                  upper: int, lower: int, padded: int, blank: int) -> pl.Expr:
    """``values[index]``, with per-mille shares (by ``r`` in [0, 1000)) of UPPER, lower,
    padded and null cells. The variants are made once per value, not once per row."""
    variants = [
        *values, *(v.upper() for v in values), *(v.lower() for v in values),
        *(f" {v} " for v in values),
    ]
    variant = (
        pl.when(r < upper).then(1)
        .when(r < upper + lower).then(2)
        .when(r < upper + lower + padded).then(3)
        .otherwise(0)
    )
    text = _choose(index + variant * len(values), variants)
    return pl.when(r >= 1000 - blank).then(None).otherwise(text)


def _by_country(rnd: _Random, part: pl.DataFrame, ctry: _Country) -> pl.DataFrame:
    """The country-dependent columns for rows of one country, in row order."""
    other = part.with_columns(
        _r9=rnd.below(9, 100), _r16=rnd.below(16, 1000), _r17=rnd.below(17, 100),
        _r31=rnd.below(31, 100),
        _k=(rnd.unit(30).pow(1.8) * ctry.zips).floor().cast(pl.Int64),
        _sp=rnd.below(8, len(ctry.spellings)).cast(pl.Int64),
        _st=rnd.below(10, len(ctry.regions)).cast(pl.Int64),
    ).select(
        "i",
        country=pl.when(pl.col("_r9") < 4).then(None)
        .otherwise(_choose(pl.col("_sp"), ctry.spellings)),
        state=_choose_messy(pl.col("_r16"), pl.col("_st"), ctry.regions, upper=0, lower=0,
                            padded=10, blank=50),
        zip=pl.when(pl.col("_r17") < 5).then(None).otherwise(_zip(ctry)),
    )
    return other.with_columns(phone=_phones(rnd, part, ctry)["phone"])


def _emails(rnd: _Random, vocab: _Vocab, frame: pl.DataFrame) -> pl.Series:
    """first.last123@domain: ~8% John.smith…, 2% SHOUTED, 1.5% padded, 1.5% without a
    domain (invalid), 3% null. Case variants are gathered from per-value lists."""
    firsts = [*vocab.first_ascii, *(v.capitalize() for v in vocab.first_ascii),
              *(v.upper() for v in vocab.first_ascii)]
    lasts = [*vocab.last_ascii, *vocab.last_ascii, *(v.upper() for v in vocab.last_ascii)]
    domains = [*_EMAIL_DOMAINS, *_EMAIL_DOMAINS, *(d.upper() for d in _EMAIL_DOMAINS)]
    r = pl.col("_r7")
    staged = frame.with_columns(
        _r7=rnd.below(7, 1000), _dom=rnd.skewed(6, len(_EMAIL_DOMAINS), 2.0),
        _sep=rnd.below(4, 4).cast(pl.Int64), _num=rnd.below(5, 100_000).cast(pl.String),
    ).with_columns(
        _case=pl.when(r < 80).then(1).when(r < 100).then(2).otherwise(0),
    ).with_columns(
        _local=pl.concat_str(
            _choose(pl.col("_fn") + pl.col("_case") * len(vocab.first_ascii), firsts),
            _choose(pl.col("_sep"), (".", "_", "", ".")),
            _choose(pl.col("_ln") + pl.col("_case") * len(vocab.last_ascii), lasts),
            pl.col("_num"),
        ),
        _domain=_choose(pl.col("_dom") + pl.col("_case") * len(_EMAIL_DOMAINS), domains),
    )
    address = pl.concat_str(pl.col("_local"), pl.lit("@"), pl.col("_domain"))
    return staged.select(
        email=pl.when(r < 940).then(address)
        .when(r < 955).then(pl.concat_str(pl.lit(" "), address, pl.lit(" ")))
        .when(r < 970).then(pl.col("_local"))  # no domain: invalid
    )["email"]


def make_chunk(start: int, n: int, seed: int = 0) -> pl.DataFrame:
    """Rows ``start`` … ``start + n - 1`` of the data set for ``seed``."""
    vocab = _vocab(seed)
    rnd = _Random(seed)
    weights = [c.weight for c in COUNTRIES]
    cuts = [sum(weights[: j + 1]) / sum(weights) for j in range(len(COUNTRIES) - 1)]
    frame = pl.DataFrame({"i": pl.int_range(start, start + n, dtype=_U64, eager=True)})
    frame = frame.with_columns(
        _u=rnd.unit(1), _fn=rnd.skewed(2, len(vocab.first), 2.2),
        _ln=rnd.skewed(3, len(vocab.last), 2.8), _ct=rnd.skewed(11, len(vocab.cities), 2.5),
        _r13=rnd.below(13, 1000), _r14=rnd.below(14, 1000), _r15=rnd.below(15, 1000),
    ).with_columns(
        _c=pl.sum_horizontal([(pl.col("_u") >= cut).cast(pl.Int32) for cut in cuts]),
    )
    common = frame.select(
        first_name=_choose_messy(pl.col("_r13"), pl.col("_fn"), vocab.first, upper=30,
                                 lower=20, padded=10, blank=20),
        last_name=_choose_messy(pl.col("_r14"), pl.col("_ln"), vocab.last, upper=30,
                                lower=20, padded=10, blank=20),
        city=_choose_messy(pl.col("_r15"), pl.col("_ct"), vocab.cities, upper=30, lower=30,
                           padded=10, blank=40),
    ).with_columns(email=_emails(rnd, vocab, frame))
    parts = frame.select("i", "_c").partition_by("_c", as_dict=True, include_key=False)
    local = pl.concat(
        [
            _by_country(rnd, part, COUNTRIES[int(key[0])])
            for key, part in parts.items()
        ]
    ).sort("i")
    return pl.concat([common, local.drop("i")], how="horizontal").select(COLUMNS)


def make_rows(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` synthetic customer rows (String columns :data:`COLUMNS`), deterministic in ``seed``.

    Built in chunks of a million rows so that even large ``n`` keeps temporaries small.
    """
    if n <= CHUNK_ROWS:
        return make_chunk(0, n, seed)
    return pl.concat(
        [make_chunk(s, min(CHUNK_ROWS, n - s), seed) for s in range(0, n, CHUNK_ROWS)],
        rechunk=True,
    )


def default_path(rows: int, seed: int = 0) -> Path:
    suffix = "" if seed == 0 else f"_seed{seed}"
    return DATA_DIR / f"customers_{rows}{suffix}.parquet"


def write_parquet(path: Path, rows: int, seed: int = 0, *, chunk_rows: int = CHUNK_ROWS,
                  verbose: bool = False) -> Path:
    """Write ``rows`` rows to ``path`` one chunk at a time (memory: about one chunk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.partial")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, rows, chunk_rows):
            table = make_chunk(start, min(chunk_rows, rows - start), seed).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            if verbose:
                print(f"  {start + table.num_rows:,} / {rows:,} rows", file=sys.stderr)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path


def ensure_parquet(rows: int, seed: int = 0) -> Path:
    """The Parquet file for ``rows`` rows, generated if it is not there yet."""
    path = default_path(rows, seed)
    if not path.exists():
        write_parquet(path, rows, seed)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write synthetic benchmark rows to Parquet.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (default: benchmarks/data/customers_<rows>.parquet)")
    args = parser.parse_args(argv)
    path = args.out or default_path(args.rows, args.seed)
    t0 = time.perf_counter()
    write_parquet(path, args.rows, args.seed, verbose=args.rows > CHUNK_ROWS)
    elapsed = time.perf_counter() - t0
    size = path.stat().st_size / 2**20
    print(f"wrote {args.rows:,} rows to {path} ({size:,.1f} MiB) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
