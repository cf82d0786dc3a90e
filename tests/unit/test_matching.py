"""Incident matching: each signal on its own, the vetoes, and the hard negatives, on short texts of our own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.contracts import FiguresArticle, HeadlineFigure, RawArticle
from services.dedup.cluster import IncidentRecord, apply, decide, evidence_of
from services.dedup.matching import MatchEvidence, PlaceEvidence, Signals, probability, signals
from services.pipeline import analyse
from services.places import lookup, place_key

WINDOW = timedelta(hours=72)
INGESTED = datetime(2026, 5, 1, 12, tzinfo=UTC)


def place(name: str) -> PlaceEvidence:
    entry = lookup(name)[0]
    return PlaceEvidence(key=place_key(name), country_code=entry.country_code, admin1=entry.admin1,
                         lat=entry.lat, lon=entry.lon, precision="city")  # fmt: skip


def evidence(name: str = "Kharkiv", **fields: Any) -> MatchEvidence:
    return MatchEvidence(place=place(name), **fields)


TERMS = {"market": 0.6, "glide": 0.5, "bomb": 0.4, "saltivka": 0.48}


def test_the_same_place_and_story_match_and_another_country_vetoes() -> None:
    same = signals(evidence(terms=TERMS), evidence(terms=TERMS))
    assert same.place == "same" and probability(same) > 0.5  # more likely one event than not, days unknown
    abroad = signals(evidence("Kharkiv", terms=TERMS), evidence("Belgorod", terms=TERMS))
    assert abroad.vetoed == "different countries" and probability(abroad) == 0.0


def test_a_village_and_the_town_beside_it_are_near() -> None:
    s = signals(evidence("Kramatorsk"), evidence("Sloviansk"))
    assert s.place == "near" and s.km is not None and s.km < 20


def test_precise_event_days_more_than_two_days_apart_veto_and_close_days_help() -> None:
    apart = signals(evidence(date="2026-04-01", terms=TERMS), evidence(date="2026-04-05", terms=TERMS))
    assert apart.vetoed and probability(apart) == 0.0
    close = signals(evidence(date="2026-04-01"), evidence(date="2026-04-02"))
    unknown = signals(evidence(), evidence())
    assert close.vetoed is None and probability(close) > probability(unknown)


def test_text_similarity_raises_the_probability() -> None:
    alike = signals(evidence(terms=TERMS), evidence(terms=TERMS))
    unlike = signals(evidence(terms=TERMS), evidence(terms={"railway": 0.7, "station": 0.7, "train": 0.14}))
    assert alike.text > 0.99 and unlike.text == 0.0
    assert probability(alike) > probability(unlike)


def figures(killed: int) -> dict[str, HeadlineFigure]:
    return {"killed": HeadlineFigure(value=killed)}


def test_a_toll_that_rose_overnight_is_no_veto() -> None:
    earlier = evidence(terms=TERMS, figures=figures(43), reported="2026-04-01")
    later = evidence(terms=TERMS, figures=figures(78), reported="2026-04-02")
    s = signals(earlier, later)
    assert s.vetoed is None and probability(s) > 0.8


def test_weapons_named_differently_only_subtract() -> None:
    glide = evidence(terms=TERMS, attack_types=["bomb"], reported="2026-04-01")
    drones = evidence(terms=TERMS, attack_types=["drone"], reported="2026-04-01")
    s = signals(glide, drones)
    assert s.vetoed is None and s.weapons == 0.0 and probability(s) > 0.5


def test_the_reason_of_a_join_names_its_signals(nlp: Any) -> None:
    a = article(nlp, "k1", KHARKIV_MARKET, "2026-04-05")
    b = article(nlp, "k2", KHARKIV_MARKET.replace("injuring 32", "injuring 35"), "2026-04-05")
    record = new_incident(a)
    decision = decide(b, [record], WINDOW)
    assert decision.action == "join"
    assert "same place" in decision.reason and "p=" in decision.reason
    assert 0.5 <= decision.confidence <= 1.0


# ----------------------------------------------------------------- hard negatives, end to end

KHARKIV_MARKET = (
    "A Russian glide bomb hit a crowded market in the Saltivka district of Kharkiv on Saturday, killing five "
    "people and injuring 32, the regional governor said. Traders said the stalls caught fire at once."
)
KHARKIV_RAILWAY = (
    "Russian drones struck the railway depot in Kharkiv overnight, killing one worker and wounding two, "
    "Ukrainian Railways said. Trains to Kyiv were delayed by several hours."
)


def article(nlp: Any, article_id: str, text: str, published: str | None) -> FiguresArticle:
    raw = RawArticle(id=article_id, text=text + " " + FILLER, published_at=published, language="en")  # type: ignore[arg-type]
    (analysed,) = analyse([raw], nlp, ingested_at=INGESTED)
    return analysed.figures


FILLER = "Emergency crews worked through the day, and officials asked residents to stay in shelters during alerts."


def new_incident(first: FiguresArticle) -> IncidentRecord:
    applied = apply(first, decide(first, [], WINDOW), None)
    assert applied is not None
    return applied.record


def test_the_same_city_on_another_day_is_another_incident(nlp: Any) -> None:
    saturday = article(nlp, "market-sat", KHARKIV_MARKET, "2026-04-04")
    later = article(nlp, "market-later", KHARKIV_MARKET.replace("Saturday", "Tuesday"), "2026-04-14")
    decision = decide(later, [new_incident(saturday)], WINDOW)
    assert decision.action == "new", decision.reason


def test_another_story_in_the_same_city_with_no_day_known_is_another_incident(nlp: Any) -> None:
    market = article(nlp, "market", KHARKIV_MARKET, None)
    railway = article(nlp, "railway", KHARKIV_RAILWAY, None)
    decision = decide(railway, [new_incident(market)], WINDOW)
    assert decision.action == "new", decision.reason


def test_two_strikes_on_the_same_kind_of_target_weeks_apart_stay_apart(nlp: Any) -> None:
    first = article(nlp, "school-1", "An Israeli air strike on a school sheltering displaced families in Gaza City "
                    "killed 22 people on Monday, the civil defence agency said.", "2026-03-02")  # fmt: skip
    second = article(nlp, "school-2", "An Israeli air strike on a school sheltering displaced families in Gaza City "
                     "killed 17 people on Monday, the civil defence agency said.", "2026-03-23")  # fmt: skip
    assert evidence_of(first).date and evidence_of(second).date
    decision = decide(second, [new_incident(first)], WINDOW)
    assert decision.action == "new", decision.reason


def test_an_archive_replayed_at_once_clusters_by_its_dates_not_its_arrival(nlp: Any) -> None:
    """Everything is ingested in the same second; the articles' own days decide."""
    monday = article(nlp, "a-mon", KHARKIV_MARKET, "2026-04-04")
    same_event = article(nlp, "a-mon-2", KHARKIV_MARKET.replace("five people", "six people"), "2026-04-05")
    weeks_later = article(nlp, "a-later", KHARKIV_MARKET.replace("Saturday", "Friday"), "2026-05-01")
    record = new_incident(monday)
    assert decide(same_event, [record], WINDOW).action == "join"
    assert decide(weeks_later, [record], WINDOW).action == "new"


