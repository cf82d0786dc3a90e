"""Every `published_at` form a feed may send becomes an aware UTC time at the edge, and goes
through every stage: a plain date is valid input, not a crash in dedup (the conservation bug)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contracts import FeedEvent, RawArticle
from services.dedup.cluster import decide
from services.dedup.store import outcome
from services.pipeline import analyse
from services.publisher.feed import to_event

STORY = (
    "A missile strike on a market in Kharkiv killed at least seven people and injured 21 on Thursday, "
    "the regional governor said. Rescuers searched the rubble through the night."
)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2023-09-21", datetime(2023, 9, 21, tzinfo=UTC)),
        ("2023-09-21T14:05:00", datetime(2023, 9, 21, 14, 5, tzinfo=UTC)),
        ("2023-09-21T14:05:00Z", datetime(2023, 9, 21, 14, 5, tzinfo=UTC)),
        ("2023-09-21T14:05:00+03:00", datetime(2023, 9, 21, 11, 5, tzinfo=UTC)),
        ("2023-09-21 14:05:00.250-04:00", datetime(2023, 9, 21, 18, 5, 0, 250_000, tzinfo=UTC)),
        ("Thu, 21 Sep 2023 14:05:00 +0300", datetime(2023, 9, 21, 11, 5, tzinfo=UTC)),
        ("Thu, 21 Sep 2023 14:05:00 GMT", datetime(2023, 9, 21, 14, 5, tzinfo=UTC)),
    ],
)
def test_every_published_at_form_becomes_aware_utc(sent: str, expected: datetime) -> None:
    published = RawArticle(text="x", published_at=sent).published_at  # type: ignore[arg-type]
    assert published == expected
    assert published is not None and published.utcoffset() == timedelta(0)


def test_a_timestamp_that_is_no_time_is_dropped_with_its_field_named_and_the_article_kept() -> None:
    article = RawArticle(text="x", published_at="next Tuesday-ish")  # type: ignore[arg-type]
    assert article.published_at is None and article.published_period is None
    assert len(article.notes) == 1 and "published_at" in article.notes[0] and "next Tuesday-ish" in article.notes[0]


forms = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.sampled_from([None, UTC])
).flatmap(
    lambda moment: st.sampled_from(
        [
            moment.date().isoformat(),
            moment.replace(tzinfo=None).isoformat(),
            moment.replace(tzinfo=None).isoformat() + "Z",
            moment.replace(tzinfo=UTC).isoformat(),
            moment.replace(tzinfo=None).isoformat() + "+05:30",
            moment.replace(tzinfo=UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        ]
    )
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(forms, min_size=2, max_size=4))
def test_any_mix_of_forms_goes_through_every_stage(nlp: Any, sent: list[str]) -> None:
    """Articles with every form, one after another into dedup, as a feed would mix them."""
    now = datetime.now(UTC)
    records: dict[str, Any] = {}
    raws = [RawArticle(id=f"a{n}", text=STORY, published_at=value) for n, value in enumerate(sent)]  # type: ignore[arg-type]
    for analysed in analyse(raws, nlp, ingested_at=now, max_bytes=10_000):
        entities, article = analysed.entities, analysed.figures
        assert entities.meta.published_at is not None and entities.meta.published_at.tzinfo is not None
        decision = decide(article, list(records.values()), timedelta(hours=72))
        changes, stored = outcome(article, decision, list(records.values())).as_shown()
        records.update({r.incident_id: r for r in stored})
        for change in changes:  # and the publisher: every time in the event is aware UTC
            event = FeedEvent.from_bytes(to_event(change).to_bytes())
            assert event.time.tzinfo is not None
            assert all(r.published_at is None or r.published_at.utcoffset() == timedelta(0) for r in event.data.reports)
    placed = {
        a
        for r in records.values()
        for report in r.incident.reports
        for a in [report.article_id, *(c.article_id for c in report.syndicated)]
    }
    assert placed == {f"a{n}" for n in range(len(sent))}
