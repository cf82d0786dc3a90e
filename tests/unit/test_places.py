"""The main place is where the attack happened, at the precision the text gives: short texts of our own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services import places
from services.pipeline import analyse_text
from services.places import PlaceRef, lookup, place_key, relation


def main_place(nlp: Any, text: str) -> Any:
    return analyse_text(text, nlp, language="en").entities


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
        # A sentence's capitalised first word does not make "X of <place>" a name ("University of Kharkiv")
        ("Shelling of Kharkiv killed three people and wounded 14 on Wednesday, the mayor said.", "Kharkiv", "city"),
        ("Bombing of Mariupol's theatre killed hundreds of civilians, officials said.", "Mariupol", "city"),
        # A dateline in title case is still where the reporter files from
        ("Kyiv, Ukraine — Russian drones and missiles pounded the western city of Lviv overnight, killing seven "
         "people, including three children.", "Lviv", "city"),
        # A province the gazetteer lacks, named as one, is more precise than its country
        ("A roadside bomb killed four soldiers in Afghanistan's Helmand province on Wednesday, officials said.",
         "Helmand province", "region"),
        ("Militants attacked a school in northeastern Nigeria's Borno state, killing 12 students, an official said.",
         "Borno state", "region"),
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


def _tiny_index() -> dict[str, tuple[places.GeoEntry, ...]]:
    kyiv = places.GeoEntry(703448, "Kyiv", "UA", "12", 50.45, 30.52, 2_952_301, "city")
    gaza = places.GeoEntry(None, "Gaza Strip", "PS", "GZ", 31.42, 34.37, 2_100_000, "region")
    ukraine = places.GeoEntry(690791, "Ukraine", "UA", None, None, None, 44_000_000, "country")
    return {"kiv": (kyiv,), "kiev": (places.GeoEntry(**{**kyiv.__dict__, "alternate": True}),),
            "gaza": (gaza, places.GeoEntry(281133, "Gaza", "PS", "GZ", 31.5, 34.47, 410_000, "city")),
            "ukraine": (ukraine,)}  # fmt: skip


def test_the_compact_gazetteer_gives_back_the_entries_it_was_built_from() -> None:
    index = _tiny_index()
    compact = places.CompactGazetteer(index)
    assert len(compact) == len(index)
    for key, entries in index.items():
        assert compact.get(key) == entries
    assert compact.get("nowhere") == ()
    assert len(compact.names) == 4  # Kyiv once, whether found under its name or an alternate


def test_a_torn_gazetteer_cache_is_built_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INCIDENTFEED_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(places, "build_index", _tiny_index)
    places.gazetteer_index.cache_clear()
    try:
        path = places.cache_file()
        assert path.parent == tmp_path
        path.write_bytes(b"\x80\x05torn")
        assert places.gazetteer_index().get("gaza")[0].name == "Gaza Strip"
        places.gazetteer_index.cache_clear()
        assert places.gazetteer_index().get("ukraine")[0].kind == "country"  # read from the rebuilt file
    finally:
        places.gazetteer_index.cache_clear()


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("A Russian glide bomb struck the district of Shevchenkivskyi in Kharkiv on Sunday, killing two people.",
         "Shevchenkivskyi district"),
        ("Shelling hit the Shevchenkivskyi district of Kharkiv on Sunday, killing two people.",
         "Shevchenkivskyi district"),
    ],
)  # fmt: skip
def test_a_district_is_named_with_its_noun_not_the_next_word(nlp: Any, text: str, district: str) -> None:
    entities = main_place(nlp, text + FILLER)
    names = [p.name for p in entities.places]
    assert not any(name.endswith((" in", " of", " on")) for name in names), names
    assert district in names  # was 'Shevchenkivskyi in' and 'Kharkiv on': the word after the name
