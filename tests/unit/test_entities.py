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


@pytest.mark.parametrize(
    ("expression", "named"),
    [("Jan. 2, 2024", ("2024-01-02", "--01-02")), ("January 18", (None, "--01-18")), ("5 May", (None, "--05-05")),
     ("Sep 30th, 2025", ("2025-09-30", "--09-30")), ("April 28 and 29", (None, "--04-28")),
     ("Tuesday", (None, None)), ("last month", (None, None)), ("December 2023", (None, None)), ("May", (None, None))],
)  # fmt: skip
def test_a_day_named_by_month_and_number_needs_no_day_to_count_from(
    expression: str, named: tuple[str | None, str | None]
) -> None:
    from services.entities.extract import day_named

    assert day_named(expression) == named


LEAD = (
    "Residents of the northern city gathered outside the regional administration building on a cold grey morning, "
    "many of them carrying flowers and photographs, as officials read out the names of those who had died. "
    "The governor thanked the emergency services, the volunteers and the doctors of the city hospital, who had "
    "worked without rest, and promised help to every family who had lost a home.\n\n"
)
"""Over BYLINE_CHARS of text without a date: a full date near the top is taken for the article's own (its byline)."""


@pytest.mark.parametrize(
    ("sentence", "date", "day_of_year"),
    [("A Russian missile strike on March 3, 2025 killed five people in Sumy.", "2025-03-03", None),
     ("A Russian missile strike on March 3 killed five people in Sumy.", None, "--03-03"),
     ("A drone strike on the night of July 9 killed two people in Odesa.", None, "--07-09"),
     ("The army has carried out near-daily air strikes on Sumy since March 3, killing five people.", None, None),
     ("A Russian missile strike on Tuesday killed five people in Sumy.", None, None)],
)  # fmt: skip
def test_an_undated_article_takes_only_the_day_its_attack_sentences_name(
    nlp: Any, sentence: str, date: str | None, day_of_year: str | None
) -> None:
    from services.pipeline import analyse_text

    more = " Rescuers worked through the day to clear the rubble of the apartment block, the governor said."
    occurred = analyse_text(LEAD + sentence + more, nlp).entities.occurred
    assert (occurred.date, occurred.day_of_year) == (date, day_of_year)
    assert occurred.reported is None


def test_of_several_full_dates_an_undated_article_takes_the_latest(nlp: Any) -> None:
    from services.pipeline import analyse_text

    text = LEAD + (
        "A Russian missile strike on June 12, 2025 killed five people in Sumy. "
        "The city had been struck by a missile on June 3, 2025, when two people died in the blast."
    )
    assert analyse_text(text, nlp).entities.occurred.date == "2025-06-12"


@pytest.mark.parametrize(
    ("posts", "date", "reported"),
    [(["June 30, 2025"], "2025-06-30", "2025-06-30"),  # Monday, the day of the post
     (["June 28, 2025", "July 1, 2025"], "2025-06-30", "2025-07-01"),  # the latest post: the Monday before it
     ([], None, None)],
)  # fmt: skip
def test_an_undated_article_is_written_on_the_day_of_the_latest_post_it_embeds(
    nlp: Any, posts: list[str], date: str | None, reported: str | None
) -> None:
    from services.pipeline import analyse_text

    text = LEAD + "An air strike on a cafe by the port of Gaza City on Monday killed 20 people, medics said.\n\n"
    for n, day in enumerate(posts):
        text += f"The moment the cafe was hit. pic.twitter.com/x{n} — A Reporter (@reporter{n}) {day}\n\n"
    occurred = analyse_text(text + "The army said it was looking into the strike.", nlp).entities.occurred
    assert (occurred.date, occurred.reported) == (date, reported)


def test_a_period_that_starts_on_a_day_does_not_date_the_attack(nlp: Any) -> None:
    from datetime import UTC, datetime

    from services.pipeline import analyse_text

    text = (
        "Air strikes have hit Sumy every day since Monday, and a missile strike killed five people there, "
        "the regional governor said on his Telegram channel."
    )
    published = datetime(2026, 4, 9, 9, tzinfo=UTC)  # a Thursday
    occurred = analyse_text(text, nlp, published_at=published).entities.occurred
    assert occurred.date != "2026-04-06"


@pytest.mark.parametrize(
    ("text", "date"),
    [("A Russian missile strike on Thursday killed five people in Sumy, the regional governor said on Saturday.",
      "2026-04-02"),
     ("The death toll of the missile strike on Sumy has risen to five, according to media reports on Saturday. "
      "The missile hit the apartment block on Thursday night.", "2026-04-02"),
     ("A Russian missile strike killed five people in Sumy, the regional governor said on Saturday.", "2026-04-04")],
)  # fmt: skip
def test_the_day_of_a_statement_dates_the_attack_only_where_no_other_day_is_named(
    nlp: Any, text: str, date: str | None
) -> None:
    from datetime import UTC, datetime

    from services.pipeline import analyse_text

    published = datetime(2026, 4, 6, 9, tzinfo=UTC)  # a Monday
    more = " Rescuers worked through the day to clear the rubble of the apartment block."
    assert analyse_text(text + more, nlp, published_at=published).entities.occurred.date == date


@pytest.mark.parametrize(
    "dateline",
    ["DUBAI, May 27. /TASS/.", "CAIRO, May 27 (Reuters) -", "DUBAI (AP) —"],
)
def test_an_agency_dateline_counts_for_nothing_and_the_place_after_it_counts(nlp: Any, dateline: str) -> None:
    from services.pipeline import analyse_text

    text = (
        f"{dateline} An Israeli strike on a tent camp in Rafah's Tal al-Sultan neighbourhood killed 40 people, "
        "the health ministry said. Rescuers searched the burnt tents through the night for survivors."
    )
    result = analyse_text(text, nlp)
    assert result.clean.dateline in ("DUBAI", "CAIRO")
    main = result.entities.main_location
    assert main is not None and main.name == "Rafah" and main.country_code == "PS"
