"""Pass 5's chooser: a fitted ranker picks each headline figure among the claims the passes read.

The passes (reading, attribution, scope) propose: every number that counts casualties, with its
status. Which of them is the toll an analyst would publish is a choice the hand-written rule
("the latest update, else the highest credible figure") got wrong on articles it was not written
for: a missed statistic or a party's claim becomes the largest number in the text. So the
choice is a model's: each candidate claim of a category gets features (its status, where it
stands, its qualifier, its speaker's kind, its clause's words, its size beside the other
candidates, how often the article repeats it), a logistic
regression fitted by `bench/fit_headline.py` on labelled real articles scores it, and the value
whose best candidate scores highest is the figure, unless no candidate reaches the fitted
threshold ("none of these": an article without a toll gets none).

Weights and the leave-one-event-out cross-validation report are in data/headline.json; the
workers compute dot products, no scikit-learn at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from statistics import median
from typing import Any

from services.contracts import CasualtyClaim

POOLS: dict[str, Callable[[CasualtyClaim], bool]] = {
    "killed": lambda c: c.category == "killed",
    "injured": lambda c: c.category in ("injured", "hospitalized"),
    "children_killed": lambda c: c.category == "killed" and c.group == "children",
}
"""The figures the ranker chooses (those the labelled articles give), each with the claims that
could count it. The others (children_injured, hospitalized, missing) are the rule's."""

CLAUSE_WORDS = {
    "since": ("since", "began", "beginning", "start", "outbreak", "invasion"),
    "total": ("total", "overall", "cumulative", "altogether", "combined", "tally"),
    "period": ("year", "years", "month", "months", "week", "weeks", "war", "conflict", "so far"),
    "toll": ("toll", "number", "rose", "risen", "climbed", "increased", "reached", "updated"),
    "early": ("initially", "earlier", "initial", "previously", "first reports"),
    "combatant": ("soldiers", "troops", "militants", "fighters", "servicemen", "terrorists", "officers", "personnel"),
    "mixed": ("casualties", "victims"),
    "other_incident": (
        "ago",
        "last month",
        "last year",
        "previous",
        "weeks after",
        "days after",
        "months after",
        "earlier this",
        "the same square",
        "separate",
    ),
    "this_attack": (
        "in the attack",
        "in the strike",
        "in the bombing",
        "in the blast",
        "in the explosion",
        "in the shelling",
        "the attack",
        "the strike",
    ),
}
"""Words in the claim's sentence that tell a toll from a count of something else (issue #22's list)."""

SPEAKER_KINDS = {
    "official": ("ministry", "minister", "governor", "mayor", "administration", "official", "president", "authorit",
                 "police", "prosecutor", "head", "council", "government"),
    "rescue": ("emergency", "rescue", "civil defence", "civil defense", "fire", "service"),
    "medical": ("health", "hospital", "medic", "doctor", "red crescent", "red cross"),
    "military": ("army", "military", "forces", "idf", "defence", "defense", "command", "brigade"),
    "monitor": ("united nations", "un ", "observatory", "monitor", "human rights", "ocha", "agency"),
}  # fmt: skip
"""Who states the figure, by the kind of speaker."""

_WORD = re.compile(r"[a-z]+")
LEAD_CHARS = 400
"""The lead: the first characters after the headline, where a news story gives its toll."""


def pool_of(claims: list[CasualtyClaim], figure: str) -> list[CasualtyClaim]:
    """The candidate claims for a headline figure: those that count it with a value and could be
    a toll by definition. Never a party's claim, a statistic, another incident's figure, a vague
    amount or a part of a toll: the passes judge that, with their reason on the claim, and the
    feed promises it ('dozens' is no toll, 'two more died' counts only the latest dead). Leaving
    them in was no better out of sample (2026-11-30: 286 against 285 of 312 figures right).
    A superseded count stays a candidate: it is the latest of its kind where nothing replaced it."""
    takes = POOLS[figure]
    return [
        c for c in claims if c.value and takes(c) and c.scope == "main" and not (c.vague or c.partial or c.disputed)
    ]


def candidate_features(claim: CasualtyClaim, pool: list[CasualtyClaim], headline_end: int) -> dict[str, float]:
    """What the ranker weighs for one candidate, beside the others of its pool."""
    value = claim.value or 0
    values = [c.value or 0 for c in pool]
    top, middle = max(values), median(values)
    in_body = [c for c in pool if c.raw_start >= headline_end] or pool
    order = sorted({c.raw_start for c in in_body})
    features: dict[str, float] = {
        "bias": 1.0,
        f"qualifier={claim.qualifier}": 1.0,
        f"category={claim.category}": 1.0,
        "children": float(claim.group == "children"),
        "superseded": float(claim.superseded),
        "update": float(claim.update),
        "in_headline": float(claim.raw_start < headline_end),
        "first_in_body": float(claim.raw_start >= headline_end and claim.raw_start == order[0]),
        "body_rank": math.log1p(order.index(claim.raw_start)) if claim.raw_start in order else 0.0,
        "log_value": math.log10(1 + value),
        "largest": float(value == top),
        "smallest": float(value == min(values)),
        "below_largest": math.log10(1 + top) - math.log10(1 + value),
        "above_median": max(0.0, math.log10(1 + value) - math.log10(1 + middle)),
        "thousands": float(value >= 1000),
        "round": float(value >= 100 and value % 50 == 0),
        "repeated": float(min(sum(1 for v in values if v == value), 4) - 1),
        "sole_candidate": float(len({*values}) == 1),
        "largest_alone": float(value == top and values.count(value) == 1 and len({*values}) > 1),
        "headline_only": float(all(c.raw_start < headline_end for c in pool if c.value == value)),
        "also_in_headline": float(
            claim.raw_start >= headline_end and any(c.raw_start < headline_end for c in pool if c.value == value)
        ),
        "in_lead": float(0 <= claim.raw_start - headline_end < LEAD_CHARS),
        "no_speaker": float(not claim.claimed_by),
    }
    sentence = claim.quote.lower()
    words = set(_WORD.findall(sentence))
    for name, cues in CLAUSE_WORDS.items():
        if any((cue in sentence) if " " in cue else (cue in words) for cue in cues):
            features[f"clause={name}"] = 1.0
    speaker = f"{claim.claimed_by or ''} ".lower()
    for kind, cues in SPEAKER_KINDS.items():
        if any(cue in speaker for cue in cues):
            features[f"speaker={kind}"] = 1.0
    return features


@cache
def model() -> dict[str, Any]:
    return json.loads(resources.files("services.casualties").joinpath("data/headline.json").read_text())  # type: ignore[no-any-return]


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    """The fitted probability that this candidate is the figure an analyst would publish."""
    z = sum(weights.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def ranked(claims: list[CasualtyClaim], figure: str, headline_end: int) -> list[tuple[float, CasualtyClaim]]:
    """Each candidate for `figure`, with its score, best first."""
    pool = pool_of(claims, figure)
    weights = model()["weights"]
    scored = [(score(candidate_features(c, pool, headline_end), weights), c) for c in pool]
    return sorted(scored, key=lambda pair: (-pair[0], pair[1].raw_start))


def chosen(claims: list[CasualtyClaim], figure: str, headline_end: int) -> CasualtyClaim | None:
    """The best candidate when it reaches the fitted threshold; else none."""
    best = ranked(claims, figure, headline_end)
    if not best or best[0][0] < model()["threshold"]:
        return None
    return best[0][1]
