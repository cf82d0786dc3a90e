"""Fit the relevance decision's weights on labelled real articles (`make fit-relevance`).

    python -m bench.fit_relevance [--corpus CORPUS GOLD]...   # default: ../shared devset and seeds

Every article of the corpora is cleaned and parsed once, as the pipeline does; its features
(services/relevance/features.py) are computed for the early decision (text only) and the final
one (text and parse). Labels come from the gold: an attack report is `attack`; a distractor's
kind gives its outcome (accident, disaster, figurative and other news: `not_an_attack`; policy:
`no_specific_attack`; retrospective and trial: `retrospective`).

Two multinomial logistic regressions (scikit-learn) are fitted. Leave-one-event-out
cross-validation scores each article with weights fitted without its event (each distractor is
its own fold), and the thresholds are chosen on those out-of-sample scores: the early one skips
only where at most 1% of attack reports would be lost, the final one keeps the sum of the two
error rates lowest. The weights fitted on everything, the thresholds and the cross-validated
report go to services/relevance/data/relevance.json; the workers read plain weights from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut

from bench.accuracy import DEFAULT_CORPORA, REPO
from bench.scoring import load_gold
from services.cleaner.clean import clean_article
from services.contracts import RawArticle, Rejected, RelevanceOutcome, utc_now
from services.entities.extract import extract_entities, final_relevance_features, load_pipeline, parse_articles
from services.ingest import read_inputs
from services.relevance.features import Features, lexical_features, names_an_attack

MODEL_FILE = REPO / "services" / "relevance" / "data" / "relevance.json"
OUTCOME_OF_KIND = {
    "accident": RelevanceOutcome.NOT_AN_ATTACK,
    "disaster": RelevanceOutcome.NOT_AN_ATTACK,
    "figurative": RelevanceOutcome.NOT_AN_ATTACK,
    "other": RelevanceOutcome.NOT_AN_ATTACK,
    "policy": RelevanceOutcome.NO_SPECIFIC_ATTACK,
    "retrospective": RelevanceOutcome.RETROSPECTIVE,
    "trial": RelevanceOutcome.RETROSPECTIVE,
}
C = float(os.environ.get("RELEVANCE_C", "0.1"))
"""Inverse L2 strength: strong, since a few hundred articles must not teach one outlet's words."""
EARLY_ATTACK_LOSS = 0.01
"""The early decision may skip at most this share of the attack reports (out of sample)."""


Row = tuple[str, RawArticle, str, str, str, str]  # id, raw article, outcome, event fold, kind, place fold


def labelled(corpus: Path, gold_path: Path) -> list[Row]:
    """(article id, raw article, outcome, fold, kind, place fold) of every article the gold labels.

    The place fold holds out every event at one gold main place together (each distractor is its
    own): a same-city series shares its city's name, which a fold by event lets the fit learn."""
    gold = load_gold(gold_path)
    event_of = {a: key for key, members in gold["clusters"].items() for a in members}
    place_of = {a: str(r.get("main_location", "")).lower() for a, r in (gold.get("reports") or {}).items()}
    kinds = {a: d["kind"] for a, d in (gold.get("distractors") or {}).items()}
    rows = []
    for item in read_inputs([str(corpus)]):
        article_id = str(item.article_id)
        if article_id in event_of:
            outcome, fold, kind = RelevanceOutcome.ATTACK, f"event:{event_of[article_id]}", "attack"
            place_fold = f"place:{place_of[article_id]}" if place_of.get(article_id) else fold
        elif article_id in kinds:
            outcome, fold, kind = OUTCOME_OF_KIND[kinds[article_id]], f"article:{article_id}", kinds[article_id]
            place_fold = fold
        else:
            continue
        rows.append((article_id, RawArticle.model_validate(item.fields), str(outcome), fold, kind, place_fold))
    return rows


