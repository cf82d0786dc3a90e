"""Accuracy guards, measured as `make accuracy` measures it: `incidentfeed run` over real articles
by outside outlets (../shared/devset) and over the seeds, scored against their hand-made gold.

The floors sit a little under what the pipeline reaches today (README, Accuracy), so that a change
that loses accuracy on real text fails here. They skip where ../shared is absent. The seeds' run
is scored in tests/e2e/test_pipeline.py, beside its other checks."""

from __future__ import annotations

from typing import Any

import pytest

from bench.accuracy import DEFAULT_CORPORA, measure

CORPORA = {name: (corpus, gold) for name, corpus, gold in DEFAULT_CORPORA}


def accuracy(name: str, redis_url: str) -> dict[str, Any]:
    corpus, gold = CORPORA[name]
    if not (corpus.exists() and gold.exists()):
        pytest.skip(f"{corpus} is not here (the labelled corpora live outside the repository)")
    return measure(name, corpus, gold, redis_url)


@pytest.mark.slow
def test_real_articles_keep_their_incidents_places_and_figures(redis_url: str) -> None:
    result = accuracy("devset", redis_url)
    assert result["articles_in_feed"] == "82/82"  # nothing lost on the way
    assert result["pairwise"]["precision"] >= 0.95, result["glued"]
    assert result["pairwise"]["f1"] >= 0.93, result["split"]
    assert result["bcubed_f1"] >= 0.95
    assert result["location_accuracy"] >= 0.96, result["misses"]
    assert result["figures_value_accuracy"] >= 0.95, result["misses"]
    assert result["figures_value_and_qualifier_accuracy"] >= 0.93, result["misses"]
    right, total = map(int, result["figures_by_category"]["children_killed"].split("/"))
    assert right / total >= 0.9, result["misses"]