def test_a_shared_place_alone_does_not_make_one_incident() -> None:
    """What the fit learnt from the hard negatives: place without agreeing story or figures is not enough."""
    s = Signals(place="same", km=0.0, days_apart=None, reported_apart=None, text=0.05, copy=0.0,
                figures=0.1, weapons=1.0)  # fmt: skip
    assert probability(s) < 0.5


def test_days_of_the_year_without_years_veto_and_agree_as_event_days_do() -> None:
    apart = signals(evidence(day_of_year="--01-02", terms=TERMS), evidence(day_of_year="--01-18", terms=TERMS))
    assert apart.days_apart == 16 and apart.vetoed and probability(apart) == 0.0
    with_a_full_date = signals(evidence(date="2024-01-18"), evidence(day_of_year="--01-18"))
    assert with_a_full_date.days_apart == 0 and with_a_full_date.vetoed is None
    round_the_new_year = signals(evidence(day_of_year="--12-31"), evidence(date="2025-01-01"))
    assert round_the_new_year.days_apart == 1 and round_the_new_year.vetoed is None
    two_full_dates_a_year_apart = signals(evidence(date="2024-01-18"), evidence(date="2025-01-18"))
    assert two_full_dates_a_year_apart.vetoed  # full dates: the years count
    unknown = signals(evidence(day_of_year="--01-18"), evidence())
    assert unknown.days_apart is None


