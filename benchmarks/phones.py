"""Phones alone: audframe's vectorized ``phone`` against per-row ``phonenumbers``.

Run from the repository root::

    .venv/bin/python benchmarks/phones.py            # 1,000,000 rows, 100,000 per-row
    .venv/bin/python benchmarks/phones.py --rows 200000 --sample 20000

The data is generated deterministically (seeded, no network): phones from ten
countries (US, GB, DE, FR, IT, ES, BR, IN, MX, AU) in national and international
formats with realistic mess (separators, brackets, ``(0)``, ``00`` prefixes, country
code without ``+``, stray whitespace, extensions, a little junk and vanity text), a
lowercase country column, nearly every phone distinct. Every row has a region, as in
audframe's pipeline, where the row's COUNTRY is coalesced with ``default_country``.

The per-row baseline is what a careful user writes without audframe:
``phonenumbers.parse(value, COUNTRY)`` and E.164 without ``+`` when
``is_possible_number``, else null. Per-row parsing of 1,000,000 rows takes minutes,
so it is timed on the first ``--sample`` rows and its rate is what the table shows.
audframe is timed on all rows, eagerly and through the lazy streaming engine, and
its output on the sample rows is compared with the baseline's: plainly, and with the
rules where the spec (``shared/spec/normalization.md``, *Phones*) asks for another
answer than plain libphonenumber applied to the baseline's answer (fewer than 7 or
more than 15 digits, an all-zero number: missing; ``00`` carries the country code; no
region: the digits are read after a ``+``; a number libphonenumber cannot read for the
note after it is read up to the note). Every difference is listed under the rule
that explains it; a difference no rule explains is a bug and is shown.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audframe.normalize.phone import _without_note, phone

Digits = Callable[[random.Random], str]


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _us(rng: random.Random) -> tuple[str, list[str], list[str]]:
    a = rng.choice("23456789") + _d(rng, 2)
    b = rng.choice("23456789") + _d(rng, 2)
    c = _d(rng, 4)
    national = [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a}{b}{c}",
                f"1-{a}-{b}-{c}", f"1{a}{b}{c}", f"({a}){b}-{c}"]
    intl = [f"+1 {a} {b} {c}", f"+1 ({a}) {b}-{c}", f"+1{a}{b}{c}", f"+1-{a}-{b}-{c}"]
    return "us", national, intl


def _gb(rng: random.Random) -> tuple[str, list[str], list[str]]:
    if rng.random() < 0.7:
        a, b = "7" + rng.choice("456789") + _d(rng, 2), _d(rng, 6)
    else:
        a, b = "20", _d(rng, 4) + " " + _d(rng, 4)
    national = [f"0{a} {b}", f"0{a}-{b}", f"(0{a}) {b}", f"0{a}{b}".replace(" ", "")]
    intl = [f"+44 {a} {b}", f"+44 (0){a} {b}", f"0044 {a} {b}", f"44{a}{b}".replace(" ", ""),
            f"+44{a}{b}".replace(" ", "")]
    return "gb", national, intl


def _de(rng: random.Random) -> tuple[str, list[str], list[str]]:
    if rng.random() < 0.6:
        a, b = "1" + rng.choice("567") + rng.choice("0123456789"), _d(rng, rng.choice((7, 8)))
    else:
        a, b = rng.choice(("30", "40", "89", "69", "221")), _d(rng, rng.choice((7, 8)))
    national = [f"0{a} {b}", f"0{a}/{b}", f"(0{a}) {b}", f"0{a}-{b}", f"0{a}{b}"]
    intl = [f"+49 {a} {b}", f"+49 (0){a} {b}", f"0049 {a} {b}", f"+49{a}{b}", f"0049{a}{b}"]
    return "de", national, intl


def _fr(rng: random.Random) -> tuple[str, list[str], list[str]]:
    first = rng.choice("1234567" + "66677")
    g = [_d(rng, 2) for _ in range(4)]
    national = [f"0{first} {' '.join(g)}", f"0{first}.{'.'.join(g)}", f"0{first}{''.join(g)}",
                f"0{first}-{'-'.join(g)}"]
    intl = [f"+33 {first} {' '.join(g)}", f"+33 (0){first} {' '.join(g)}",
            f"0033 {first}{''.join(g)}", f"+33{first}{''.join(g)}"]
    return "fr", national, intl


def _it(rng: random.Random) -> tuple[str, list[str], list[str]]:
    if rng.random() < 0.65:
        a, b = "3" + rng.choice("123456789") + _d(rng, 1), _d(rng, 3) + " " + _d(rng, 4)
    else:
        a, b = rng.choice(("06", "02", "011", "055")), _d(rng, 4) + " " + _d(rng, 4)
    national = [f"{a} {b}", f"{a}-{b}".replace(" ", ""), f"{a}{b}".replace(" ", ""),
                f"({a}) {b}"]
    intl = [f"+39 {a} {b}", f"0039 {a} {b}", f"+39{a}{b}".replace(" ", ""),
            f"39{a}{b}".replace(" ", "")]
    return "it", national, intl


def _es(rng: random.Random) -> tuple[str, list[str], list[str]]:
    n = rng.choice(("6", "7", "91", "93")) if rng.random() < 0.9 else "8" + rng.choice("5678")
    n = n + _d(rng, 9 - len(n))
    national = [f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}", n, f"{n[:3]} {n[3:6]} {n[6:]}",
                f"{n[:3]}-{n[3:6]}-{n[6:]}"]
    intl = [f"+34 {n[:3]} {n[3:6]} {n[6:]}", f"0034{n}", f"+34{n}", f"34 {n}"]
    return "es", national, intl


def _br(rng: random.Random) -> tuple[str, list[str], list[str]]:
    area = rng.choice(("11", "21", "31", "41", "51", "61", "71", "81", "85", "19"))
    if rng.random() < 0.75:
        a, b = "9" + _d(rng, 4), _d(rng, 4)
    else:
        a, b = rng.choice("2345") + _d(rng, 3), _d(rng, 4)
    national = [f"({area}) {a}-{b}", f"{area} {a} {b}", f"{area}{a}{b}", f"0{area} {a}-{b}",
                f"(0{area}) {a}-{b}"]
    intl = [f"+55 {area} {a}-{b}", f"+55 ({area}) {a}-{b}", f"+55{area}{a}{b}", f"55{area}{a}{b}"]
    return "br", national, intl


def _in(rng: random.Random) -> tuple[str, list[str], list[str]]:
    n = rng.choice("6789") + _d(rng, 9)
    national = [f"{n[:5]} {n[5:]}", n, f"0{n}", f"0{n[:5]}-{n[5:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}"]
    intl = [f"+91 {n[:5]} {n[5:]}", f"+91-{n}", f"0091 {n}", f"91{n}", f"+91{n}"]
    return "in", national, intl


def _mx(rng: random.Random) -> tuple[str, list[str], list[str]]:
    area = rng.choice(("55", "33", "81"))
    a, b = _d(rng, 4), _d(rng, 4)
    national = [f"{area} {a} {b}", f"({area}) {a}-{b}", f"{area}{a}{b}", f"{area}-{a}-{b}"]
    intl = [f"+52 {area} {a} {b}", f"+52 1 {area} {a} {b}", f"0052 {area} {a} {b}",
            f"+52{area}{a}{b}", f"52{area}{a}{b}"]
    return "mx", national, intl


def _au(rng: random.Random) -> tuple[str, list[str], list[str]]:
    if rng.random() < 0.6:
        a, b, c = "4" + _d(rng, 2), _d(rng, 3), _d(rng, 3)
        national = [f"0{a} {b} {c}", f"0{a}{b}{c}", f"0{a}-{b}-{c}"]
    else:
        a, b, c = rng.choice("2378"), _d(rng, 4), _d(rng, 4)
        national = [f"(0{a}) {b} {c}", f"0{a} {b} {c}", f"0{a}{b}{c}"]
    intl = [f"+61 {a} {b} {c}", f"+61 (0){a} {b} {c}", f"+61{a}{b}{c}", f"61{a}{b}{c}"]
    return "au", national, intl


COUNTRIES = (_us, _gb, _de, _fr, _it, _es, _br, _in, _mx, _au)
WEIGHTS = (30, 12, 10, 8, 8, 7, 8, 7, 5, 5)
JUNK = ("n/a", "N/A", "unknown", "-", "0000000000", "123", "none", "tel", "12345", "x")
ODD = ("tel: {}", "Phone: {}", "{} (mobile)", "{} / home", "{},")
EXT = (" x{}", " ext. {}", " ext {}", "#{}", " X{}")
VANITY = ("1-800-FLOWERS", "1-800-GO-FEDEX", "1-888-APPLE-01", "0800 REDCROSS")


def generate(rows: int, seed: int = 20240601) -> pl.DataFrame:
    """``rows`` phones with a ``country`` column, deterministic for a seed."""
    rng = random.Random(seed)
    phones: list[str] = []
    countries: list[str | None] = []
    makers = rng.choices(COUNTRIES, WEIGHTS, k=rows)
    for make in makers:
        country, national, intl = make(rng)
        u = rng.random()
        value = rng.choice(national) if u < 0.62 else rng.choice(intl)
        u = rng.random()
        if u < 0.04:
            value = f" {value}  "
        elif u < 0.05:
            value = value + rng.choice(EXT).format(rng.randint(1, 9999))
        elif u < 0.055:
            value = rng.choice(ODD).format(value)
        elif u < 0.062:
            value = rng.choice(JUNK)
        elif u < 0.063:
            value = rng.choice(VANITY)
        phones.append(value)
        countries.append(country)
    return pl.DataFrame({"phone": phones, "country": countries})


def per_row(values: list[str | None], regions: list[str | None]) -> list[str | None]:
    """The baseline: one ``phonenumbers`` parse per row."""
    out: list[str | None] = []
    e164 = phonenumbers.PhoneNumberFormat.E164
    for value, region in zip(values, regions, strict=True):
        if value is None:
            out.append(None)
            continue
        try:
            number = phonenumbers.parse(value, region.upper() if region else None)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        if phonenumbers.is_possible_number(number):
            out.append(phonenumbers.format_number(number, e164)[1:])
        else:
            out.append(None)
    return out


def _possible(text: str, region: str | None) -> tuple[str, str] | None:
    """(E.164 without '+', national significant number) when libphonenumber finds a
    possible number, else None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return e164, phonenumbers.national_significant_number(number)