def featurise(rows: list[Row]) -> list[dict[str, Any]]:
    cleaned, kept = [], []
    for row in rows:
        try:
            cleaned.append(clean_article(row[1], ingested_at=utc_now(), max_bytes=200_000))
            kept.append(row)
        except Rejected as refused:
            print(f"  {row[0]}: refused by the cleaner ({refused.reason})", file=sys.stderr)
    examples = []
    for row, article, doc in zip(kept, cleaned, parse_articles(load_pipeline(), cleaned), strict=True):
        entities = extract_entities(article, doc)
        lexical = lexical_features(article.headline, article.text, article.meta.published_at, article.body_start)
        final = final_relevance_features(article, doc, entities, lexical)
        examples.append(
            {
                "id": row[0],
                "outcome": row[2],
                "fold": row[3],
                "kind": row[4],
                "place_fold": row[5],
                "early": lexical,
                "final": final,
            }
        )
    return examples


def fit(features: list[Features], outcomes: list[str]) -> tuple[DictVectorizer, LogisticRegression]:
    vectorizer = DictVectorizer(sparse=False)
    x = vectorizer.fit_transform([f.values for f in features])
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(x, outcomes)
    return vectorizer, model


def attack_probability(vectorizer: DictVectorizer, model: LogisticRegression, features: list[Features]) -> np.ndarray:
    x = vectorizer.transform([f.values for f in features])
    column = list(model.classes_).index(RelevanceOutcome.ATTACK)
    candidates = np.array([names_an_attack(f) for f in features], dtype=float)  # decide.py's candidate rule
    return np.asarray(model.predict_proba(x)[:, column]) * candidates


def cross_validated(examples: list[dict[str, Any]], step: str, fold: str = "fold") -> np.ndarray:
    """Each article's probability of `attack` from weights fitted without its fold (`fold`: by
    event, or `place_fold`: every event at its place)."""
    folds = [e[fold] for e in examples]
    out = np.zeros(len(examples))
    for train, test in LeaveOneGroupOut().split(examples, groups=folds):
        vectorizer, model = fit([examples[i][step] for i in train], [examples[i]["outcome"] for i in train])
        out[test] = attack_probability(vectorizer, model, [examples[i][step] for i in test])
    return out


def weights_of(vectorizer: DictVectorizer, model: LogisticRegression) -> dict[str, dict[str, float]]:
    names = vectorizer.get_feature_names_out()
    coefficients = model.coef_
    weights = {}
    for k, outcome in enumerate(model.classes_):
        row = {str(n): round(float(w), 5) for n, w in zip(names, coefficients[k], strict=True) if abs(w) > 1e-6}
        row["bias"] = round(row.get("bias", 0.0) + float(model.intercept_[k]), 5)
        weights[str(outcome)] = row
    return weights


def choose_early_threshold(p: np.ndarray, is_attack: np.ndarray) -> float:
    """The highest threshold that skips at most EARLY_ATTACK_LOSS of the attack reports."""
    allowed = int(EARLY_ATTACK_LOSS * is_attack.sum())
    attacks = np.sort(p[is_attack])
    return float(attacks[allowed]) if allowed < len(attacks) else 0.5


def choose_final_threshold(p: np.ndarray, is_attack: np.ndarray, passed: np.ndarray) -> float:
    best, chosen = None, 0.5
    for threshold in np.linspace(0.05, 0.95, 91):
        judged_attack = passed & (p >= threshold)
        missed = (is_attack & ~judged_attack).sum() / max(1, is_attack.sum())
        false = (~is_attack & judged_attack).sum() / max(1, (~is_attack).sum())
        cost = missed + false
        if best is None or cost < best - 1e-9:
            best, chosen = cost, float(round(threshold, 2))
    return chosen


def report(
    examples: list[dict[str, Any]], early: np.ndarray, final: np.ndarray, skip_below: float, attack_at: float
) -> dict[str, Any]:
    is_attack = np.array([e["outcome"] == RelevanceOutcome.ATTACK for e in examples])
    passed = early >= skip_below
    judged = passed & (final >= attack_at)
    by_kind: dict[str, Counter[str]] = {}
    for e, p, j in zip(examples, passed, judged, strict=True):
        by_kind.setdefault(e["kind"], Counter())[
            "attack" if j else ("skipped_early" if not p else "skipped_final")
        ] += 1
    distractors = ~is_attack
    return {
        "articles": len(examples),
        "attack_reports": int(is_attack.sum()),
        "distractors": int(distractors.sum()),
        "attack_reports_judged_otherwise": round(float((is_attack & ~judged).sum() / is_attack.sum()), 3),
        "distractors_judged_attack": round(float((distractors & judged).sum() / max(1, distractors.sum())), 3),
        "precision_of_attack": round(float((is_attack & judged).sum() / max(1, judged.sum())), 3),
        "recall_of_attack": round(float((is_attack & judged).sum() / is_attack.sum()), 3),
        "skipped_before_the_parse": {
            "distractors": round(float((distractors & ~passed).sum() / max(1, distractors.sum())), 3),
            "attack_reports": round(float((is_attack & ~passed).sum() / is_attack.sum()), 3),
        },
        "by_kind": {kind: dict(counts) for kind, counts in sorted(by_kind.items())},
        "missed_attack_reports": [
            e["id"] for e, j in zip(examples, judged, strict=True) if e["outcome"] == "attack" and not j
        ],
        "distractors_passed": [
            e["id"] for e, j in zip(examples, judged, strict=True) if e["outcome"] != "attack" and j
        ],
    }


