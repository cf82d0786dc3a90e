"""Dedup's pure decisions: the seeds form the gold incidents with reconciled tolls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dedup.cluster import IncidentRecord, apply, decide

WINDOW = timedelta(hours=72)


def cluster(articles: list[Any]) -> dict[str, IncidentRecord]:
    """What the dedup stage does, without Redis: candidates are the incidents at the same place."""
    records: dict[str, IncidentRecord] = {}
    for article in articles:
        place = article.main_location.geonames_id
        candidates = [r for r in records.values() if r.incident.location.geonames_id == place]
        decision = decide(article, candidates, WINDOW)
        applied = apply(article, decision, records.get(decision.incident_id))
        if applied is not None:
            records[applied.record.incident_id] = applied.record
    return records


def test_seeds_form_the_gold_incidents(seed_stages: dict[str, Any], gold: dict[str, Any]) -> None:
    records = cluster([s["figures"] for s in seed_stages.values()])
    groups = sorted(sorted(r.article_id for r in rec.incident.reports) for rec in records.values())
    assert groups == sorted(sorted(i["reports"]) for i in gold["incidents"])


def test_reconciled_tolls_match_gold(seed_stages: dict[str, Any], gold: dict[str, Any]) -> None:
    records = cluster([s["figures"] for s in seed_stages.values()])
    by_first_report = {rec.incident.reports[0].article_id: rec.incident for rec in records.values()}
    kryvyi = by_first_report["000_69d956d9bc6fd38f"].casualties
    expected = next(i for i in gold["incidents"] if i["key"] == "kryvyi-rih-missile")
    assert kryvyi["killed"].best == expected["killed"]["best"]
    assert kryvyi["killed"].high == expected["killed"]["high"]
    low, high = expected["killed"]["low_range"]
    assert low <= kryvyi["killed"].low <= high
    assert kryvyi["children_killed"].best == expected["children_killed"]["best"]
    assert kryvyi["injured"].high == expected["injured"]["high"]
    assert kryvyi["injured"].best in expected["injured"]["best_any_of"]
    assert by_first_report["003_4a580fc828f873b1"].casualties["killed"].best == 1
    assert by_first_report["004_d686906048845ff1"].casualties["killed"].best == 8
    assert by_first_report["004_d686906048845ff1"].casualties["children_injured"].best == 6


def test_disputed_claims_stay_claims(seed_stages: dict[str, Any]) -> None:
    records = cluster([s["figures"] for s in seed_stages.values()])
    for record in records.values():
        for toll in record.incident.casualties.values():
            assert toll is None or 85 not in (toll.low, toll.best, toll.high)
        disputed = [c for c in record.incident.claims if c.disputed]
        assert all(c.claimed_by for c in disputed)


def test_revision_rises_per_report_and_repeats_change_nothing(seed_stages: dict[str, Any]) -> None:
    articles = [seed_stages[a]["figures"] for a in ("000_69d956d9bc6fd38f", "001_c014f600812d5447")]
    records = cluster(articles)
    (record,) = records.values()
    assert record.incident.revision == 2
    again = decide(articles[0], [record], WINDOW)
    assert again.action == "repeat"
    assert apply(articles[0], again, record) is None


def test_each_report_says_why_and_how_sure(seed_stages: dict[str, Any]) -> None:
    records = cluster([s["figures"] for s in seed_stages.values()])
    for record in records.values():
        for report in record.incident.reports[1:]:
            assert 0.5 <= report.confidence <= 1.0
            assert "same place" in report.reason


def test_the_same_text_under_another_id_is_recognised(seed_stages: dict[str, Any]) -> None:
    article = seed_stages["003_4a580fc828f873b1"]["figures"]
    (record,) = cluster([article]).values()
    resent = article.model_copy(update={"meta": article.meta.model_copy(update={"article_id": "resent-003"})})
    decision = decide(resent, [record], WINDOW)
    assert decision.action == "join" and decision.incident_id == record.incident_id
    assert "fingerprint" in decision.reason


def test_mentioned_incidents_become_incidents_of_their_own(seed_stages: dict[str, Any]) -> None:
    from services.dedup.cluster import mentioned_articles

    mentions = [m for s in seed_stages.values() for m in mentioned_articles(s["figures"])]
    records = cluster(mentions)
    by_place = {r.incident.location.name: r.incident for r in records.values()}
    assert set(by_place) == {"Kharkiv", "Rostov region"}
    kharkiv = by_place["Kharkiv"]
    assert kharkiv.basis == "mentioned" and len(kharkiv.reports) == 2  # told in 000 and in 002
    assert kharkiv.casualties["killed"].best == 5 and kharkiv.casualties["injured"].best == 34
    assert by_place["Rostov region"].casualties["killed"].best == 1
    # A report of its own makes a mentioned incident a reported one.
    first_hand = mentions[0].model_copy(
        update={
            "meta": mentions[0].meta.model_copy(update={"article_id": "kharkiv-wire", "fingerprint": "other"}),
            "text_sample": "Five civilians died when drones hit a block of flats in Kharkiv, the mayor said.",
        }
    )
    record = next(r for r in records.values() if r.incident.location.name == "Kharkiv")
    decision = decide(first_hand, [record], WINDOW)
    applied = apply(first_hand, decision, record)
    assert applied is not None and applied.record.incident.basis == "reported"


def parsed(nlp: Any, article_id: str, text: str) -> Any:
    from services.pipeline import analyse_text

    return analyse_text(text, nlp, id=article_id).figures


FIRST_REPORT = (
    "Missile strike on Sumy kills nine\n\n"
    "A Russian missile struck an apartment block in Sumy on Tuesday night, killing nine people and "
    "injuring 30 others, the regional governor said. Rescuers searched the rubble until morning."
)
REVISED_REPORT = (
    "Sumy toll revised to eight\n\n"
    "Eight people were killed in the Russian missile strike on Sumy on Tuesday night, the regional "
    "governor said on Wednesday, revising earlier reports of nine deaths. Another 30 people were injured."
)


def test_a_later_revision_down_lowers_the_toll(nlp: Any) -> None:
    first, revised = parsed(nlp, "sumy-first", FIRST_REPORT), parsed(nlp, "sumy-revised", REVISED_REPORT)
    assert first.figures["killed"].value == 9 and revised.figures["killed"].value == 8

    (record,) = cluster([first, revised]).values()
    incident = record.incident
    assert [r.article_id for r in incident.reports] == ["sumy-first", "sumy-revised"]
    assert (incident.casualties["killed"].best, incident.casualties["killed"].high) == (8, 8)
    assert incident.casualties["injured"].best == 30
    (withdrawn,) = [c for c in incident.claims if c.superseded]
    assert (withdrawn.category, withdrawn.value, withdrawn.article_id) == ("killed", 9, "sumy-revised")


def test_a_revised_figure_reported_again_later_counts_again(nlp: Any) -> None:
    """Only figures that came before the revision are withdrawn: a later report of nine stands."""
    first, revised = parsed(nlp, "sumy-first", FIRST_REPORT), parsed(nlp, "sumy-revised", REVISED_REPORT)
    later = first.model_copy(update={"meta": first.meta.model_copy(update={"article_id": "sumy-later"})})
    (record,) = cluster([revised, later]).values()
    assert record.incident.casualties["killed"].best == 9


def test_a_count_of_part_of_the_toll_does_not_lower_it(nlp: Any) -> None:
    article = parsed(
        nlp,
        "sumy-wounds",
        "Sumy toll rises to 20\n\nTwo people died of their wounds overnight, bringing the toll from the Russian "
        "missile strike on Sumy on Tuesday to 20, the regional governor said.",
    )
    (record,) = cluster([article]).values()
    # the headline's "toll rises to 20" and the body's "bringing the toll ... to 20" are the toll; two is part of it
    assert {(c.value, c.partial) for c in record.incident.claims if c.category == "killed"} == {(2, True), (20, False)}
    killed = record.incident.casualties["killed"]
    assert (killed.low, killed.best, killed.high) == (20, 20, 20)


figure_values = st.integers(min_value=1, max_value=60)
claim_flags = st.fixed_dictionaries({"disputed": st.booleans(), "superseded": st.booleans(), "partial": st.booleans()})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), figure_values), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(min_value=0, max_value=4), figure_values, claim_flags), max_size=8),
)
def test_tolls_are_ordered_and_only_credible_figures_enter_them(
    headline: list[int | None], claims: list[tuple[int, int, dict[str, bool]]]
) -> None:
    from services.contracts import ClaimRecord, HeadlineFigure, Report
    from services.dedup.cluster import reconcile_tolls

    reports = [
        Report(article_id=f"r{n}", figures={"killed": HeadlineFigure(value=v)} if v else {}, confidence=1.0, reason="")
        for n, v in enumerate(headline)
    ]
    records = [
        ClaimRecord(category="killed", value=v, qualifier="exact", article_id=f"r{n % len(reports)}", quote="", **flags)
        for n, v, flags in claims
    ]
    toll = reconcile_tolls(reports, records)["killed"]
    if not any(headline):
        assert toll is None
        return
    assert toll is not None and toll.low <= toll.best <= toll.high
    assert toll.best in headline  # best is always some report's own figure
    # a party's claim or a count of part of the toll never moves a toll
    credible = [r for r in records if not (r.disputed or r.partial)]
    assert reconcile_tolls(reports, credible)["killed"] == toll


def test_decoded_records_serve_the_same_bytes_once_and_stay_bounded() -> None:
    from bench.run import filler_incident
    from services.dedup.store import DecodedRecords

    records = DecodedRecords(size=2)
    first = IncidentRecord(incident=filler_incident(), country="UA", evidence=[])
    raw = records.encode(first)
    assert records.decode(raw) is first  # what was written is what a read of its bytes gives
    assert records.decode(bytes(raw)) is first  # equal bytes, another object
    changed = first.model_copy(update={"country": "PL"})
    changed_raw = changed.model_dump_json().encode()
    decoded = records.decode(changed_raw)
    assert decoded == changed and decoded is not changed  # other bytes are decoded
    third = records.decode(first.model_copy(update={"country": "SY"}).model_dump_json().encode())
    assert third.country == "SY"
    assert records.decode(raw) is not first  # the oldest left when a third came in: decoded again
    assert records.decode(raw) == first


def test_decoded_records_keep_one_version_per_incident() -> None:
    """A big story's record rewritten again and again must not fill the cache with its versions."""
    from bench.run import filler_incident
    from services.dedup.store import DecodedRecords

    records = DecodedRecords(size=256)
    record = IncidentRecord(incident=filler_incident(), country="UA", evidence=[])
    for revision in range(2, 50):
        record = record.model_copy(update={"incident": record.incident.model_copy(update={"revision": revision})})
        assert records.decode(records.encode(record)) is record
    other = IncidentRecord(incident=filler_incident().model_copy(update={"incident_id": "inc_other"}), country="UA",
                           evidence=[])  # fmt: skip
    records.encode(other)
    assert len(records._by_json) == 2  # the latest version of each incident, nothing older
