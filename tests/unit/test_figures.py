"""Casualty figures: the seeds against gold, and a labelled set of sentences of our own."""

from __future__ import annotations

from typing import Any

import ftfy
import pytest

from services.casualties.figures import figures_for
from services.cleaner.clean import clean_article
from services.contracts import RawArticle, utc_now
from services.entities.extract import extract_batch

PADDING = "\n\nThe report was compiled by the newsroom from statements published during the morning."

# (sentence, {(category, group, value, qualifier), ...}) — written for these tests, not from the seeds.
LABELLED: list[tuple[str, set[tuple[str, str, int, str]]]] = [
    (
        "A missile strike on Odesa killed at least 12 people and injured 40 others, the governor said.",
        {("killed", "people", 12, "at_least"), ("injured", "people", 40, "exact")},
    ),
    (
        "Three civilians were killed and more than 20 wounded when shells hit the market in Kherson.",
        {("killed", "civilians", 3, "exact"), ("injured", "people", 20, "more_than")},
    ),
    (
        "The death toll from the drone attack on Sumy has risen to nine, officials said.",
        {("killed", "people", 9, "exact")},
    ),
    (
        "Up to 15 people may still be trapped under the rubble of the building in Dnipro.",
        {("missing", "people", 15, "up_to")},
    ),
    (
        "Dozens of people were injured in the blast in Zaporizhzhia, the mayor said.",
        {("injured", "people", 12, "at_least")},
    ),
    ("Around 30 people were hospitalized after the attack on Kharkiv.", {("hospitalized", "people", 30, "about")}),
    (
        "The strike killed seven people, including two children, in Poltava.",
        {("killed", "people", 7, "exact"), ("killed", "children", 2, "exact")},
    ),
    (
        "Eleven people died and 35 were hurt in the bombing of the station in Kramatorsk.",
        {("killed", "people", 11, "exact"), ("injured", "people", 35, "exact")},
    ),
    (
        "Nearly 50 people were wounded, among them eight children, in the shelling of Kherson.",
        {("injured", "people", 50, "about"), ("injured", "children", 8, "exact")},
    ),
    (
        "Four soldiers were killed in the artillery strike near Bakhmut, the army said.",
        {("killed", "soldiers", 4, "exact")},
    ),
    (
        "Two people are missing after the glide bomb hit the apartment block in Kharkiv.",
        {("missing", "people", 2, "exact")},
    ),
    (
        "The drone strike on the bus in Kherson killed a 62-year-old man and injured five passengers.",
        {("killed", "people", 1, "exact"), ("injured", "people", 5, "exact")},
    ),
    ("Russia launched 120 drones and 8 missiles at Lviv overnight; 90 were shot down.", set()),
    ("At least ten homes and 14 cars were damaged in the attack on Mykolaiv.", set()),
    ("The 16-storey building in Dnipro, home to a 300,000-strong district, was hit twice.", set()),
    ("The city, 25 miles from the front line, was attacked at 04:30 on 3 March.", set()),
    (
        "A 34-year-old woman and 12 others were taken to hospital after the strike on Odesa.",
        {("hospitalized", "people", 13, "exact")},
    ),
    ("Nine people lost their lives in the missile attack on Chernihiv.", {("killed", "people", 9, "exact")}),
    (
        "Between 10 and 15 people were killed in the airstrike, according to local officials.",
        {("killed", "people", 10, "exact")},
    ),
    ("Hundreds of residents were left without power after the strike on Kharkiv.", set()),
]


def figures_of(nlp: Any, text: str) -> Any:
    clean = clean_article(RawArticle(text=text + PADDING), ingested_at=utc_now(), max_bytes=100_000)
    return figures_for(next(iter(extract_batch(nlp, [clean]))))


def test_seed_headline_figures_match_gold(seed_stages: dict[str, Any], gold: dict[str, Any]) -> None:
    matched = total = 0
    for article_id, expected in gold["reports"].items():
        figures = {k: v.model_dump() for k, v in seed_stages[article_id]["figures"].figures.items()}
        for category, value in expected.items():
            if category == "main_location":
                continue
            total += 1
            matched += figures.get(category) == value
        assert figures == {k: v for k, v in expected.items() if k != "main_location"}, article_id
    print(f"\nseed headline figures: {matched}/{total} match gold")


