"""Classes of place errors found on real articles nobody here had read, each on sentences of our own:
the main place, and names that must not become places at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_entity_labels import entities_of

# (text, main place, names that are no place of this article)
CLASSES: list[tuple[str, str, set[str]]] = [
    (  # a news agency's credit in the dateline, though a town shares its name
        "BEIJING, Nov. 3 (Xinhua) -- A missile strike on the city of Kharkiv killed five people on Sunday, "
        "Ukrainian officials said.",
        "Kharkiv",
        {"Xinhua", "Nov"},
    ),
    (  # the same in slashes
        "DUBAI, April 18 /TASS/ - A drone struck a fuel depot in Sevastopol overnight, the governor said.",
        "Sevastopol",
        {"TASS"},
    ),
    (  # a month and its day, without a place before them
        "Nov 14 (Reuters) - Russian shelling killed three people in Kherson on Thursday, the governor said.",
        "Kherson",
        {"Nov", "Reuters"},
    ),
    (  # a building the gazetteer does not know, before its noun
        "A drone struck the Okhmatdyt children's hospital in Kyiv on Monday, killing two people, the mayor said.",
        "Kyiv",
        {"Okhmatdyt"},
    ),
    (  # a building named with its noun
        "A blast ripped through the Rahmani Stadium in Peshawar during a match, killing six spectators.",
        "Peshawar",
        {"Rahmani Stadium", "Rahmani"},
    ),
    (  # a part of the world
        "An Israeli air strike on a school in Khan Younis killed 16 people, raising tensions across the Middle East.",
        "Khan Younis",
        {"Middle East"},
    ),
    (  # a capital named as the target of pressure, after the attack's city
        "A Russian missile strike on Kyiv killed eight people overnight, officials said. Western leaders called "
        "for increased pressure on Moscow.",
        "Kyiv",
        {"Moscow"},
    ),
    (  # a capital that stands for its government, more often than the attack's city is named
        "Two people were killed when a missile hit a residential building overnight, the city's mayor said. "
        "President Zelensky called for more pressure on Moscow. Moscow denied targeting civilians, and European "
        "leaders said sanctions on Moscow would be tightened. The strike on Kyiv came hours after talks with "
        "Moscow stalled.",
        "Kyiv",
        {"Moscow"},
    ),
    (  # a town the NER calls an organisation, where the text puts the school
        "An Israeli strike on a school in Nuseirat killed 19 people on Monday, the UN agency said.",
        "Nuseirat",
        set(),
    ),
    (  # an organisation 'in' a sentence stays one where no town has its name
        "A drone struck a fuel depot in Sevastopol on Friday, and shares in Gazprom fell, the governor said.",
        "Sevastopol",
        {"Gazprom"},
    ),
    (  # a named part of a town 'of' the town: the town ('Sadr City' is a city to the gazetteer)
        "A suicide bomber killed at least 31 people in a crowded market in the Sadr City neighborhood of Baghdad "
        "on Monday, officials said.",
        "Baghdad",
        set(),
    ),
    (  # 'a ... suburb' after a town's name says whose suburb: the town is no suburb
        "A suicide bomber blew himself up in a crowded Baghdad market on Monday night, killing 30 people. The "
        "attack in Baghdad hit Sadr City, an eastern Baghdad suburb, police said.",
        "Baghdad",
        set(),
    ),
    (  # a large place's name of several words, an alternate name to the gazetteer, in a story about another
        # country ('Israel'): no surname
        "An airstrike hit a school sheltering displaced civilians in Gaza City on Thursday, killing 27 people, a "
        "medical source said. Fighting between Israel and Hamas has displaced most of the territory's people.",
        "Gaza",
        set(),
    ),
    (  # 'the <town> district of <part>': the town the gazetteer knows as a city is the town, not a district
        "A suicide bomber blew himself up at a mosque in the Kabul district of Dasht-e-Barchi on Friday, killing "
        "at least 20 worshippers, officials said.",
        "Kabul",
        {"Kabul district"},
    ),
    (  # 'the <part> district of <town>': what follows 'of' is the town, not a district
        "A suicide bomber blew himself up at a mosque in the Dasht-e-Barchi district of Kabul on Friday, killing "
        "at least 20 worshippers, officials said.",
        "Kabul",
        {"Kabul district"},
    ),
    (  # 'the <town> neighbourhood of <part>': the part gives way to the town
        "An Israeli strike hit a house in the Gaza City neighbourhood of Shujaiya on Friday, killing five people, "
        "the civil defence agency said.",
        "Gaza",
        set(),
    ),
    (  # a capital as the speaker
        "Moscow said on Sunday that Ukrainian drones had hit an oil depot in the Bryansk region, killing one "
        "worker, and that the fire was put out by morning.",
        "Bryansk region",
        {"Moscow"},
    ),
]


@pytest.mark.parametrize(("text", "main", "not_places"), CLASSES)
def test_place_classes_found_on_unseen_articles(nlp: Any, text: str, main: str, not_places: set[str]) -> None:
    (entities,) = entities_of(nlp, [text])
    assert entities.main_location is not None and entities.main_location.name == main
    assert not {p.name for p in entities.places} & not_places


def test_an_unknown_area_lies_by_the_town_the_story_names_most(nlp: Any) -> None:
    """An area the gazetteer lacks, named in no sentence with a known town, takes the coordinates
    of the town the article names most in its country, so that matching finds it near that town's
    reports (it was 'same country' and split one attack in two)."""
    (entities,) = entities_of(
        nlp,
        [
            "A suicide bomber struck a rally in the Zarghun area on Tuesday, killing 15 people. Police in Quetta "
            "said the bomber walked up to the stage. Quetta hospitals declared an emergency."
        ],
    )
    main = entities.main_location
    quetta = next(p for p in entities.places if p.name == "Quetta")
    assert main is not None and main.name == "Zarghun" and main.geonames_id is None
    assert (main.lat, main.lon, main.admin1_code) == (quetta.lat, quetta.lon, quetta.admin1_code)


def test_a_capitalised_preposition_is_no_part_of_a_name(nlp: Any) -> None:
    (entities,) = entities_of(nlp, ["At Bulabulin, a ward of Maiduguri, a bomb killed ten people on Tuesday."])
    assert not [p.name for p in entities.places if p.name.lower().startswith("at ")]
