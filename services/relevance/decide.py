"""Does this article report a new attack? A fitted model's answer, with its score and evidence.

An article is a candidate only where its text names an attack (a noun, verb or weapon of
`features.ATTACK_GROUPS`); one that names none is `not_an_attack` before any weight is read.
Two decisions, one model family (multinomial logistic regression over `features.py`), weights
fitted by `bench/fit_relevance.py` on labelled real articles and committed in
`data/relevance.json` with their leave-one-event-out cross-validation report:

- `early`, on the cleaned text before the parse: only an article the model is sure is no attack
  report (its probability of `attack` under `skip_below`) is skipped, so that clear non-attack
  news never pays for spaCy; everything else goes on.
- `final`, after the parse, with what only the parse gives (a recent event day, a named
  attacker, weapons, a place): the article becomes an incident when its probability of
  `attack` reaches `attack_at`, unless its casualty counts are all statistics (a second
  candidate rule, `with_statistics_only`: a tally of a war or a year is no report of an attack).

The workers load plain weights and compute dot products: no scikit-learn at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

from services.contracts import CasualtyClaim, CleanArticle, Relevance, RelevanceOutcome, SkippedArticle, utc_now
from services.relevance.features import ATTACK_GROUPS, Features, lexical_features, names_an_attack

EVIDENCE_ITEMS = 4


@cache
def model() -> dict[str, Any]:
    return json.loads(resources.files("services.relevance").joinpath("data/relevance.json").read_text())  # type: ignore[no-any-return]


def probabilities(features: Features, weights: dict[str, dict[str, float]]) -> dict[str, float]:
    """Softmax over the outcomes of each outcome's dot product with the features."""
    scores = {
        outcome: sum(w.get(name, 0.0) * value for name, value in features.values.items())
        for outcome, w in weights.items()
    }
    top = max(scores.values())
    exp = {outcome: math.exp(score - top) for outcome, score in scores.items()}
    total = sum(exp.values())
    return {outcome: value / total for outcome, value in exp.items()}


def evidence(features: Features, weights: dict[str, dict[str, float]], outcome: str) -> list[str]:
    """The features that pushed hardest toward `outcome` against the other outcomes, with their words."""
    others = [o for o in weights if o != outcome]
    pushes = []
    for name, value in features.values.items():
        if name == "bias":
            continue
        own = weights[outcome].get(name, 0.0)
        rest = sum(weights[o].get(name, 0.0) for o in others) / max(1, len(others))
        pushes.append(((own - rest) * value, name))
    pushes.sort(reverse=True)
    said = []
    for push, name in pushes[:EVIDENCE_ITEMS]:
        if push <= 0:
            break
        words = features.words.get(name, [])
        shown = ", ".join(dict.fromkeys(words[:6]))
        said.append(f"{name} ({push:+.2f})" + (f": {shown}" if shown else ""))
    return said


def decide(features: Features, step: str) -> Relevance:
    """The `early` or `final` decision on one article's features."""
    spec = model()[step]
    weights: dict[str, dict[str, float]] = spec["weights"]
    chances = probabilities(features, weights)
    if not names_an_attack(features):  # the candidate rule: no word of an attack, no attack report
        return Relevance(
            outcome=RelevanceOutcome.NOT_AN_ATTACK,
            attack_probability=0.0,
            step=step,
            evidence=[f"no word of an attack ({', '.join(ATTACK_GROUPS)}) in the text"],
        )
    attack = chances[RelevanceOutcome.ATTACK]
    threshold = spec["skip_below"] if step == "early" else spec["attack_at"]
    if attack >= threshold:
        outcome = RelevanceOutcome.ATTACK
    else:
        outcome = RelevanceOutcome(max((o for o in chances if o != RelevanceOutcome.ATTACK), key=chances.__getitem__))
    return Relevance(
        outcome=outcome,
        attack_probability=round(attack, 4),
        step=step,
        evidence=evidence(features, weights, outcome),
    )


TOLL_CATEGORIES = ("killed", "injured")


def statistics_only(claims: Sequence[CasualtyClaim]) -> list[str]:
    """The words of the killed and injured counts when every one of them is a war-wide or period
    count ('1,200 civilians killed so far this year', 'killed since the war began'), and there is one;
    else nothing. A report of an attack gives the attack's own count, or none at all."""
    counts = [c for c in claims if c.category in TOLL_CATEGORIES]
    if not counts or any(c.scope != "statistic" for c in counts):
        return []
    return [c.words for c in counts]


def with_statistics_only(relevance: Relevance, claims: Sequence[CasualtyClaim]) -> Relevance:
    """A second candidate rule, after the weights: an article judged an attack whose casualty counts
    are all statistics is `no_specific_attack` (a UN tally, a war's toll). The development set
    has no article of the kind, so no weight could learn it; its attack reports all keep a count
    of their own or none."""
    if relevance.outcome is not RelevanceOutcome.ATTACK or not (words := statistics_only(claims)):
        return relevance
    return Relevance(
        outcome=RelevanceOutcome.NO_SPECIFIC_ATTACK,
        attack_probability=relevance.attack_probability,
        step=relevance.step,
        evidence=[f"every casualty count is a war-wide or period count: {', '.join(dict.fromkeys(words[:6]))}"],
    )


def forced() -> Relevance:
    """An operator's word that the article is an attack report (`incidentfeed skipped replay --force`)."""
    return Relevance(
        outcome=RelevanceOutcome.ATTACK, attack_probability=1.0, step="forced", evidence=["replayed with --force"]
    )


def judge_early(article: CleanArticle) -> Relevance:
    """The early decision, on the cleaned text alone."""
    return decide(
        lexical_features(article.headline, article.text, article.meta.published_at, article.body_start), "early"
    )


def pass_or_skip(article: CleanArticle) -> CleanArticle | SkippedArticle:
    """The cleaned article with its early decision, or its skip record when the decision is sure
    it reports no new attack."""
    relevance = judge_early(article)
    if relevance.outcome is RelevanceOutcome.ATTACK:
        return article.model_copy(update={"relevance": relevance})
    return skip_record(article, "cleaner", relevance)


def skip_record(article: CleanArticle, stage: Literal["cleaner", "entities"], relevance: Relevance) -> SkippedArticle:
    """What `articles.skipped` keeps of an article judged no new attack: the whole cleaned article,
    so that an operator can replay it."""
    return SkippedArticle(meta=article.meta, stage=stage, relevance=relevance, article=article, skipped_at=utc_now())
