"""The main place's chooser: a fitted ranker picks where the attack was among the candidate places.

The passes of locations.py propose: every place the article names that the gazetteer or the text
makes a place, with its weights (lead, attack sentences, object of an attack word), its kind,
its mentions, whether it is foreign to the story, and the hand-written rule's pick (the best
scored town, or a smaller place inside it). Which of them an analyst gives as the place of the
attack (the town, not the district of it the text also names; the scene, not the capital that
reacted) is a choice a logistic regression fitted by `bench/fit_places.py` on labelled real
articles makes: each candidate's features get a score, and the highest wins.

Weights and the leave-one-event-out cross-validation report are in data/place_ranker.json; the
workers compute dot products, no scikit-learn at run time. Without that file, the rule's pick stands.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

KINDS = ("village", "city", "district", "region", "country", "other")


@cache
def model() -> dict[str, Any] | None:
    """The fitted weights and their report, or None where none were fitted."""
    path = resources.files("services.entities").joinpath("data/place_ranker.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in features.items()) + weights.get("bias", 0.0)


def ranked_first(features: list[dict[str, float]], rule: int) -> int:
    """The index of the candidate the fitted weights score highest (the rule's `rule` without weights)."""
    fitted = model()
    if fitted is None or not features:
        return rule
    scores = [score(f, fitted["weights"]) for f in features]
    return max(range(len(features)), key=lambda i: (scores[i], i == rule))
