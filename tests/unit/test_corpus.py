"""The benchmark's article generator is deterministic and gives what it promises."""

from __future__ import annotations

from bench.corpus import generate


def test_same_seed_same_corpus_and_a_different_seed_differs() -> None:
    first, again, other = generate(seed=4), generate(seed=4), generate(seed=5)
    assert [a.fields for a in first] == [a.fields for a in again]
    assert [a.fields for a in first] != [a.fields for a in other]


def test_background_articles_are_as_long_as_the_seeds() -> None:
    words = [len(str(a.fields["text"]).split()) for a in generate(seed=1, incidents=30, background=True)]
    assert min(words) >= 250 and max(words) <= 900
    assert sorted(words)[len(words) // 2] >= 400  # the median, like the seeds'


def test_tolls_rise_and_copies_keep_their_report_figures() -> None:
    corpus = generate(seed=2, incidents=20, max_reports=4, copy_rate=0.5, cities=5)
    by_incident: dict[str, list[int]] = {}
    for article in corpus:
        if article.kind == "report":
            by_incident.setdefault(article.incident_key, []).append(article.figures["killed"])
    assert all(tolls == sorted(tolls) for tolls in by_incident.values())
    assert any(a.kind == "copy" for a in corpus)
    cities = {a.incident.city for a in corpus if a.incident}
    assert len(cities) == 5 < len(by_incident)  # cities attacked on more than one day
