"""Fit the main-place ranker on labelled real articles (`make fit-places`).

    python -m bench.fit_places [--corpus CORPUS GOLD]... [--dry-run]   # default: ../shared devset and seeds

Every attack report of the corpora goes through the cleaner and the entity stage in process, as
the pipeline runs them; each candidate place the entity stage proposes (services/entities/
locations.py, `place_candidates`) becomes a row with its features, labelled by whether it is the
gold's main place (or one of its alternatives), as the scorer compares names. A logistic
regression (scikit-learn) is fitted on the rows, and each article's main place is its best-scored
candidate. Leave-one-event-out cross-validation picks each article's place with weights fitted
without its event, beside the hand-written rule's pick on the same articles. The weights fitted on
everything and the cross-validated report go to services/entities/data/place_ranker.json, unless
the ranker does worse out of sample than the rule (then nothing is written, and the rule stands).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut

from bench.accuracy import DEFAULT_CORPORA, REPO
from bench.scoring import labelled_reports, same_place
from services.cleaner.clean import clean_article
from services.contracts import Rejected, utc_now
from services.entities.extract import dateline_span
from services.entities.locations import place_candidates
from services.pipeline import analyse

MODEL_FILE = REPO / "services" / "entities" / "data" / "place_ranker.json"
C = float(os.environ.get("PLACES_C", "1"))
"""Inverse L2 strength (see the report in the model file for what was tried)."""


@dataclass
class Choice:
    """One article's main place: its candidates' names and features, the rule's pick and the gold."""

    article: str
    event: str
    names: list[str]
    features: list[dict[str, float]]
    rule: int | None
    gold: list[str]

    def right(self, picked: int | None) -> bool:
        return picked is not None and any(same_place(self.names[picked], g) for g in self.gold)


def choices_of(corpora: list[tuple[Path, Path]]) -> list[Choice]:
    choices = []
    for corpus, gold_path in corpora:
        reports, cleaned = [], []
        for report in labelled_reports(corpus, gold_path):
            if not report.gold.get("main_location"):
                continue
            try:
                cleaned.append(clean_article(report.raw, ingested_at=utc_now(), max_bytes=10**6))
                reports.append(report)
            except Rejected as refused:
                print(f"  {report.article_id}: refused by the cleaner ({refused.reason})", file=sys.stderr)
        for report, analysed in zip(reports, analyse(cleaned, keep_docs=True), strict=True):
            assert analysed.doc is not None
            proposed = place_candidates(analysed.doc, dateline_span(analysed.clean))
            choices.append(
                Choice(
                    article=report.article_id,
                    event=report.event,
                    names=[c.place.name for c in proposed.candidates],
                    features=[c.features for c in proposed.candidates],
                    rule=proposed.rule,
                    gold=[report.gold["main_location"], *(report.gold.get("alt_locations") or [])],
                )
            )
    return choices


def fit(choices: list[Choice]) -> tuple[DictVectorizer, LogisticRegression]:
    rows = [(f, c.right(i)) for c in choices for i, f in enumerate(c.features)]
    vectorizer = DictVectorizer(sparse=False)
    x = vectorizer.fit_transform([f for f, _ in rows])
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(x, [label for _, label in rows])
    return vectorizer, model


def picks(vectorizer: DictVectorizer, model: LogisticRegression, choices: list[Choice]) -> list[int | None]:
    out: list[int | None] = []
    for c in choices:
        if not c.features:
            out.append(None)
            continue
        scores = model.decision_function(vectorizer.transform(c.features))
        out.append(int(np.argmax(scores)))
    return out


def cross_validated(choices: list[Choice]) -> list[int | None]:
    out: list[int | None] = [None] * len(choices)
    for train, test in LeaveOneGroupOut().split(choices, groups=[c.event for c in choices]):
        vectorizer, model = fit([choices[i] for i in train])
        for i, picked in zip(test, picks(vectorizer, model, [choices[i] for i in test]), strict=True):
            out[i] = picked
    return out


def weights_of(vectorizer: DictVectorizer, model: LogisticRegression) -> dict[str, float]:
    names = vectorizer.get_feature_names_out()
    weights = {str(n): round(float(w), 6) for n, w in zip(names, model.coef_[0], strict=True) if abs(w) > 1e-6}
    weights["bias"] = round(float(model.intercept_[0]), 6)
    return weights


def accuracy(choices: list[Choice], picked: list[int | None]) -> dict[str, Any]:
    right = sum(c.right(p) for c, p in zip(choices, picked, strict=True))
    return {"right": f"{right}/{len(choices)}", "accuracy": round(right / len(choices), 3) if choices else None}


def measure(corpora: list[tuple[Path, Path]]) -> dict[str, Any]:
    choices = choices_of(corpora)
    held_out = cross_validated(choices)
    vectorizer, model = fit(choices)
    in_sample = picks(vectorizer, model, choices)
    reachable = [c for c in choices if any(c.right(i) for i in range(len(c.names)))]
    report = {
        "articles": len(choices),
        "gold_among_candidates": len(reachable),
        "rule": accuracy(choices, [c.rule for c in choices]),
        "ranker_leave_one_event_out": accuracy(choices, held_out),
        "ranker_in_sample": accuracy(choices, in_sample),
        "misses_out_of_sample": [
            f"{c.article}: {c.names[p] if p is not None else None!r}, gold {c.gold[0]!r}"
            for c, p in zip(choices, held_out, strict=True)
            if not c.right(p)
        ],
    }
    return {"report": report, "weights": weights_of(vectorizer, model)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs=2, action="append", type=Path, metavar=("CORPUS", "GOLD"))
    parser.add_argument("--dry-run", action="store_true", help="Report the cross-validation; write nothing.")
    args = parser.parse_args(argv)
    corpora = [(Path(c), Path(g)) for c, g in args.corpus] if args.corpus else [(c, g) for _, c, g in DEFAULT_CORPORA]
    corpora = [(c, g) for c, g in corpora if c.exists() and g.exists()]
    if not corpora:
        sys.exit("no labelled corpus here (../shared/devset, ../shared/seeds): nothing to fit on")
    measured = measure(corpora)
    report = measured["report"]
    for name in ("rule", "ranker_leave_one_event_out", "ranker_in_sample"):
        print(f"{name:28} {report[name]['right']:>9} {report[name]['accuracy']}")
    print(f"gold among the candidates: {report['gold_among_candidates']}/{report['articles']}")
    for miss in report["misses_out_of_sample"]:
        print("  miss", miss)
    rule_right = int(report["rule"]["right"].split("/")[0])
    ranker_right = int(report["ranker_leave_one_event_out"]["right"].split("/")[0])
    if args.dry_run:
        return
    if ranker_right < rule_right:
        print("the ranker does worse out of sample than the rule: nothing written, the rule stands")
        return
    document = {
        "about": "Main-place ranker (services/entities/place_ranking.py), fitted by bench/fit_places.py: "
        "logistic regression over candidate places; the best-scored candidate is the main place.",
        "C": C,
        "corpora": [[os.path.relpath(p, REPO) for p in c] for c in corpora],
        "cross_validation": report,
        "weights": measured["weights"],
    }
    MODEL_FILE.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {MODEL_FILE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