def test_not_casualty_numbers_never_become_claims(seed_stages: dict[str, Any]) -> None:
    never = {550, 11, 72, 537, 600_000, 47, 20, 200, 24, 2022, 3}
    for article_id, stages in seed_stages.items():
        values = {c.value for c in stages["figures"].claims}
        assert not values & never, (article_id, values & never)


def test_party_claims_are_kept_disputed_and_out_of_the_toll(seed_stages: dict[str, Any]) -> None:
    for article_id in ("000_69d956d9bc6fd38f", "001_c014f600812d5447", "002_6726ae1a60a81a1e"):
        figures = seed_stages[article_id]["figures"]
        party = [c for c in figures.claims if c.value == 85]
        assert party and all(c.disputed and c.claimed_by for c in party), article_id
        assert figures.figures["killed"].value != 85


def test_other_incidents_are_kept_out_of_the_main_one(seed_stages: dict[str, Any]) -> None:
    kharkiv = [c for c in seed_stages["002_6726ae1a60a81a1e"]["figures"].claims if c.scope_place == "Kharkiv"]
    assert {(c.category, c.value) for c in kharkiv} == {("killed", 5), ("injured", 34)}
    earlier = [c for c in seed_stages["001_c014f600812d5447"]["figures"].claims if c.scope == "mentioned"]
    assert {c.value for c in earlier} == {4, 1, 5}  # four dead this week; a woman and five in March
    rostov = [c for c in seed_stages["003_4a580fc828f873b1"]["figures"].claims if c.scope == "mentioned"]
    assert [c.scope_place for c in rostov] == ["Rostov region"]


def test_attribution_and_revisions(seed_stages: dict[str, Any]) -> None:
    claims = seed_stages["000_69d956d9bc6fd38f"]["figures"].claims
    assert {c.claimed_by for c in claims if c.value == 56} == {"The city's mayor"}
    assert {c.claimed_by for c in claims if c.value == 14} == {"Zelensky"}
    revised = [c for c in seed_stages["004_d686906048845ff1"]["figures"].claims if c.value == 9]
    assert revised and all(c.superseded for c in revised)


def test_quotes_point_at_the_raw_text(seed_stages: dict[str, Any], seed_files: list[Any]) -> None:
    raw = {p.stem: p.read_text() for p in seed_files}
    for article_id, stages in seed_stages.items():
        for claim in stages["figures"].claims:
            in_raw = ftfy.fix_text(raw[article_id][claim.raw_start : claim.raw_end])
            assert " ".join(in_raw.split()) == " ".join(claim.quote.split()), (article_id, claim.quote)


def test_labelled_sentences_precision_and_recall(nlp: Any) -> None:
    true_positive = predicted = expected = 0
    misses = []
    for sentence, wanted in LABELLED:
        got = {(c.category, c.group, c.value or c.low, c.qualifier) for c in figures_of(nlp, sentence).claims}
        true_positive += len(got & wanted)
        predicted += len(got)
        expected += len(wanted)
        if got != wanted:
            misses.append((sentence, got, wanted))
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / expected if expected else 1.0
    print(f"\nlabelled sentences: precision {precision:.2f}, recall {recall:.2f} over {len(LABELLED)} sentences")
    for miss in misses:
        print("  miss:", miss)
    assert precision >= 0.85 and recall >= 0.85


@pytest.mark.parametrize("value", ["a dozen", "dozens", "hundreds"])
def test_vague_amounts_keep_their_words(nlp: Any, value: str) -> None:
    figures = figures_of(nlp, f"The shelling of Kherson on Monday injured {value} of people, the governor said.")
    claims = [c for c in figures.claims if c.category == "injured"]
    assert claims and claims[0].words.lower().endswith(value.split()[-1])
