"""Property-based: whatever envelope arrives, each stage's pure function gives a valid output or a
typed refusal (Rejected), never an unhandled exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import figures_article
from services.cleaner.clean import clean_article
from services.contracts import CleanArticle, FiguresArticle, RawArticle, Rejected
from services.dedup.cluster import decide
from services.dedup.store import outcome
from services.pipeline import analyse
from services.runtime.settings import Settings
from services.runtime.shell import Delivery
from services.stages import worker_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)
words = st.sampled_from(
    ["missile", "Kyiv", "killed", "at", "least", "12", "people", "injured", "dozens", "the", "strike", "on",
     "Odesa", "said", "governor", "children", "-", "—", "“", "’", "\n", "\n\n", "three-year-old", "1,200"]
)  # fmt: skip
texts = st.one_of(st.text(max_size=3000), st.lists(words, max_size=300).map(" ".join))
values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50), st.booleans())
json_values = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=50), st.booleans()
)
"""What a JSON document can hold (json.dumps writes NaN and Infinity, which are not JSON)."""
envelopes = st.dictionaries(
    st.sampled_from(["text", "html", "id", "url", "title", "outlet", "published_at", "language", "extra"]),
    st.one_of(values, texts),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(envelopes)
def test_the_cleaner_refuses_or_cleans_any_envelope(envelope: dict[str, Any]) -> None:
    worker = worker_for("cleaner", Settings())
    assert worker.input_model is RawArticle
    # the standard library writes what orjson will not (integers past 64 bits, NaN), as producers may
    decoded = worker.decode(Delivery("1-0", {b"payload": json.dumps(envelope).encode()}))
    if isinstance(decoded, Rejected):
        assert decoded.reason == "invalid_message" and decoded.error
        return
    try:
        out = clean_article(decoded, ingested_at=NOW, max_bytes=200_000)
    except Rejected as refused:
        assert refused.reason in {"empty_after_cleaning", "unsupported_language", "too_large"}
        return
    assert isinstance(out, CleanArticle) and out.text


STORY = (
    "A drone struck a market in the town on Friday, killing four people and wounding eleven, the regional "
    "governor said. Rescuers searched the rubble through the night and took the wounded to the city hospital."
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"\A\d{4}(-\d{1,2}){0,2}\Z"), json_values))
def test_no_published_at_costs_an_otherwise_valid_article(published_at: Any) -> None:
    """A month, a year, a typo, an unknown form: kept at its precision or dropped with a note."""
    worker = worker_for("cleaner", Settings())
    payload = json.dumps({"id": "a", "text": STORY, "published_at": published_at}).encode()
    decoded = worker.decode(Delivery("1-0", {b"payload": payload}))
    assert isinstance(decoded, RawArticle), decoded
    clean = clean_article(decoded, ingested_at=NOW, max_bytes=200_000)
    meta = clean.meta
    assert meta.published_at is None or meta.published_at.tzinfo is not None
    if meta.published_at is None and published_at not in (None, ""):
        assert meta.published_period or meta.notes  # said, never silent


def test_a_month_or_a_year_is_kept_as_a_period_not_a_day() -> None:
    for given_as, period in (("2022-11", "2022-11"), ("2022", "2022"), (" 2023-04 ", "2023-04")):
        raw = RawArticle.model_validate({"text": STORY, "published_at": given_as})
        assert raw.published_at is None and raw.published_period == period
        meta = clean_article(raw, ingested_at=NOW, max_bytes=200_000).meta
        assert meta.published_at is None and meta.published_period == period
    dropped = RawArticle.model_validate({"text": STORY, "published_at": "last Tuesday-ish"})
    assert dropped.published_at is None and "last Tuesday-ish" in dropped.notes[0]
    assert RawArticle.model_validate({"text": STORY, "published_at": "2023-09-21"}).published_at == datetime(
        2023, 9, 21, tzinfo=UTC
    )


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_any_bytes_decode_to_a_message_or_a_refusal(payload: bytes) -> None:
    for stage in ("cleaner", "entities", "casualties", "dedup", "publisher"):
        decoded = worker_for(stage, Settings()).decode(Delivery("1-0", {b"payload": payload}))
        assert isinstance(decoded, Rejected | pydantic.BaseModel)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=25, max_size=200).map(" ".join))
def test_entities_and_casualties_handle_any_english_ish_text(nlp: Any, text: str) -> None:
    try:
        (analysed,) = analyse([RawArticle(text=text, language="en")], nlp, ingested_at=NOW, max_bytes=200_000)
    except Rejected:
        return
    figures = analysed.figures
    assert isinstance(figures, FiguresArticle)
    for claim in figures.claims:
        assert claim.value is None or claim.value >= 0
        assert claim.raw_start <= claim.raw_end


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Kyiv", "Odesa", "Sumy"]),
            st.dictionaries(st.sampled_from(["killed", "injured", "hospitalized"]), st.integers(0, 10_000)),
            st.integers(0, 96),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_dedup_decides_for_any_sequence(reports: list[tuple[str, dict[str, int], int, bool]]) -> None:
    records: dict[str, Any] = {}
    for n, (city, figures, hours, dated) in enumerate(reports):
        published = NOW + timedelta(hours=hours)
        article = figures_article(f"a{n}", city, f"Report {n} from {city}: {figures}", published, figures,
                                  day=published.date().isoformat() if dated else None)  # fmt: skip
        decision = decide(article, list(records.values()), timedelta(hours=72))
        changes, stored = outcome(article, decision, list(records.values())).as_shown()
        assert stored and all(c.incident.revision >= 1 for c in changes)
        records.update({r.incident_id: r for r in stored})
        records = {k: r for k, r in records.items() if not r.incident.merged_into}
    taken = [
        article_id
        for record in records.values()
        for report in record.incident.reports
        for article_id in [report.article_id, *(c.article_id for c in report.syndicated)]
    ]
    assert sorted(taken) == sorted(f"a{n}" for n in range(len(reports)))  # each article in exactly one incident