def test_two_towns_more_than_20_km_apart_veto_and_a_region_does_not() -> None:
    towns = signals(evidence("Kharkiv", terms=TERMS), evidence("Odesa", terms=TERMS))
    assert towns.place == "other_town" and towns.vetoed and probability(towns) == 0.0
    neighbours = signals(evidence("Kramatorsk", terms=TERMS), evidence("Kostiantynivka", terms=TERMS))
    assert neighbours.km is not None and 20 < neighbours.km < 40 and neighbours.vetoed  # near, yet two towns
    beside = signals(evidence("Kramatorsk", terms=TERMS), evidence("Sloviansk", terms=TERMS))
    assert beside.km is not None and beside.km < 20 and beside.vetoed is None
    region = PlaceEvidence(key="odesaoblast", country_code="UA", admin1="17", lat=46.5, lon=30.7, precision="region")
    in_a_region = signals(evidence("Kharkiv", terms=TERMS), MatchEvidence(place=region, terms=TERMS))
    assert in_a_region.place == "country" and in_a_region.vetoed is None


def test_one_story_the_same_day_in_two_cities_is_two_incidents(nlp: Any) -> None:
    kharkiv = article(nlp, "market-kharkiv", KHARKIV_MARKET, "2026-04-04")
    odesa = article(
        nlp, "market-odesa", KHARKIV_MARKET.replace("the Saltivka district of Kharkiv", "Odesa"), "2026-04-04"
    )
    assert odesa.main_location is not None and odesa.main_location.name == "Odesa"
    assert decide(odesa, [new_incident(kharkiv)], WINDOW).action == "new"


def test_undated_reports_that_name_days_weeks_apart_are_two_incidents(nlp: Any) -> None:
    second = article(nlp, "undated-jan-2", KHARKIV_MARKET.replace("on Saturday", "on January 2"), None)
    update = KHARKIV_MARKET.replace("on Saturday", "on January 2").replace("five people", "six people")
    again = article(nlp, "undated-jan-2-again", update, None)
    weeks_later = article(nlp, "undated-jan-18", KHARKIV_MARKET.replace("on Saturday", "on January 18"), None)
    assert second.occurred.day_of_year == "--01-02" and weeks_later.occurred.day_of_year == "--01-18"
    record = new_incident(second)
    joined = decide(again, [record], WINDOW)
    assert joined.action == "join" and "same day" in joined.reason  # matched by its day, not by its fingerprint
    assert decide(weeks_later, [record], WINDOW).action == "new"


def test_event_days_two_apart_keep_two_attacks_on_one_city_apart_whatever_the_writing_days() -> None:
    """Two days apart is no veto (one report's day may be a day off), but counts heavily against:
    in a war, a city is struck again two days later, and its reports read alike; the days the
    articles were written (also two apart, 'close') add nothing where both event days are known."""
    from services.dedup.cluster import JOIN_THRESHOLD

    first = {"terms": TERMS, "attack_types": ["missile"], "figures": figures(5)}
    again = {"terms": {**TERMS, "saltivka": 0.0, "school": 0.48}, "attack_types": ["missile"], "figures": figures(2)}
    two_apart = signals(
        evidence(date="2026-04-04", reported="2026-04-04", **first),
        evidence(date="2026-04-06", reported="2026-04-06", **again),
    )
    assert two_apart.vetoed is None and probability(two_apart) < JOIN_THRESHOLD
    next_day = signals(
        evidence(date="2026-04-04", reported="2026-04-04", **first),
        evidence(date="2026-04-05", reported="2026-04-05", **again),
    )
    assert probability(next_day) > 0.5  # a toll revised the next day
