"""Generate the synthetic customer export shipped in ``data/``.

Usage::

    python data/make_sample.py [--rows 10000] [--seed 20240611] [--out data]

Writes ``customers.parquet`` and ``customers.csv`` and prints a summary of the mess
they contain. Deterministic: the same arguments always give a byte-identical CSV
and a Parquet file with identical content. No network, no third-party data
generators: every name, city and number pattern below is hand-written.

The file looks like a CRM export (column names that audframe's alias table
recognises) and carries the mess real exports have; ``data/README.md`` lists it.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = ["COLUMNS", "build_rows", "main", "make_frame", "write_sample"]

DEFAULT_ROWS = 10_000
DEFAULT_SEED = 20240611
DATA_DIR = Path(__file__).resolve().parent

COLUMNS: tuple[str, ...] = (
    "customer_id", "email", "phone", "first_name", "last_name", "gender", "birth_date",
    "city", "state", "zip", "country", "madid", "value",
)

Row = dict[str, str | float | None]

# ---------------------------------------------------------------------------
# Reference lists. Names are (as written, ASCII romanization used for e-mails).
# ---------------------------------------------------------------------------

Name = tuple[str, str]


def _latin(*names: str) -> tuple[Name, ...]:
    """Latin-script names; the e-mail form drops accents, spaces and apostrophes."""
    out = []
    for n in names:
        ascii_form = unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode()
        out.append((n, "".join(c for c in ascii_form.lower() if c.isalnum())))
    return tuple(out)


@dataclass(frozen=True)
class Place:
    city: str
    state_forms: tuple[str, ...]  # spellings of the region, first one most common
    zip_prefix: str  # digits/letters the postcode starts with; see zip_fn


@dataclass(frozen=True)
class Locale:
    code: str  # ISO alpha-2, only for bookkeeping: the export carries `country_forms`
    weight: float
    country_forms: tuple[tuple[str, float], ...]
    female: tuple[Name, ...]
    male: tuple[Name, ...]
    last: tuple[Name, ...]
    places: tuple[Place, ...]
    zip_fn: Callable[[random.Random, Place], str]
    phone_fn: Callable[[random.Random], tuple[str, list[str]]]  # (calling code, NSN groups)
    national: Callable[[random.Random, list[str]], str]  # national-format rendering
    domains: tuple[str, ...]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


# --- postcodes -------------------------------------------------------------

def _zip_numeric(width: int) -> Callable[[random.Random, Place], str]:
    def make(rng: random.Random, place: Place) -> str:
        return place.zip_prefix + _digits(rng, width - len(place.zip_prefix))

    return make


def _zip_us(rng: random.Random, place: Place) -> str:
    base = place.zip_prefix + _digits(rng, 5 - len(place.zip_prefix))
    r = rng.random()
    if r < 0.08:
        return f"{base}-{_digits(rng, 4)}"  # ZIP+4
    if r < 0.10:
        return base + _digits(rng, 4)  # ZIP+4 without the dash
    if base.startswith("0") and r < 0.55:
        return base.lstrip("0")  # went through an integer column: leading zero lost
    return base


def _zip_gb(rng: random.Random, place: Place) -> str:
    outward = place.zip_prefix + str(rng.randrange(1, 10))
    inward = str(rng.randrange(10)) + _pick(rng, "ABDEFGHJLNPQRSTUWXYZ") + _pick(
        rng, "ABDEFGHJLNPQRSTUWXYZ"
    )
    r = rng.random()
    if r < 0.10:
        return (outward + inward).lower()
    if r < 0.15:
        return outward + inward
    return f"{outward} {inward}"


def _zip_ca(rng: random.Random, place: Place) -> str:
    letters = "ABCEGHJKLMNPRSTVXY"
    code = f"{place.zip_prefix}{rng.randrange(10)}{_pick(rng, letters)} "
    code += f"{rng.randrange(10)}{_pick(rng, letters)}{rng.randrange(10)}"
    return code.lower() if rng.random() < 0.1 else code


def _zip_jp(rng: random.Random, place: Place) -> str:
    return f"{place.zip_prefix}{_digits(rng, 3 - len(place.zip_prefix))}-{_digits(rng, 4)}"


def _zip_br(rng: random.Random, place: Place) -> str:
    return f"{place.zip_prefix}{_digits(rng, 5 - len(place.zip_prefix))}-{_digits(rng, 3)}"


def _zip_none(rng: random.Random, place: Place) -> str:
    return ""


# --- phones: each returns (calling code, national significant number in groups) ---

US_AREAS = ("212", "415", "650", "617", "312", "305", "206", "512", "303", "404", "213",
            "718", "202", "702", "615", "503", "919", "602", "713", "857")
CA_AREAS = ("416", "647", "604", "514", "403", "613", "780", "902")


def _nanp(areas: Sequence[str]) -> Callable[[random.Random], tuple[str, list[str]]]:
    def make(rng: random.Random) -> tuple[str, list[str]]:
        exchange = str(rng.randrange(2, 10)) + _digits(rng, 2)
        return "1", [_pick(rng, areas), exchange, _digits(rng, 4)]

    return make


def _phone_gb(rng: random.Random) -> tuple[str, list[str]]:
    r = rng.random()
    if r < 0.4:
        return "44", ["20", _pick(rng, "378") + _digits(rng, 3), _digits(rng, 4)]
    if r < 0.5:
        return "44", ["161", _digits(rng, 3), _digits(rng, 4)]
    return "44", ["7" + _pick(rng, "45789") + _digits(rng, 2), _digits(rng, 6)]


def _phone_fr(rng: random.Random) -> tuple[str, list[str]]:
    first = _pick(rng, "1234567")
    pair = str(rng.randrange(50 if first == "7" else 10, 90))
    return "33", [first, pair, *(_digits(rng, 2) for _ in range(3))]


def _phone_de(rng: random.Random) -> tuple[str, list[str]]:
    r = rng.random()
    if r < 0.3:
        return "49", ["30", str(rng.randrange(2, 10)) + _digits(rng, 7)]
    if r < 0.45:
        return "49", ["89", str(rng.randrange(2, 10)) + _digits(rng, 7)]
    return "49", [_pick(rng, ("151", "152", "160", "170", "171", "176")), _digits(rng, 8)]


def _phone_it(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.45:  # landline: the leading 0 is part of the number
        return "39", [_pick(rng, ("06", "02")), _digits(rng, 4), _digits(rng, 4)]
    return "39", ["3" + _pick(rng, "234567") + _digits(rng, 1), _digits(rng, 3), _digits(rng, 4)]


def _phone_es(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.6:
        return "34", ["6" + _digits(rng, 2), _digits(rng, 2), _digits(rng, 2), _digits(rng, 2)]
    return "34", ["91" + str(rng.randrange(2, 10)), _digits(rng, 3), _digits(rng, 3)]


def _phone_kr(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.75:
        return "82", ["10", str(rng.randrange(2, 9)) + _digits(rng, 3), _digits(rng, 4)]
    return "82", ["2", str(rng.randrange(2, 10)) + _digits(rng, 2), _digits(rng, 4)]


def _phone_jp(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.6:
        mobile = _pick(rng, ("90", "80", "70"))
        return "81", [mobile, str(rng.randrange(1, 10)) + _digits(rng, 3), _digits(rng, 4)]
    return "81", ["3", str(rng.randrange(1, 10)) + _digits(rng, 3), _digits(rng, 4)]


def _phone_ru(rng: random.Random) -> tuple[str, list[str]]:
    area = _pick(rng, ("495", "499", "812", "916", "903", "925", "977"))
    return "7", [area, _digits(rng, 3), _digits(rng, 2), _digits(rng, 2)]


def _phone_br(rng: random.Random) -> tuple[str, list[str]]:
    area = _pick(rng, ("11", "21", "31", "41", "51", "61"))
    return "55", [area, "9" + _digits(rng, 4), _digits(rng, 4)]


def _phone_mx(rng: random.Random) -> tuple[str, list[str]]:
    area = _pick(rng, ("55", "33", "81"))
    return "52", [area, _digits(rng, 4), _digits(rng, 4)]


def _phone_au(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.6:
        return "61", ["4" + _pick(rng, "0123") + _digits(rng, 1), _digits(rng, 3), _digits(rng, 3)]
    return "61", [_pick(rng, ("2", "3")), "9" + _digits(rng, 3), _digits(rng, 4)]


def _phone_in(rng: random.Random) -> tuple[str, list[str]]:
    return "91", [_pick(rng, "6789") + _digits(rng, 4), _digits(rng, 5)]


def _phone_ae(rng: random.Random) -> tuple[str, list[str]]:
    return "971", [_pick(rng, ("50", "52", "55", "56")), _digits(rng, 3), _digits(rng, 4)]


# --- national renderings ---------------------------------------------------

def _nat_nanp(rng: random.Random, g: list[str]) -> str:
    a, e, line = g
    return _pick(rng, (
        f"({a}) {e}-{line}", f"{a}-{e}-{line}", f"{a}.{e}.{line}", f"{a}{e}{line}",
        f"1-{a}-{e}-{line}", f"({a}){e}-{line}", f"1 ({a}) {e}-{line}",
    ))


def _nat_trunk(trunk: str, seps: Sequence[str]) -> Callable[[random.Random, list[str]], str]:
    def render(rng: random.Random, g: list[str]) -> str:
        return trunk + _pick(rng, seps).join(g)

    return render


def _nat_ru(rng: random.Random, g: list[str]) -> str:
    area, a, b, c = g
    return _pick(rng, (f"8 ({area}) {a}-{b}-{c}", f"8{area}{a}{b}{c}", f"8-{area}-{a}-{b}-{c}"))


def _nat_br(rng: random.Random, g: list[str]) -> str:
    area, a, b = g
    return _pick(rng, (f"({area}) {a}-{b}", f"{area} {a}-{b}", f"0{area} {a}{b}"))


# ---------------------------------------------------------------------------

US_PLACES = (
    Place("New York", ("New York", "NY", "N.Y.", "ny", "new york"), "100"),
    Place("Brooklyn", ("NY", "New York", "N.Y."), "112"),
    Place("Los Angeles", ("California", "CA", "Calif.", "ca"), "900"),
    Place("San Francisco", ("CA", "California", "california"), "941"),
    Place("Mountain View", ("CA", "California"), "940"),
    Place("Chicago", ("Illinois", "IL", "Ill."), "606"),
    Place("Houston", ("Texas", "TX", "tx"), "770"),
    Place("Austin", ("TX", "Texas"), "787"),
    Place("Miami", ("Florida", "FL", "Fla."), "331"),
    Place("Seattle", ("Washington", "WA"), "981"),
    Place("Denver", ("Colorado", "CO"), "802"),
    Place("Atlanta", ("Georgia", "GA"), "303"),
    Place("Phoenix", ("Arizona", "AZ"), "850"),
    Place("Philadelphia", ("Pennsylvania", "PA", "Penn."), "191"),
    Place("Nashville", ("Tennessee", "TN"), "372"),
    Place("Portland", ("Oregon", "OR"), "972"),
    Place("Las Vegas", ("Nevada", "NV"), "891"),
    Place("Washington", ("District of Columbia", "DC", "D.C."), "200"),
    Place("St. Louis", ("Missouri", "MO"), "631"),
    Place("Winston-Salem", ("North Carolina", "NC", "N.C."), "271"),
    Place("Coeur d'Alene", ("Idaho", "ID"), "838"),
    Place("Honolulu", ("Hawaii", "HI"), "968"),
    Place("San Juan", ("Puerto Rico", "PR"), "009"),
    # ZIPs with a leading zero: these lose it when the export went through an integer.
    Place("Boston", ("Massachusetts", "MA", "Mass.", "ma"), "021"),
    Place("Cambridge", ("Massachusetts", "MA"), "0213"),
    Place("Providence", ("Rhode Island", "RI"), "029"),
    Place("Hartford", ("Connecticut", "CT", "Conn."), "061"),
    Place("Newark", ("New Jersey", "NJ", "N.J."), "071"),
    Place("Jersey City", ("New Jersey", "NJ"), "073"),
    Place("Portland", ("Maine", "ME"), "041"),
    Place("Burlington", ("Vermont", "VT"), "054"),
    Place("Manchester", ("New Hampshire", "NH"), "031"),
)

#: lowercase spellings of the states whose ZIP codes start with 0
ZERO_ZIP_STATES = frozenset(
    form.lower() for p in US_PLACES if p.zip_prefix.startswith("0") for form in p.state_forms
)

LOCALES: tuple[Locale, ...] = (
    Locale(
        "US", 44.0,
        (("United States", 5), ("USA", 4), ("US", 6), ("us", 3), ("United States of America", 2),
         ("usa", 1), ("U.S.A.", 0.5), ("America", 0.3), ("", 3)),
        _latin("Mary", "Jennifer", "Linda", "Emily", "Ashley", "Jessica", "Sarah", "Mary Jane",
               "Zoë", "Chloé", "Ana María", "Keisha", "Mei", "Priya", "Nguyễn Thị", "Ann-Marie",
               "Madison", "Olivia", "Sophia", "Isabella", "Dolores", "Renée"),
        _latin("John", "Michael", "David", "James", "Robert", "William", "José", "Luis",
               "Jamal", "Wei", "Raj", "Tyler", "Ethan", "Noah", "Liam", "D'Andre", "Jean-Paul",
               "Kevin", "Brian", "Christopher", "Matthew", "André"),
        _latin("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
               "Rodriguez", "Martinez", "Hernández", "Lopez", "O'Brien", "O'Connor",
               "McDonald", "Smith-Jones", "Van Buren", "De La Cruz", "Nguyen", "Kim", "Patel",
               "Washington", "Lee", "Thompson", "White", "Harris", "Sánchez", "Clark", "Lewis"),
        US_PLACES, _zip_us, _nanp(US_AREAS), _nat_nanp,
        ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com",
         "comcast.net", "example.com"),
    ),
    Locale(
        "GB", 10.0,
        (("United Kingdom", 5), ("UK", 5), ("GB", 3), ("gb", 1), ("GBR", 1),
         ("Great Britain", 1), ("England", 1), ("uk", 1), ("", 1)),
        _latin("Olivia", "Amelia", "Isla", "Emily", "Siobhan", "Niamh", "Charlotte", "Poppy",
               "Freya", "Aoife"),
        _latin("Oliver", "George", "Harry", "Jack", "Mohammed", "Rhys", "Callum", "Seán",
               "Alfie", "Arthur"),
        _latin("Smith", "Jones", "Taylor", "Davies", "Evans", "Wilson", "O'Brien",
               "Fitzgerald", "Ap Rhys", "Bowes-Lyon", "MacLeod", "Khan", "Ahmed", "Roberts"),
        (
            Place("London", ("Greater London", "London", "England"), "SW"),
            Place("London", ("Greater London", "England"), "EC"),
            Place("Manchester", ("Greater Manchester", "England"), "M"),
            Place("Birmingham", ("West Midlands", "England"), "B"),
            Place("Edinburgh", ("Scotland", "City of Edinburgh"), "EH"),
            Place("Cardiff", ("Wales", "Cymru"), "CF"),
            Place("Belfast", ("Northern Ireland",), "BT"),
            Place("Stoke-on-Trent", ("Staffordshire",), "ST"),
        ),
        _zip_gb, _phone_gb, _nat_trunk("0", (" ", "", "-")),
        ("gmail.com", "hotmail.co.uk", "btinternet.com", "yahoo.co.uk", "outlook.com"),
    ),
    Locale(
        "CA", 6.0,
        (("Canada", 6), ("CA", 3), ("can", 1), ("CAN", 1), ("", 1)),
        _latin("Émilie", "Chloé", "Sophie", "Léa", "Amélie", "Emma", "Olivia", "Geneviève"),
        _latin("Jean-Luc", "François", "Étienne", "Liam", "Noah", "Mathieu", "Benoît", "Ryan"),
        _latin("Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Smith", "Wong",
               "Lévesque", "St-Pierre", "MacDonald"),
        (
            Place("Toronto", ("Ontario", "ON", "Ont."), "M"),
            Place("Ottawa", ("Ontario", "ON"), "K"),
            Place("Montréal", ("Québec", "QC", "Quebec", "PQ"), "H"),
            Place("Québec", ("Québec", "QC"), "G"),
            Place("Vancouver", ("British Columbia", "BC", "B.C."), "V"),
            Place("Calgary", ("Alberta", "AB", "Alta."), "T"),
            Place("Halifax", ("Nova Scotia", "NS"), "B"),
            Place("Whitehorse", ("Yukon", "YT"), "Y"),
        ),
        _zip_ca, _nanp(CA_AREAS), _nat_nanp,
        ("gmail.com", "videotron.ca", "rogers.com", "hotmail.ca", "sympatico.ca"),
    ),
    Locale(
        "FR", 6.0,
        (("France", 8), ("FR", 3), ("fr", 1), ("FRA", 1), ("République française", 0.5),
         ("", 1)),
        _latin("Émilie", "Valérie", "Hélène", "Chloé", "Camille", "Inès", "Léa", "Anaïs",
               "Marie-Claire", "Zoé", "Maëlle"),
        _latin("Valéry", "François", "Jérôme", "Jean-Pierre", "Théo", "Loïc", "Noël", "Hugo",
               "Gaël", "Benoît"),
        _latin("Martin", "Bernard", "Dubois", "Lefèvre", "Girard", "D'Artagnan", "Dupont",
               "Moreau", "Le Goff", "Saint-Exupéry", "Bélanger", "Fournier"),
        (
            Place("Paris", ("Île-de-France", "Ile de France", "IDF"), "750"),
            Place("Versailles", ("Île-de-France",), "780"),
            Place("Lyon", ("Auvergne-Rhône-Alpes",), "690"),
            Place("Saint-Étienne", ("Auvergne-Rhône-Alpes",), "420"),
            Place("Marseille", ("Provence-Alpes-Côte d'Azur", "PACA"), "130"),
            Place("Besançon", ("Bourgogne-Franche-Comté",), "250"),
            Place("Nîmes", ("Occitanie",), "300"),
        ),
        _zip_numeric(5), _phone_fr, _nat_trunk("0", (" ", "", ".")),
        ("orange.fr", "free.fr", "gmail.com", "laposte.net", "wanadoo.fr"),
    ),
    Locale(
        "DE", 6.0,
        (("Germany", 6), ("DE", 3), ("de", 1), ("DEU", 1), ("Deutschland", 2), ("", 1)),
        _latin("Anna", "Lena", "Jülide", "Sophie", "Marie", "Käthe", "Greta",
               "Hannah", "Lea"),
        _latin("Jürgen", "Lukas", "Maximilian", "Jörg", "Björn", "Klaus", "Felix", "Paul"),
        _latin("Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Meyer", "Wagner",
               "Schäfer", "von Weizsäcker", "Groß", "Becker", "Hoffmann"),
        (
            Place("München", ("Bavaria", "Bayern", "BY"), "80"),
            Place("Munich", ("Bavaria",), "81"),
            Place("Berlin", ("Berlin", "BE"), "10"),
            Place("Köln", ("Nordrhein-Westfalen", "NRW", "North Rhine-Westphalia"), "50"),
            Place("Düsseldorf", ("Nordrhein-Westfalen", "NRW"), "40"),
            Place("Dresden", ("Sachsen", "Saxony"), "01"),
            Place("Frankfurt am Main", ("Hessen", "Hesse"), "60"),
        ),
        _zip_numeric(5), _phone_de, _nat_trunk("0", (" ", "", "/", "-")),
        ("web.de", "gmx.de", "t-online.de", "gmail.com", "gmx.net"),
    ),
    Locale(
        "IT", 3.0,
        (("Italy", 4), ("IT", 2), ("Italia", 1), ("ita", 1)),
        _latin("Giulia", "Francesca", "Chiara", "Sofia", "Aurora"),
        _latin("Niccolò", "Lorenzo", "Matteo", "Giuseppe", "Andrea"),
        _latin("Rossi", "Russo", "Ferrari", "Esposito", "D'Angelo", "Lo Bianco", "De Luca"),
        (
            Place("Roma", ("Lazio", "RM"), "001"),
            Place("Rome", ("Lazio",), "001"),
            Place("Milano", ("Lombardia", "Lombardy", "MI"), "201"),
            Place("Napoli", ("Campania",), "801"),
            Place("Forlì", ("Emilia-Romagna",), "471"),
        ),
        _zip_numeric(5), _phone_it, _nat_trunk("", (" ", "", "-")),
        ("libero.it", "gmail.com", "virgilio.it", "alice.it"),
    ),
    Locale(
        "ES", 3.0,
        (("Spain", 4), ("ES", 2), ("España", 1), ("esp", 1)),
        _latin("María José", "Lucía", "Sofía", "Martina", "Begoña"),
        _latin("José Luis", "Álvaro", "Iñaki", "Hugo", "Jesús"),
        _latin("García", "Fernández", "González", "Rodríguez", "Núñez", "Muñoz",
               "Pérez-Reverte"),
        (
            Place("Madrid", ("Comunidad de Madrid", "Madrid"), "280"),
            Place("Barcelona", ("Cataluña", "Catalonia", "Catalunya"), "080"),
            Place("Sevilla", ("Andalucía", "Andalusia"), "410"),
            Place("A Coruña", ("Galicia",), "150"),
        ),
        _zip_numeric(5), _phone_es, _nat_trunk("", (" ", "")),
        ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"),
    ),
    Locale(
        "KR", 4.0,
        (("South Korea", 3), ("Korea, Republic of", 1), ("KR", 3), ("KOR", 1), ("Korea", 1),
         ("대한민국", 0.5)),
        (("정", "jung"), ("서연", "seoyeon"), ("지우", "jiwoo"), ("하은", "haeun"),
         ("민서", "minseo"), ("수아", "sua"), ("Ji-woo", "jiwoo")),
        (("민준", "minjun"), ("정", "jeong"), ("서준", "seojun"), ("도윤", "doyoon"),
         ("예준", "yejun"), ("Min-jun", "minjun")),
        (("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung"),
         ("강", "kang"), ("Kim", "kim"), ("Park", "park")),
        (
            Place("서울", ("서울특별시", "Seoul"), "0"),
            Place("Seoul", ("Seoul",), "0"),
            Place("부산", ("부산광역시", "Busan"), "4"),
            Place("인천", ("Incheon",), "2"),
        ),
        _zip_numeric(5), _phone_kr, _nat_trunk("0", ("-", " ", "")),
        ("naver.com", "daum.net", "gmail.com", "kakao.com"),
    ),
    Locale(
        "JP", 3.0,
        (("Japan", 4), ("JP", 2), ("JPN", 1), ("日本", 0.5)),
        (("陽菜", "hina"), ("さくら", "sakura"), ("結衣", "yui"), ("Yuki", "yuki")),
        (("翔太", "shota"), ("大翔", "hiroto"), ("蓮", "ren"), ("Haruto", "haruto")),
        (("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
         ("Tanaka", "tanaka")),
        (
            Place("東京", ("東京都", "Tokyo"), "1"),
            Place("Tokyo", ("Tokyo",), "1"),
            Place("大阪", ("大阪府", "Osaka"), "5"),
            Place("京都", ("Kyoto",), "6"),
        ),
        _zip_jp, _phone_jp, _nat_trunk("0", ("-", " ", "")),
        ("yahoo.co.jp", "docomo.ne.jp", "gmail.com", "ezweb.ne.jp"),
    ),
    Locale(
        "RU", 3.0,
        (("Russia", 4), ("Russian Federation", 2), ("RU", 2), ("ru", 1), ("Россия", 0.5)),
        (("Наталья", "natalya"), ("Анна", "anna"), ("Ольга", "olga"), ("Мария", "maria"),
         ("Алёна", "alena")),
        (("Иван", "ivan"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"), ("Алексей", "alexey"),
         ("Пётр", "petr")),
        (("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецова", "kuznetsova"),
         ("Соколов", "sokolov"), ("Petrov", "petrov")),
        (
            Place("Москва", ("Москва", "Moscow"), "1"),
            Place("Moscow", ("Moscow",), "1"),
            Place("Санкт-Петербург", ("Санкт-Петербург", "St. Petersburg"), "19"),
            Place("Новосибирск", ("Новосибирская область",), "63"),
        ),
        _zip_numeric(6), _phone_ru, _nat_ru,
        ("yandex.ru", "mail.ru", "gmail.com", "rambler.ru"),
    ),
    Locale(
        "BR", 3.0,
        (("Brazil", 4), ("Brasil", 2), ("BR", 2), ("BRA", 1)),
        _latin("Ana", "Júlia", "Letícia", "Conceição", "Beatriz"),
        _latin("João", "Luís", "Antônio", "Gonçalo", "Thiago"),
        _latin("Silva", "Santos", "Conceição", "Gonçalves", "Araújo", "Magalhães"),
        (
            Place("São Paulo", ("São Paulo", "SP"), "01"),
            Place("Rio de Janeiro", ("Rio de Janeiro", "RJ"), "20"),
            Place("Belo Horizonte", ("Minas Gerais", "MG"), "30"),
            Place("Brasília", ("Distrito Federal", "DF"), "70"),
        ),
        _zip_br, _phone_br, _nat_br,
        ("uol.com.br", "gmail.com", "bol.com.br", "hotmail.com"),
    ),
    Locale(
        "MX", 3.0,
        (("Mexico", 3), ("México", 2), ("MX", 2), ("MEX", 1)),
        _latin("Guadalupe", "Ximena", "María Fernanda", "Itzel"),
        _latin("José", "Juan Carlos", "Ángel", "Jesús"),
        _latin("Hernández", "García", "Martínez", "López", "Pérez", "de la Peña"),
        (
            Place("Ciudad de México", ("CDMX", "Ciudad de México", "Distrito Federal"), "06"),
            Place("Guadalajara", ("Jalisco",), "44"),
            Place("Monterrey", ("Nuevo León",), "64"),
        ),
        _zip_numeric(5), _phone_mx, _nat_trunk("", (" ", "")),
        ("gmail.com", "hotmail.com", "prodigy.net.mx", "yahoo.com.mx"),
    ),
    Locale(
        "AU", 2.0,
        (("Australia", 5), ("AU", 2), ("AUS", 1)),
        _latin("Charlotte", "Matilda", "Isla", "Mia"),
        _latin("Oliver", "Jack", "William", "Lachlan"),
        _latin("Smith", "Nguyen", "Williams", "O'Neill", "Brown"),
        (
            Place("Sydney", ("New South Wales", "NSW"), "2"),
            Place("Melbourne", ("Victoria", "VIC"), "3"),
            Place("Brisbane", ("Queensland", "QLD"), "4"),
        ),
        _zip_numeric(4), _phone_au, _nat_trunk("0", (" ", "")),
        ("bigpond.com", "gmail.com", "optusnet.com.au"),
    ),
    Locale(
        "IN", 2.0,
        (("India", 5), ("IN", 2), ("IND", 1)),
        (*_latin("Priya", "Ananya", "Diya", "Lakshmi"), ("प्रिया", "priya")),
        (*_latin("Aarav", "Vihaan", "Arjun", "Rahul"), ("राहुल", "rahul")),
        (*_latin("Sharma", "Patel", "Singh", "Iyer", "Reddy"), ("शर्मा", "sharma")),
        (
            Place("Mumbai", ("Maharashtra", "MH"), "400"),
            Place("Bengaluru", ("Karnataka", "KA"), "560"),
            Place("New Delhi", ("Delhi", "DL"), "110"),
        ),
        _zip_numeric(6), _phone_in, _nat_trunk("0", (" ", "")),
        ("gmail.com", "rediffmail.com", "yahoo.co.in"),
    ),
    Locale(
        "AE", 1.0,
        (("United Arab Emirates", 4), ("UAE", 2), ("AE", 2), ("الإمارات", 0.5)),
        (("فاطمة", "fatima"), ("مريم", "maryam"), ("Aisha", "aisha")),
        (("محمد", "mohammed"), ("أحمد", "ahmed"), ("Omar", "omar")),
        (("العلي", "alali"), ("الهاشمي", "alhashimi"), ("Al-Mansouri", "almansouri")),
        (
            Place("دبي", ("دبي", "Dubai"), ""),
            Place("Dubai", ("Dubai",), ""),
            Place("Abu Dhabi", ("Abu Dhabi",), ""),
        ),
        _zip_none, _phone_ae, _nat_trunk("0", (" ", "")),
        ("gmail.com", "emirates.net.ae", "hotmail.com"),
    ),
)

UNKNOWN_COUNTRIES = ("Narnia", "Atlantis", "XX", "Europe", "N/A", "-", "Unknown", "Earth")
BAD_PHONES = ("n/a", "none", "unknown", "555-12", "12345", "000-000-0000", "0000000000",
              "tel", "call me", "-", "1", "+", "ext. 12", "phone")
BAD_EMAILS_SUFFIX = ("", "@", "@gmail", "@.com", "@gmail..com", "@@gmail.com")
BAD_MADIDS = ("not-a-uuid", "12345", "N/A", "00000000", "abc-def", "6D92078A-8246-4BA4-AE5B",
              "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "(null)", "{6D92078A-8246-4BA4}")
ZERO_MADID = "00000000-0000-0000-0000-000000000000"
GENDERS_F = ("F", "f", "Female", "female", "FEMALE", "W", "woman", "Mrs", "Ms", "Miss", "girl")
GENDERS_M = ("M", "m", "Male", "male", "MALE", "man", "Mr", "boy")
GENDERS_OTHER = ("U", "X", "unknown", "non-binary", "other", "?", "N/A", "prefer not to say")


# ---------------------------------------------------------------------------
# Row generation
# ---------------------------------------------------------------------------

def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, w in options:
        x -= w
        if x < 0:
            return value
    return options[-1][0]


IDD_00 = frozenset({"GB", "FR", "DE", "IT", "ES", "MX", "IN", "AE"})


def _phone(rng: random.Random, loc: Locale) -> str:
    cc, groups = loc.phone_fn(rng)
    r = rng.random()
    if r < 0.50:
        text = loc.national(rng, groups)
    elif r < 0.75:
        sep = _pick(rng, (" ", " ", "-", ""))
        text = f"+{cc} " + sep.join(groups)
    elif r < 0.82:
        text = f"+{cc}" + "".join(groups)
    elif r < 0.88 and loc.code in IDD_00:
        text = f"00{cc} " + " ".join(groups)  # the international prefix where it is 00
    elif r < 0.92 and loc.code in ("GB", "DE", "FR"):
        text = f"+{cc} (0)" + " ".join(groups)  # the UK habit of a bracketed trunk
    elif r < 0.95:
        text = cc + "".join(groups)  # country code, no plus: already E.164 digits
    else:
        text = loc.national(rng, groups)
    if rng.random() < 0.03:  # an extension
        text += _pick(rng, (" x", " ext. ", " ext", "#", " Ext ")) + _digits(
            rng, rng.randrange(1, 5)
        )
    return text


def _email(rng: random.Random, loc: Locale, fn: str, ln: str, serial: int) -> str:
    style = rng.randrange(7)
    number = str(serial % 997 + rng.randrange(2)) if rng.random() < 0.5 else ""
    local = (
        f"{fn}.{ln}", f"{fn}{ln}{number}", f"{fn[:1]}{ln}{number}", f"{fn}_{ln}",
        f"{ln}.{fn}{number}", f"{fn}{number}", f"{fn}.{ln}{number}",
    )[style]
    if not local or not local[0].isalnum():
        local = f"customer{serial}"
    local += f"{serial % 10_000}" if rng.random() < 0.5 else ""
    return f"{local}@{_pick(rng, loc.domains)}"


def _title_email(email: str) -> str:
    local, domain = email.split("@", 1)
    return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()


def _normalized_email(email: str) -> str:
    return unicodedata.normalize("NFC", email).strip().lower()


def _dob(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.07:
        return ""
    if r < 0.09:  # a date that does not exist
        y = rng.randrange(1950, 2005)
        return _pick(rng, (f"{y}-02-30", f"{y}-04-31", f"2/30/{y}", f"{y}0631",
                           f"{y}-13-01", f"{y}/00/10"))
    if r < 0.105:  # the future
        y = rng.randrange(2031, 2090)
        return f"{y}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if r < 0.115:  # before 1900
        y = rng.randrange(1850, 1900)
        return f"{y}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if r < 0.125:
        return _pick(rng, ("unknown", "N/A", "00/00/0000", "0000-00-00", "?", "yesterday"))
    y = rng.randrange(1935, 2008)
    m = rng.randrange(1, 13)
    d = rng.randrange(1, 29 if m == 2 else 31)
    return _pick(rng, (
        f"{y}-{m:02d}-{d:02d}", f"{y}-{m:02d}-{d:02d}", f"{y}-{m:02d}-{d:02d}",
        f"{y}/{m:02d}/{d:02d}", f"{y}{m:02d}{d:02d}", f"{m}/{d}/{y}", f"{m}/{d}/{y}",
        f"{m:02d}/{d:02d}/{y}",
    ))


def _value(rng: random.Random) -> float | None:
    r = rng.random()
    if r < 0.05:
        return None
    if r < 0.08:
        return -round(rng.uniform(1, 300), 2)  # refunds exceeding purchases
    if r < 0.13:
        return 0.0
    return round(rng.lognormvariate(4.5, 1.1), 2)


def _mess_text(rng: random.Random, text: str, *, case: bool = True) -> str:
    """Whitespace padding, case changes and Unicode decomposition, each occasionally."""
    r = rng.random()
    if case and r < 0.06:
        text = text.upper()
    elif case and r < 0.09:
        text = text.lower()
    r = rng.random()
    if r < 0.03:
        text = f"  {text} "
    elif r < 0.05:
        text = f"{text}\t"
    if rng.random() < 0.02:
        text = unicodedata.normalize("NFD", text)  # e.g. from a macOS export
    return text


def _blank(rng: random.Random, value: str, p_empty: float, p_space: float) -> str | None:
    r = rng.random()
    if r < p_empty / 2:
        return None
    if r < p_empty:
        return ""
    if r < p_empty + p_space:
        return _pick(rng, (" ", "   ", "\t", " \t "))
    return value


def _person(rng: random.Random, serial: int) -> Row:
    loc = LOCALES[_weighted_index(rng, [loc.weight for loc in LOCALES])]
    female = rng.random() < 0.52
    first, first_ascii = _pick_name(rng, loc.female if female else loc.male)
    last, last_ascii = _pick_name(rng, loc.last)
    place = loc.places[rng.randrange(len(loc.places))]

    # e-mail
    email = _email(rng, loc, first_ascii, last_ascii, serial)
    r = rng.random()
    if r < 0.10:
        email = _title_email(email)  # John.Smith@Gmail.com
    elif r < 0.13:
        email = email.upper()
    elif r < 0.15 and "gmail.com" in email:
        email = email.replace("@", f"+{_pick(rng, ('promo', 'news', 'shop'))}@")
    r = rng.random()
    if r < 0.03:
        email = hashlib.sha256(_normalized_email(email).encode()).hexdigest()
        if rng.random() < 0.35:
            email = email.upper()
    elif r < 0.055:
        local = email.split("@", 1)[0]
        email = local + _pick(rng, BAD_EMAILS_SUFFIX)
        if email.endswith("@.com") or rng.random() < 0.1:
            email = _pick(rng, ("@gmail.com", local + " at gmail dot com", "n/a", "none"))
    else:
        email = _mess_text(rng, email, case=False)

    # phone
    r = rng.random()
    phone = _pick(rng, BAD_PHONES) if r < 0.04 else _phone(rng, loc)

    # country: how this export spelled it
    r = rng.random()
    country = _pick(rng, UNKNOWN_COUNTRIES) if r < 0.01 else _weighted(rng, loc.country_forms)
    if country and rng.random() < 0.05:
        country = _pick(rng, (country.upper(), country.lower(), f" {country} "))

    gender_r = rng.random()
    if gender_r < 0.08:
        gender = _pick(rng, GENDERS_OTHER)
    else:
        gender = _pick(rng, GENDERS_F if female else GENDERS_M)

    state = _pick(rng, place.state_forms)
    zip_code = loc.zip_fn(rng, place)

    r = rng.random()
    if r < 0.40:
        madid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        madid = madid.upper() if rng.random() < 0.5 else madid  # IDFA upper, GAID lower
    elif r < 0.43:
        madid = ZERO_MADID
    elif r < 0.46:
        madid = _pick(rng, BAD_MADIDS)
    else:
        madid = ""

    return {
        "customer_id": f"C{serial:07d}",
        "email": _blank(rng, email, 0.03, 0.01),
        "phone": _blank(rng, _mess_text(rng, phone, case=False), 0.08, 0.01),
        "first_name": _blank(rng, _mess_text(rng, first), 0.03, 0.01),
        "last_name": _blank(rng, _mess_text(rng, last), 0.03, 0.01),
        "gender": _blank(rng, gender, 0.15, 0.01),
        "birth_date": _blank(rng, _dob(rng), 0.05, 0.01),
        "city": _blank(rng, _mess_text(rng, place.city), 0.04, 0.01),
        "state": _blank(rng, _mess_text(rng, state), 0.05, 0.01),
        "zip": _blank(rng, zip_code, 0.05, 0.01) if zip_code else None,
        "country": _blank(rng, country, 0.0, 0.01) if country else _null_or_empty(rng),
        "madid": _blank(rng, madid, 0.0, 0.005) if madid else None,
        "value": _value(rng),
    }


def _null_or_empty(rng: random.Random) -> str | None:
    return None if rng.random() < 0.5 else ""


def _weighted_index(rng: random.Random, weights: Sequence[float]) -> int:
    x = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def _pick_name(rng: random.Random, names: Sequence[Name]) -> Name:
    return names[rng.randrange(len(names))]


# Hand-written rows first: Meta's documented vectors (John_Smith@gmail.com, (650)555-1212,
# Mary, 정, Valéry, 2/16/1997, United States), the seed payload's test1..test4@example.com
# with values 44.5, 140, 0 and 0.9, and one of each headline case.
SHOWCASE: tuple[Row, ...] = (
    {"email": "John_Smith@gmail.com", "phone": "(650)555-1212", "first_name": "Mary",
     "last_name": "Smith", "gender": "F", "birth_date": "2/16/1997", "city": "Mountain View",
     "state": "California", "zip": "94035-1234", "country": "United States",
     "madid": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "value": 250.0},
    {"email": "test1@example.com", "phone": "+44 20 7183 8750", "first_name": "정",
     "last_name": "김", "gender": "male", "birth_date": "1997-02-16", "city": "서울",
     "state": "Seoul", "zip": "04524", "country": "KR", "madid": ZERO_MADID, "value": 44.5},
    {"email": "test2@example.com", "phone": "020 7183 8750", "first_name": "Valéry",
     "last_name": "Giscard d'Estaing", "gender": "M", "birth_date": "1997/02/16",
     "city": "Paris", "state": "Île-de-France", "zip": "75008", "country": "France",
     "madid": "not-a-uuid", "value": 140.0},
    {"email": "test3@example.com", "phone": "00442071838750", "first_name": "Émilie",
     "last_name": "O'Brien", "gender": "f", "birth_date": "19970216", "city": "London",
     "state": "Greater London", "zip": "SW1A 1AA", "country": "United Kingdom",
     "madid": "f3b2c1d0-9a8b-4c7d-8e6f-5a4b3c2d1e0f", "value": 0.0},
    {"email": "test4@example.com", "phone": "650.555.1212 x123", "first_name": "Mary Jane",
     "last_name": "Smith-Jones", "gender": "Female", "birth_date": "1997-02-30",
     "city": "Boston", "state": "MA", "zip": "2134", "country": "USA", "madid": None,
     "value": 0.9},
    {"email": "  Ivan.Petrov@Yandex.RU ", "phone": "8 (495) 123-45-67", "first_name": "Иван",
     "last_name": "Петров", "gender": "Mr", "birth_date": "2091-01-01", "city": "Москва",
     "state": "Москва", "zip": "101000", "country": "Russia", "madid": "   ", "value": None},
    {"email": "jurgen.mueller", "phone": "+49 89 1234567", "first_name": "Jürgen",
     "last_name": "Müller", "gender": "man", "birth_date": "1887-05-05", "city": "München",
     "state": "Bavaria", "zip": "80331", "country": "Deutschland", "madid": "",
     "value": 310.25},
    {"email": "giulia@", "phone": "06 6982 0000", "first_name": "Giulia",
     "last_name": "D'Angelo", "gender": "", "birth_date": "", "city": "Roma",
     "state": "Lazio", "zip": "00184", "country": "IT", "madid": None, "value": 12.0},
    {"email": "no-domain@example", "phone": "16505551212", "first_name": "  ",
     "last_name": "", "gender": "unknown", "birth_date": "   ", "city": "  ", "state": "N.Y.",
     "zip": "10001", "country": "us", "madid": None, "value": -12.5},
    {"email": hashlib.sha256(b"hashed.customer@example.com").hexdigest(),
     "phone": "phone", "first_name": "محمد", "last_name": "العلي", "gender": "M",
     "birth_date": "1988-07-04", "city": "دبي", "state": "Dubai", "zip": None,
     "country": "United Arab Emirates", "madid": None, "value": 77.0},
    {"email": hashlib.sha256(b"hashed.upper@example.com").hexdigest().upper(),
     "phone": "12", "first_name": "Jean-Luc", "last_name": "Côté", "gender": "Mr",
     "birth_date": "1975-11-30", "city": "Montréal", "state": "QC", "zip": "H3B 4W8",
     "country": "Canada", "madid": "38400000-8CF0-11BD-B23E-10B96E40000D", "value": 55.0},
    {"email": "Tremblay.Anne@Videotron.CA", "phone": "+1 (416) 555-0199", "first_name": "Anne",
     "last_name": "Tremblay", "gender": "F", "birth_date": "1990-03-03", "city": "Toronto",
     "state": "Ontario", "zip": "M5V 3L9", "country": "", "madid": None, "value": 8.0},
    {"email": "sao.paulo@uol.com.br", "phone": "+55 11 91234-5678", "first_name": "João",
     "last_name": "Conceição", "gender": "M", "birth_date": "1/2/1980",
     "city": "São Paulo", "state": "SP", "zip": "01310-100", "country": "Brasil",
     "madid": None, "value": 19.99},
    {"email": "sato@yahoo.co.jp", "phone": "090-1234-5678", "first_name": "陽菜",
     "last_name": "佐藤", "gender": "F", "birth_date": "2001-12-24", "city": "東京",
     "state": "東京都", "zip": "100-0001", "country": "Japan", "madid": None, "value": 3.5},
)


def build_rows(n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[Row]:
    """Return ``n`` customer rows (dicts keyed by :data:`COLUMNS`), deterministic in ``seed``."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for i, show in enumerate(SHOWCASE[:n]):
        rows.append({"customer_id": f"C{i + 1:07d}", **show})
    serial = len(rows)
    while len(rows) < n:
        r = rng.random()
        if r < 0.015 and len(rows) > 100:
            # the same row exported twice
            rows.append(dict(rows[rng.randrange(len(SHOWCASE), len(rows))]))
            continue
        serial += 1
        if r < 0.03 and len(rows) > 100:
            # the same person entered again under a new customer id, typed differently
            twin = dict(rows[rng.randrange(len(SHOWCASE), len(rows))])
            twin["customer_id"] = f"C{serial:07d}"
            email = twin["email"]
            if isinstance(email, str) and "@" in email:
                twin["email"] = _pick(rng, (email.upper(), f" {email.lower()}", email.title()))
            rows.append(twin)
            continue
        rows.append(_person(rng, serial))
    return rows


