"""The main place is where the attack happened, at the precision the text gives: short texts of our own."""

from __future__ import annotations

from typing import Any

import pytest

from services.cleaner.clean import clean_article
from services.contracts import RawArticle, utc_now
from services.entities.extract import extract_batch
from services.places import PlaceRef, lookup, place_key, relation


def main_place(nlp: Any, text: str) -> Any:
    clean = clean_article(RawArticle(text=text, language="en"), ingested_at=utc_now(), max_bytes=20_000)
    (entities,) = list(extract_batch(nlp, [clean]))
    return entities


FILLER = (
    " Rescuers worked through the night to clear the rubble, and the regional authorities declared a day of mourning."
)


@pytest.mark.parametrize(
    ("text", "name", "precision"),
    [
        # A village the gazetteer does not know, inside a region it does.
        ("A Russian missile hit a shop in the village of Zhovtneve, Kharkiv region, killing three people.", "Zhovtneve",
         "village"),
        ("Three civilians were killed when a drone struck Bilozirka village in the south of the country.", "Bilozirka",
         "village"),
        # An appositive makes the name a place even where the NER calls it a person.
        ("The air strike hit Tunga Dutse, a farming community in the north, killing at least 12 people.", "Tunga Dutse",
         "village"),
        # The dateline is where the reporter files from, not where the attack was.
        ("KYIV, Ukraine (AP) — A Russian drone struck an apartment block in Sumy, killing two people.", "Sumy", "city"),
        ("BANGKOK — Military jets bombed the village of Nam Lin in Myanmar's Sagaing region, killing nine people.",
         "Nam Lin", "village"),
        # A territory is a region; the camp inside it where the strike fell is more precise.
        ("An Israeli strike on a school in the Nuseirat refugee camp in central Gaza killed 18 people.", "Nuseirat",
         "city"),
        ("Israeli strikes across Gaza killed 30 people on Sunday, the health ministry said.", "Gaza Strip", "region"),
    ],
)  # fmt: skip
def test_the_main_place_is_where_the_attack_happened(nlp: Any, text: str, name: str, precision: str) -> None:
    place = main_place(nlp, text + FILLER).main_location
    assert place is not None
    assert place_key(place.name) == place_key(name) or place_key(name) in place_key(place.name)
    assert place.kind == precision


@pytest.mark.parametrize(
    ("text", "not_a_place"),
    [
        ("Hamas said 20 people were killed in an Israeli strike on a house in Khan Younis.", "Hamm"),
        ("Palestinians gather near a tent hit by a strike in Khan Younis. Mohammed Salem/Reuters", "Salem"),
        ("A drone struck an Iran-backed militia base near Baghdad, killing four fighters.", "Iran"),
        ("A missile fired towards ships in the Gulf of Aden fell short, officials in Hodeidah said.", "Aden"),
        ("The National Emergency Management Agency (NEMA) said 30 people died in the bombing in Kaduna.", "Néma"),
        ("A strike on a Ukrainian village killed five people near Kupiansk, officials said.", "Ukrainian"),
    ],
)
def test_names_that_are_not_places_here_never_become_places(nlp: Any, text: str, not_a_place: str) -> None:
    entities = main_place(nlp, text + FILLER)
    names = {place_key(p.name) for p in entities.places}
    assert place_key(not_a_place) not in names
    main = entities.main_location
    assert main is None or place_key(main.name) != place_key(not_a_place)


def test_transliterations_and_spellings_meet_in_one_key() -> None:
    assert place_key("El-Fasher") == place_key("El Fasher")
    assert place_key("Kryvyy Rih") == place_key("Kryvyi Rih")
    assert lookup("Kyiv")[0].geonames_id == lookup("Kiev")[0].geonames_id


def ref(name: str, precision: str = "city") -> PlaceRef:
    entry = lookup(name)[0]
    return PlaceRef(place_key(name), entry.country_code, entry.admin1, entry.lat, entry.lon, precision)


def test_places_relate_by_hierarchy_and_distance() -> None:
    assert relation(ref("Rafah"), ref("Rafah")) == "same"
    assert relation(ref("Rafah"), ref("Gaza", "region")) == "near"  # the town inside the territory
    assert relation(ref("Kramatorsk"), ref("Sloviansk")) == "near"  # 12 km apart
    assert relation(ref("Kramatorsk"), ref("Lviv")) == "country"
    assert relation(ref("Kharkiv"), ref("Belgorod")) == "other_country"