@dataclass
class Measured:
    """The cross-validated and in-sample reports, the thresholds and the models fitted on everything."""

    leave_one_event_out: dict[str, Any]
    in_sample: dict[str, Any]
    leave_one_place_out: dict[str, Any]
    skip_below: float
    attack_at: float
    fitted: dict[str, tuple[DictVectorizer, LogisticRegression]]


def measure(corpora: list[tuple[Path, Path]]) -> Measured:
    rows = [row for corpus, gold in corpora for row in labelled(corpus, gold)]
    print(f"relevance: {len(rows)} labelled articles: {dict(Counter(r[2] for r in rows))}", file=sys.stderr)
    examples = featurise(rows)
    is_attack = np.array([e["outcome"] == RelevanceOutcome.ATTACK for e in examples])
    early = cross_validated(examples, "early")
    final = cross_validated(examples, "final")
    skip_below = choose_early_threshold(early, is_attack)
    attack_at = choose_final_threshold(final, is_attack, early >= skip_below)
    outcomes = [e["outcome"] for e in examples]
    fitted = {step: fit([e[step] for e in examples], outcomes) for step in ("early", "final")}
    in_sample = report(
        examples,
        attack_probability(*fitted["early"], [e["early"] for e in examples]),
        attack_probability(*fitted["final"], [e["final"] for e in examples]),
        skip_below,
        attack_at,
    )
    by_place = report(  # the same thresholds, on scores of fits that never saw the article's place
        examples,
        cross_validated(examples, "early", "place_fold"),
        cross_validated(examples, "final", "place_fold"),
        skip_below,
        attack_at,
    )
    return Measured(
        report(examples, early, final, skip_below, attack_at), in_sample, by_place, skip_below, attack_at, fitted
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs=2, action="append", type=Path, metavar=("CORPUS", "GOLD"))
    parser.add_argument("--dry-run", action="store_true", help="Report the cross-validation; write nothing.")
    args = parser.parse_args(argv)
    corpora = args.corpus or [(c, g) for _, c, g in DEFAULT_CORPORA if c.exists() and g.exists()]
    if not corpora:
        parser.error("no labelled corpus found; name one with --corpus CORPUS GOLD")
    measured = measure(corpora)
    print(
        json.dumps(
            {
                "leave_one_event_out": measured.leave_one_event_out,
                "leave_one_place_out": measured.leave_one_place_out,
                "in_sample": measured.in_sample,
            },
            indent=1,
        )
    )
    if args.dry_run:
        return
    document = {
        "about": "Relevance decision weights: multinomial logistic regression over services/relevance/features.py, "
        "fitted by bench/fit_relevance.py on the corpora named here. 'leave_one_event_out' scores each article "
        "with weights fitted without its event (each distractor its own fold); the thresholds were chosen on "
        "those scores.",
        "corpora": [os.path.relpath(c, REPO) for c, _ in corpora],
        "C": C,
        "early": {"skip_below": round(measured.skip_below, 4), "weights": weights_of(*measured.fitted["early"])},
        "final": {"attack_at": measured.attack_at, "weights": weights_of(*measured.fitted["final"])},
        "leave_one_event_out": measured.leave_one_event_out,
        "leave_one_place_out": measured.leave_one_place_out,
        "in_sample": measured.in_sample,
    }
    MODEL_FILE.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {MODEL_FILE.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