def _kept(found: tuple[str, str] | None) -> tuple[str | None, str | None]:
    """The spec's exclusions on a possible number: (result, the rule that removed it)."""
    if found is None:
        return None, None
    e164, nsn = found
    if not nsn.strip("0"):
        return None, "an all-zero number is missing"
    if len(e164) < 7:
        return None, "fewer than 7 digits is missing"
    if len(e164) > 15:
        return None, "more than 15 digits is missing"
    return e164, None


def spec_answer(value: str | None, region: str | None, base: str | None
                ) -> tuple[str | None, str | None]:
    """What the spec asks for, from the per-row baseline's answer ``base``.

    Returns the expected output and, when it differs from ``base``, the spec rule that
    makes it differ.
    """
    if value is None or not value.strip():
        return None, None if base is None else "an empty value is missing"
    text = value.strip()
    code = region.upper() if region and region.upper() in phonenumbers.SUPPORTED_REGIONS else None
    out, rule = _spec_reading(text, code)
    number = _without_note(text)  # the number before a note after it (audframe's rule)
    if out is None and number is not None:
        again, _ = _spec_reading(number, code)
        if again is not None:
            out, rule = again, "a note after the number is dropped"
    return out, None if out == base else rule


def _spec_reading(text: str, code: str | None) -> tuple[str | None, str | None]:
    """One reading of ``text`` by the spec's rules: the answer, and the rule that makes
    it differ from plain libphonenumber's, if any."""
    first = re.search(r"[+\uff0b\d]", text)
    plus = first is not None and not first.group().isdigit()
    if code is None and not plus:  # digits only, leading zeros stripped, read after '+'
        stripped = re.sub(r"^(?:[^\d+\uff0b]|0)*", "", text)
        out, _ = _kept(_possible("+" + stripped, None))
        return out, "no region: the digits are read after a '+'"
    out, rule = _kept(_possible(text, code))
    double_zero = re.match(r"^[^\d+\uff0b]*0\D*0", text)
    if out is None and code is not None and not plus and double_zero:
        again, _ = _kept(_possible(re.sub(r"^[^\d+\uff0b]*0\D*0", "+", text, count=1), None))
        if again is not None:
            out, rule = again, "'00' carries the country code"
    return out, rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    t = time.perf_counter()
    df = generate(args.rows, args.seed)
    gen_s = time.perf_counter() - t
    distinct = df.select(pl.struct("phone", "country").n_unique()).item()
    print(f"generated {df.height:,} rows ({distinct:,} distinct phone/country pairs) "
          f"in {gen_s:.1f} s; python {platform.python_version()}, polars {pl.__version__}, "
          f"phonenumbers {phonenumbers.__version__}, {platform.machine()}, "
          f"{platform.system()}")

    expr = phone(pl.col("phone"), region=pl.col("country"))
    df.head(1000).select(expr)  # load the metadata the run needs, once

    t = time.perf_counter()
    eager = df.select(expr).to_series()
    eager_s = time.perf_counter() - t

    t = time.perf_counter()
    lazy = df.lazy().select(expr).collect(engine="streaming").to_series()
    lazy_s = time.perf_counter() - t
    assert lazy.equals(eager, null_equal=True), "lazy streaming output differs from eager"

    sample = df.head(args.sample)
    t = time.perf_counter()
    base = per_row(sample["phone"].to_list(), sample["country"].to_list())
    base_s = time.perf_counter() - t

    ours = eager.head(args.sample).to_list()
    same = sum(a == b for a, b in zip(ours, base, strict=True))
    possible = [(a, b) for a, b in zip(ours, base, strict=True) if b is not None]
    same_possible = sum(a == b for a, b in possible)

    base_rate = len(sample) / base_s
    eager_rate = df.height / eager_s
    lazy_rate = df.height / lazy_s
    rows = [
        ("per-row phonenumbers", len(sample), base_s, base_rate, 1.0),
        ("audframe phone (eager)", df.height, eager_s, eager_rate, eager_rate / base_rate),
        ("audframe phone (lazy, streaming)", df.height, lazy_s, lazy_rate, lazy_rate / base_rate),
    ]
    print()
    print(f"| {'method':<34} | {'rows':>9} | {'seconds':>8} | {'rows/s':>11} | {'speed-up':>8} |")
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 10}|{'-' * 13}|{'-' * 10}|")
    for name, n, secs, rate, ratio in rows:
        print(f"| {name:<34} | {n:>9,} | {secs:>8.2f} | {rate:>11,.0f} | {ratio:>7.1f}x |")
    print()
    print(f"identical output, all {len(sample):,} compared rows:           "
          f"{same / len(sample):.4%} ({len(sample) - same:,} differ)")
    print(f"identical output, rows libphonenumber finds possible ({len(possible):,}): "
          f"{same_possible / len(possible):.4%}")
    # the same comparison, with the spec's own rules applied to the baseline's answers
    rules: Counter[str] = Counter()
    examples: dict[str, list[tuple[str | None, str | None, str | None, str | None]]] = {}
    same_spec = 0
    for v, c, a, b in zip(sample["phone"], sample["country"], ours, base, strict=True):
        expected, rule = spec_answer(v, c, b)
        if a == expected:
            same_spec += 1
            if a == b:
                continue
            name = f"spec: {rule}"
        else:
            name = "UNEXPLAINED (not what the spec asks for)"
        rules[name] += 1
        examples.setdefault(name, []).append((v, c, a, b))
    print(f"identical output, all rows, with the spec's documented rules applied: "
          f"{same_spec / len(sample):.4%} ({len(sample) - same_spec:,} differ)")
    print(f"per-row phonenumbers on all {df.height:,} rows would take about "
          f"{df.height / base_rate:.0f} s")
    if rules:
        print("\ndifferences from per-row phonenumbers, by the rule that explains them "
              "(value, country, audframe, per-row phonenumbers):")
        for name, count in rules.most_common():
            print(f"  {count:>7,}  {name}")
            for row in examples[name][:3]:
                print("             ", row)


if __name__ == "__main__":
    main()
