"""Fit the incident matcher's weights on labelled real articles (`make fit-matcher`).

    python -m bench.fit_matcher [--corpus CORPUS GOLD]...   # default: ../shared devset and seeds

Runs each article through the pure stages (cleaner, entities, casualties), takes every pair of
articles, computes the matcher's features (services/dedup/matching.py), and fits an L2-regularised
logistic regression by Newton's method. Leave-one-event-out cross-validation scores each pair
with weights fitted without the events of its two articles, so the probabilities it reports
(calibration, precision and recall at 0.5) are those of events the fit never saw. Writes the
weights fitted on everything to services/dedup/data/matcher.json with those numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from bench.accuracy import DEFAULT_CORPORA, REPO
from bench.scoring import load_gold
from services.cleaner.clean import clean_article
from services.contracts import RawArticle, Rejected, utc_now
from services.dedup.cluster import ReportEvidence, evidence_of
from services.dedup.matching import FEATURES, features, signals
from services.ingest import read_inputs
from services.pipeline import analyse

MODEL_FILE = Path(__file__).resolve().parent.parent / "services" / "dedup" / "data" / "matcher.json"
L2 = 1.0
PRIORS = {"day_apart": -3.0}
"""Weights the corpora cannot teach: two reports of one city whose event days are two apart are,
in a war, as often two attacks as one; the devset has 2 such pairs, both of one event through a
wrong day, so a fit leaves the feature near 0; an analyst counts it heavily against."""
PRIOR_MIN_PAIRS = 10
"""A prior stands while fewer real pairs than this have its feature."""


def with_priors(weights: dict[str, float], x: np.ndarray, sample: np.ndarray) -> dict[str, float]:
    """The fitted weights, with PRIORS in place of those of features too few real pairs have."""
    for name, prior in PRIORS.items():
        column = x[:, FEATURES.index(name)]
        if int(((column != 0) & (sample == 1.0)).sum()) < PRIOR_MIN_PAIRS:
            weights[name] = prior
    return weights


HARD_NEGATIVE_SHARE = float(os.environ.get("HARD_NEGATIVE_SHARE", "0.15"))
"""The made-up hard negatives weigh together this share of the real pairs of one event."""


def evidence_for(corpus: Path) -> dict[str, ReportEvidence]:
    cleaned = []
    for item in read_inputs([str(corpus)]):
        try:
            cleaned.append(
                clean_article(RawArticle.model_validate(item.fields), ingested_at=utc_now(), max_bytes=200_000)
            )
        except (Rejected, ValueError) as refused:
            print(f"  {item.article_id}: refused ({refused})", file=sys.stderr)
    return {analysed.article_id: evidence_of(analysed.figures) for analysed in analyse(cleaned)}


Row = tuple[str, str, str, str, list[float], int, float]  # a, b, event of a, of b, features, same event, weight


def pairs(evidence: dict[str, ReportEvidence], gold: dict[str, Any], prefix: str) -> list[Row]:
    """Every pair of labelled articles, and the hard negatives made from them.

    A development set of a few outlets per event has few pairs of other events at one place, so a
    fit on it alone learns that one place means one event. Each pair of different events in one
    country therefore also counts as if both had been at the same place, with its own text, days
    and figures: 'the same city on another day' (two towns far apart, a veto as they are, are
    made such a pair too). These weigh together a share (HARD_NEGATIVE_SHARE)
    of the real pairs of one event, so that the fit leans on what reports say, not only where."""
    event_of = {a: f"{prefix}:{key}" for key, members in gold["clusters"].items() for a in members}
    rows: list[Row] = []
    hard: list[Row] = []
    for a, b in combinations(sorted(a for a in evidence if a in event_of), 2):
        s = signals(evidence[a], evidence[b])
        same = int(event_of[a] == event_of[b])
        if not same and s.place in ("near", "country", "other_town"):
            moved = replace(s, place="same", km=0.0)
            if not moved.vetoed:
                hard.append((a, b, event_of[a], event_of[b], features(moved), 0, 1.0))
        if s.vetoed:
            continue  # vetoes decide alone; the weights learn from the rest
        rows.append((a, b, event_of[a], event_of[b], features(s), same, 1.0))
    positives = sum(r[5] for r in rows)
    weight = HARD_NEGATIVE_SHARE * positives / len(hard) if hard else 0.0
    return rows + [(*r[:6], weight) for r in hard]


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float = L2) -> np.ndarray:
    """Weighted logistic regression by Newton's method; the bias (last column) is not penalised."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (weights * (p - y)) + penalty * w
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def at_half(p: np.ndarray, y: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Precision and recall of 'same event' at p >= 0.5, over the real pairs."""
    predicted = (p >= 0.5) & real
    tp = int((predicted & (y == 1)).sum())
    return {"precision_at_0.5": round(tp / max(1, int(predicted.sum())), 3),
            "recall_at_0.5": round(tp / max(1, int(y[real].sum())), 3)}  # fmt: skip


def measure(corpora: list[tuple[str, Path, Path]]) -> dict[str, Any]:
    """The matcher refitted on the corpora's pairs, leave-one-event-out, beside the shipped weights on
    the same pairs; and the weights fitted on everything."""
    rows = []
    for name, corpus, gold in corpora:
        print(f"{name}: parsing {corpus}", file=sys.stderr)
        rows += pairs(evidence_for(corpus), load_gold(gold), name)
    x = np.array([[*r[4], 1.0] for r in rows])
    y = np.array([r[5] for r in rows], dtype=float)
    sample = np.array([r[6] for r in rows])
    real = sample == 1.0  # the metrics are of real pairs only
    events = sorted({r[2] for r in rows} | {r[3] for r in rows})
    held_out = np.zeros(len(rows))
    for event in events:
        out = np.array([event in (r[2], r[3]) for r in rows])
        if out.all() or not out.any():
            continue
        w = fit(x[~out], y[~out], sample[~out])
        held_out[out] = 1 / (1 + np.exp(-(x[out] @ w)))
    hard = ~real
    hard_rejected = float((held_out[hard] < 0.5).mean()) if hard.any() else None
    ll = y * np.log(held_out + 1e-9) + (1 - y) * np.log(1 - held_out + 1e-9)
    loss = -float(np.mean(ll[real]))
    w = fit(x, y, sample)
    weights = {name: round(float(v), 4) for name, v in zip([*FEATURES, "bias"], w, strict=True)}
    weights = with_priors(weights, x, sample)
    calibration = []
    for low in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9):
        high = {0.0: 0.1, 0.1: 0.3, 0.3: 0.5, 0.5: 0.7, 0.7: 0.9, 0.9: 1.01}[low]
        band = (held_out >= low) & (held_out < high) & real
        if band.any():
            calibration.append({"predicted": f"{low:.1f}-{min(high, 1):.1f}", "pairs": int(band.sum()),
                                "same_event": round(float(y[band].mean()), 3)})  # fmt: skip
    shipped = json.loads(MODEL_FILE.read_text())["weights"]
    shipped_w = np.array([shipped.get(name, 0.0) for name in [*FEATURES, "bias"]])
    return {
        "corpora": [os.path.relpath(c, REPO) for _, c, _ in corpora],
        "pairs": int(real.sum()),
        "same_event_pairs": int(y[real].sum()),
        "hard_negatives": int(hard.sum()),
        "leave_one_event_out": {
            "hard_negatives_kept_apart": round(hard_rejected, 3) if hard_rejected is not None else None,
            **at_half(held_out, y, real),
            "log_loss": round(loss, 4),
            "calibration": calibration,
        },
        "shipped_weights": at_half(1 / (1 + np.exp(-(x @ shipped_w))), y, real),
        "weights": weights,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs=2, action="append", metavar=("CORPUS", "GOLD"), type=Path)
    parser.add_argument("--dry-run", action="store_true", help="Report the cross-validation; write nothing.")
    args = parser.parse_args(argv)
    corpora = [(c.stem, c, g) for c, g in args.corpus] if args.corpus else [
        (n, c, g) for n, c, g in DEFAULT_CORPORA if c.exists() and g.exists()
    ]  # fmt: skip
    if not corpora:
        parser.error("no labelled corpus found; name one with --corpus CORPUS GOLD")
    measured = measure(corpora)
    print(json.dumps({k: v for k, v in measured.items() if k != "weights"}, indent=1))
    if args.dry_run:
        return
    report = {
        "about": "Incident matcher weights: logistic regression over services/dedup/matching.py FEATURES, fitted by "
        "bench/fit_matcher.py on every non-vetoed pair of articles of the corpora named here. 'leave_one_event_out' "
        "scores each pair with weights fitted without its events.",
        **{k: v for k, v in measured.items() if k != "shipped_weights"},
    }
    MODEL_FILE.write_text(json.dumps(report, indent=1) + "\n")
    if not math.isfinite(measured["leave_one_event_out"]["log_loss"]):
        raise SystemExit("the fit did not converge")


if __name__ == "__main__":
    main()
