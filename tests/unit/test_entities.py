"""Places, weapons and people on the seeds, measured against the analyst's gold file."""

from __future__ import annotations

from typing import Any

import pytest

from services.places import place_key


def test_main_location_of_every_seed_matches_gold(seed_stages: dict[str, Any], gold: dict[str, Any]) -> None:
    for article_id, expected in gold["reports"].items():
        place = seed_stages[article_id]["entities"].main_location
        assert place is not None, article_id
        assert place_key(place.name) == place_key(expected["main_location"]), (article_id, place.name)
        assert place.geonames_id is not None and place.lat is not None and place.lon is not None
        assert place.country_code == "UA"


def test_transliterations_link_to_one_geonames_place(seed_stages: dict[str, Any]) -> None:
    places = seed_stages["000_69d956d9bc6fd38f"]["entities"].places
    kryvyi = [p for p in places if p.geonames_id == 703845]
    assert len(kryvyi) == 1 and kryvyi[0].mentions == 3  # "Kryvyi Rih" twice and "Krivoy Rog" once


def test_gold_weapons_are_found(seed_stages: dict[str, Any], gold: dict[str, Any]) -> None:
    for incident in gold["incidents"]:
        found = {w.label for a in incident["reports"] for w in seed_stages[a]["entities"].weapons}
        assert set(incident["weapons"]) <= found, (incident["key"], found)


def test_people_are_canonical(seed_stages: dict[str, Any]) -> None:
    for article_id in ("000_69d956d9bc6fd38f", "002_6726ae1a60a81a1e", "004_d686906048845ff1"):
        people = {a.name for a in seed_stages[article_id]["entities"].actors if a.kind == "person"}
        assert "Volodymyr Zelensky" in people, (article_id, people)
        assert not {"Zelenskyy", "Zelenskiy", "Zelensky"} & people


def test_roles_are_read_from_the_text(seed_stages: dict[str, Any]) -> None:
    roles = {a.name: a.role for a in seed_stages["004_d686906048845ff1"]["entities"].actors}
    assert roles["Vitali Klitschko"] == "Kyiv Mayor"
    roles = {a.name: a.role for a in seed_stages["000_69d956d9bc6fd38f"]["entities"].actors}
    assert "ombudsman" in (roles["Dmytro Lubinets"] or "")


def test_statistical_mistakes_are_corrected(seed_stages: dict[str, Any]) -> None:
    actors = {a.name for a in seed_stages["000_69d956d9bc6fd38f"]["entities"].actors}
    assert "BARBARIC" not in actors and "Kryvyi Rih" not in actors


def test_date_is_unknown_without_publication_time(seed_stages: dict[str, Any]) -> None:
    for stages in seed_stages.values():
        assert stages["entities"].occurred.precision == "unknown"
        assert stages["entities"].occurred.date is None


@pytest.mark.parametrize(
    ("when", "date"),
    [("on Friday evening", "2026-04-03"), ("late Thursday", "2026-04-02"), ("overnight", "2026-04-06"),
     ("on Saturday night", "2026-04-04")],
)  # fmt: skip
def test_relative_dates_resolve_against_publication_time(nlp: Any, when: str, date: str) -> None:
    from datetime import UTC, datetime

    from services.pipeline import analyse_text

    text = (
        f"A Russian missile strike {when} killed five people in Sumy, the regional governor said. "
        "Rescuers worked through the night to clear the rubble of the apartment block."
    )
    published = datetime(2026, 4, 6, 9, tzinfo=UTC)  # a Monday
    entities = analyse_text(text, nlp, published_at=published).entities
    assert (entities.occurred.precision, entities.occurred.date) == ("day", date)
    assert entities.main_location is not None and entities.main_location.name == "Sumy"
    assert entities.perpetrator == "Russia"