def make_frame(n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    """The sample export as a DataFrame: every column String except ``value`` (Float64)."""
    schema = {c: pl.String for c in COLUMNS} | {"value": pl.Float64}
    rows = build_rows(n, seed)
    return pl.DataFrame({c: [row.get(c) for row in rows] for c in COLUMNS}, schema=schema)


def write_sample(
    out_dir: Path = DATA_DIR, n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED
) -> pl.DataFrame:
    """Write ``customers.parquet`` and ``customers.csv`` into ``out_dir``; return the frame."""
    out_dir.mkdir(parents=True, exist_ok=True)
    df = make_frame(n, seed)
    df.write_parquet(out_dir / "customers.parquet", compression="zstd", statistics=False)
    (out_dir / "customers.csv").write_bytes(df.write_csv().encode())
    return df


def summarize(df: pl.DataFrame) -> pl.DataFrame:
    """Counts of each kind of mess in a sample frame (one row per kind)."""
    s = pl.col

    def blank(c: str) -> pl.Expr:
        return s(c).is_null() | (s(c).str.strip_chars() == "")

    checks: dict[str, pl.Expr] = {
        "rows": pl.len(),
        "distinct customer_id": s("customer_id").n_unique(),
        "exact duplicate rows": pl.len() - pl.struct(pl.all()).n_unique(),
        "email blank": blank("email").sum(),
        "email pre-hashed (64 hex)": s("email").str.contains(r"^[0-9a-fA-F]{64}$").sum(),
        "email pre-hashed, uppercase hex": s("email").str.contains(r"^[0-9A-F]{64}$").sum(),
        "email without @": (~s("email").str.contains("@") & ~blank("email")
                            & ~s("email").str.contains(r"^[0-9a-fA-F]{64}$")).sum(),
        "email without domain dot": s("email").str.contains(r"@[^.]*$").sum(),
        "email with capitals": s("email").str.contains(r"[A-Z].*@").sum(),
        "phone blank": blank("phone").sum(),
        "phone international +": s("phone").str.strip_chars().str.starts_with("+").sum(),
        "phone international 00": s("phone").str.strip_chars().str.starts_with("00").sum(),
        "phone with extension": s("phone").str.contains(r"(?i)(x|ext\.?|#)\s*\d+$").sum(),
        "phone without digits": (~s("phone").str.contains(r"\d") & ~blank("phone")).sum(),
        "country blank": blank("country").sum(),
        "country distinct spellings": s("country").n_unique(),
        "first_name non-ASCII": s("first_name").str.contains(r"[^\x00-\x7f]").sum(),
        "first_name non-Latin script": s("first_name").str.contains(
            r"[\p{Hangul}\p{Han}\p{Cyrillic}\p{Arabic}\p{Hiragana}\p{Devanagari}]").sum(),
        "names with ' - or space": (s("last_name").str.contains(r"\S['\- ]\S")).sum(),
        "gender distinct spellings": s("gender").n_unique(),
        "birth_date distinct shapes": s("birth_date").str.replace_all(r"\d", "9").n_unique(),
        "zip ZIP+4": s("zip").str.contains(r"^\d{5}-\d{4}$").sum(),
        "zip US lost leading zero (4 digits, MA/NJ/CT...)": (
            s("zip").str.contains(r"^\d{4}$")
            & s("state").str.strip_chars().str.to_lowercase().is_in(sorted(ZERO_ZIP_STATES))
        ).sum(),
        "madid all-zero": (s("madid") == ZERO_MADID).sum(),
        "madid uppercase UUID": s("madid").str.contains(r"^[0-9A-F]{8}-[0-9A-F]{4}-").sum(),
        "value null": s("value").is_null().sum(),
        "value negative": (s("value") < 0).sum(),
    }
    out = df.select(**{k: e.cast(pl.Int64) for k, e in checks.items()})
    return out.transpose(include_header=True, header_name="check", column_names=["count"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    df = write_sample(args.out, args.rows, args.seed)
    sizes = {p: (args.out / p).stat().st_size for p in ("customers.parquet", "customers.csv")}
    print(f"wrote {df.height:,} rows to {args.out}: "
          + ", ".join(f"{p} {b / 1024:,.0f} KiB" for p, b in sizes.items()))
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                   fmt_str_lengths=60):
        print(summarize(df))


if __name__ == "__main__":
    main()
