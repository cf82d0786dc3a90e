"""Incident accuracy out of sample: the whole dedup stage run in process with weights fitted
without the event being scored (`make accuracy` reports it; `python -m bench.incidents_cv`).

`bench/fit_matcher.py` cross-validates the matcher on pairs of articles; users see incidents,
which also depend on which articles reach dedup (the relevance decision), on the vetoes and on
the order articles come in. Here, for each event of the labelled corpora:

1. the matcher is refitted without that event (`fit_matcher.fit` on the pairs of the other events),
   and the relevance decision's early and final models without it (`fit_relevance`, each
   distractor its own fold, as there);
2. every article of the corpus goes, in input order, through the same pure functions the dedup
   worker calls (`decide`, `outcome`, with the mentioned incidents first and the candidate index
   of `store.load_candidates`: one country, event days within CANDIDATE_DAYS);
3. the pairs of reports that touch the held-out event are scored against gold: a pair inside the
   event counts once; a pair with another event's report counts half here and half in that
   event's fold.

The sum over folds is the leave-one-event-out pairwise precision, recall and F1 of incidents.
The same simulation with the shipped weights and decisions is the in-sample figure, to set beside
`incidentfeed run`'s (through Redis), which it should come close to.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from bench import fit_matcher, fit_relevance
from bench.accuracy import DEFAULT_CORPORA
from bench.scoring import load_gold
from services.cleaner.clean import clean_article
from services.contracts import FiguresArticle, Rejected, RelevanceOutcome, utc_now
from services.dedup import matching
from services.dedup.cluster import (
    IncidentRecord,
    country_of,
    decide,
    evidence_of,
    mentioned_articles,
)
from services.dedup.store import CANDIDATE_DAYS, CANDIDATES, outcome
from services.entities.extract import final_relevance_features
from services.pipeline import Analysed, analyse
from services.relevance.features import lexical_features
from services.runtime.settings import Settings

Clustering = dict[str, str]
"""article id -> the main incident it ended in (articles that reached no main incident are absent)."""


@dataclass
class Corpus:
    name: str
    gold: dict[str, Any]
    analysed: list[Analysed]  # in input order; articles the cleaner refused are not here
    examples: list[dict[str, Any]]  # fit_relevance's examples, in the same order


def load(name: str, corpus: Path, gold_path: Path) -> Corpus:
    """Every labelled article of the corpus through the pure stages (one parse each), with the
    relevance features the refits need."""
    cleaned, rows_kept = [], []
    for row in fit_relevance.labelled(corpus, gold_path):
        try:
            cleaned.append(clean_article(row[1], ingested_at=utc_now(), max_bytes=200_000))
            rows_kept.append(row)
        except Rejected as refused:  # the run dead-letters it: it reaches no incident
            print(f"  {row[0]}: refused by the cleaner ({refused.reason})", file=sys.stderr)
    results = analyse(cleaned, judged=True, keep_docs=True)
    examples = []
    for row, result in zip(rows_kept, results, strict=True):
        clean = result.clean
        lexical = lexical_features(clean.headline, clean.text, clean.meta.published_at, clean.body_start)
        assert result.doc is not None
        final = final_relevance_features(clean, result.doc, result.entities, lexical)
        examples.append(
            {"id": row[0], "outcome": row[2], "fold": row[3], "kind": row[4], "place_fold": row[5],
             "early": lexical, "final": final}
        )  # fmt: skip
    return Corpus(name, load_gold(gold_path), [without_parse(r) for r in results], examples)


def without_parse(result: Analysed) -> Analysed:
    """The analysis without its parse (kept only for the relevance features): memory stays small."""
    return Analysed(result.clean, result.entities, result.figures, result.early, result.final, None)


@contextmanager
def matcher_weights(weights: dict[str, float] | None) -> Iterator[None]:
    """The dedup functions with these matcher weights in place of the shipped ones."""
    if weights is None:
        yield
        return
    shipped = matching.model
    matching.model = lambda: weights  # type: ignore[assignment]
    try:
        yield
    finally:
        matching.model = shipped


def candidates_for(records: dict[str, IncidentRecord], country: str, day: str | None) -> list[IncidentRecord]:
    """What `store.load_candidates` reads: the country's open incidents near the day (or the latest
    dated ones), and its latest undated ones."""
    here = [r for r in records.values() if r.country == country and not r.incident.merged_into]
    dated = sorted((r for r in here if r.when), key=lambda r: str(r.when), reverse=True)
    undated = [r for r in here if not r.when][-CANDIDATES:]
    if day is not None:
        middle = date.fromisoformat(day)
        dated = [r for r in dated if abs((date.fromisoformat(str(r.when)) - middle).days) <= CANDIDATE_DAYS]
    return [*dated[:CANDIDATES], *undated]


def cluster(articles: Sequence[FiguresArticle], window: timedelta) -> Clustering:
    """The dedup stage over the articles in order, in process: each report's main incident."""
    records: dict[str, IncidentRecord] = {}

    def record(article: FiguresArticle) -> None:
        evidence = evidence_of(article)
        candidates = candidates_for(records, country_of(article), evidence.date or evidence.reported)
        decision = decide(article, candidates, window, evidence)
        _, stored = outcome(article, decision, candidates).as_shown()
        records.update({r.incident_id: r for r in stored})

    for article in articles:
        for mention in mentioned_articles(article):
            record(mention)
        record(article)
    placed: Clustering = {}
    for r in records.values():
        if r.incident.merged_into or r.incident.basis == "mentioned":
            continue
        for report in r.incident.reports:
            placed[report.article_id] = r.incident_id
            for copy in report.syndicated:
                placed.setdefault(copy.article_id, r.incident_id)
    return placed


@dataclass
class PairCounts:
    true: float = 0.0
    predicted: float = 0.0
    gold: float = 0.0

    def add(self, other: PairCounts) -> None:
        self.true, self.predicted, self.gold = (
            self.true + other.true, self.predicted + other.predicted, self.gold + other.gold
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        precision = self.true / self.predicted if self.predicted else 1.0
        recall = self.true / self.gold if self.gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
                "pairs": {"true": self.true, "predicted": self.predicted, "gold": self.gold}}  # fmt: skip


def pair_counts(placed: Clustering, event_of: dict[str, str], event: str | None) -> PairCounts:
    """Pairwise counts over the gold reports, as score.py counts them; with `event`, only the pairs
    that touch it (half weight for a pair with another event's report)."""
    counts = PairCounts()
    for a, b in combinations(sorted(event_of), 2):
        touches = (event_of[a] == event) + (event_of[b] == event)
        if event is not None and not touches:
            continue
        weight = 1.0 if event is None or event_of[a] == event_of[b] else 0.5
        same_gold = event_of[a] == event_of[b]
        same_predicted = a in placed and b in placed and placed[a] == placed[b]
        counts.gold += weight * same_gold
        counts.predicted += weight * same_predicted
        counts.true += weight * (same_gold and same_predicted)
    return counts


def batch_of(event: str, event_of: dict[str, str]) -> str:
    """The batch of the set an event came in, by its reports' id prefix (the devset's `ua`/`wd`
    were its first 82 articles, `dc` the same-city series added later, the hardest to tell apart)."""
    prefixes = sorted(
        {m.group() if (m := re.match(r"[A-Za-z]+(?=\d)", a)) else "other" for a, e in event_of.items() if e == event}
    )
    return "+".join(prefixes)


def reaching_dedup(corpus: Corpus, judged_attack: Callable[[int], bool]) -> list[FiguresArticle]:
    return [a.figures for n, a in enumerate(corpus.analysed) if judged_attack(n)]


def shipped_decision(corpus: Corpus) -> Callable[[int], bool]:
    def judged(n: int) -> bool:
        a = corpus.analysed[n]
        return bool(
            a.early and a.final and a.early.outcome is RelevanceOutcome.ATTACK
            and a.final.outcome is RelevanceOutcome.ATTACK
        )  # fmt: skip

    return judged


def relevance_without(corpora: list[Corpus], corpus: Corpus, fold: str) -> Callable[[int], bool]:
    """The relevance decision on the corpus's articles with weights fitted on every corpus but
    without `fold` of this one (the thresholds are the shipped ones: they were chosen on
    out-of-sample scores)."""
    spec = json.loads(fit_relevance.MODEL_FILE.read_text())
    skip_below, attack_at = spec["early"]["skip_below"], spec["final"]["attack_at"]
    train = [e for c in corpora for e in c.examples if c is not corpus or e["fold"] != fold]
    outcomes = [e["outcome"] for e in train]
    early = fit_relevance.attack_probability(
        *fit_relevance.fit([e["early"] for e in train], outcomes), [e["early"] for e in corpus.examples]
    )
    final = fit_relevance.attack_probability(
        *fit_relevance.fit([e["final"] for e in train], outcomes), [e["final"] for e in corpus.examples]
    )
    judged = (early >= skip_below) & (final >= attack_at)
    return lambda n: bool(judged[n])


def matcher_rows(corpora: list[Corpus]) -> list[fit_matcher.Row]:
    rows: list[fit_matcher.Row] = []
    for corpus in corpora:
        evidence = {a.article_id: evidence_of(a.figures) for a in corpus.analysed}
        rows += fit_matcher.pairs(evidence, corpus.gold, corpus.name)
    return rows


def weights_without(rows: list[fit_matcher.Row], event: str | None) -> dict[str, float]:
    """Matcher weights fitted on every pair that does not touch `event` (None: on all of them)."""
    keep = np.array([event not in (r[2], r[3]) for r in rows])
    x = np.array([[*r[4], 1.0] for r in rows])[keep]
    y = np.array([r[5] for r in rows], dtype=float)[keep]
    sample = np.array([r[6] for r in rows])[keep]
    w = fit_matcher.fit(x, y, sample)
    weights = {name: float(v) for name, v in zip([*matching.FEATURES, "bias"], w, strict=True)}
    return fit_matcher.with_priors(weights, x, sample)


def measure(corpora_paths: Sequence[tuple[str, Path, Path]], progress: bool = True) -> dict[str, Any]:
    window = timedelta(hours=Settings().dedup_window_hours)
    corpora: list[Corpus] = []
    for name, path, gold in corpora_paths:
        if progress:
            print(f"incidents: parsing {name} ({path})", file=sys.stderr)
        corpora.append(load(name, path, gold))
    rows = matcher_rows(corpora)
    result: dict[str, Any] = {}
    for corpus in corpora:
        event_of = {a: key for key, members in corpus.gold["clusters"].items() for a in members}
        in_sample = cluster(reaching_dedup(corpus, shipped_decision(corpus)), window)
        refit_all = weights_without(rows, None)
        with matcher_weights(refit_all):
            refit_in_sample = cluster(reaching_dedup(corpus, shipped_decision(corpus)), window)
        variants = ("leave_one_event_out", "leave_one_event_out_matcher_only", "leave_one_event_out_relevance_only")
        totals = {v: PairCounts() for v in variants}
        by_batch: dict[str, dict[str, PairCounts]] = {v: {} for v in variants}
        events = sorted(set(event_of.values()))
        for n, event in enumerate(events, 1):
            if progress:
                print(f"\r  {corpus.name}: event {n}/{len(events)}", end="", file=sys.stderr)
            relevance = relevance_without(corpora, corpus, f"event:{event}")
            with matcher_weights(weights_without(rows, f"{corpus.name}:{event}")):
                placed = {
                    "leave_one_event_out": cluster(reaching_dedup(corpus, relevance), window),
                    "leave_one_event_out_matcher_only": cluster(
                        reaching_dedup(corpus, shipped_decision(corpus)), window
                    ),
                }
            placed["leave_one_event_out_relevance_only"] = cluster(reaching_dedup(corpus, relevance), window)
            batch = batch_of(event, event_of)
            for variant, clustering in placed.items():
                counts = pair_counts(clustering, event_of, event)
                totals[variant].add(counts)
                by_batch[variant].setdefault(batch, PairCounts()).add(counts)
        if progress:
            print(file=sys.stderr)
        result[corpus.name] = {
            "gold_events": len(events),
            "gold_reports": len(event_of),
            "in_sample_shipped": pair_counts(in_sample, event_of, None).as_dict(),
            "in_sample_matcher_refit_on_all": pair_counts(refit_in_sample, event_of, None).as_dict(),
            **{
                variant: {
                    **totals[variant].as_dict(),
                    "by_batch": {b: c.as_dict() for b, c in sorted(by_batch[variant].items())},
                }
                for variant in variants
            },
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs=3, action="append", metavar=("NAME", "CORPUS", "GOLD"))
    parser.add_argument("--out", type=Path, help="Write the report here (JSON).")
    args = parser.parse_args(argv)
    corpora = [(n, Path(c), Path(g)) for n, c, g in args.corpus] if args.corpus else [
        c for c in DEFAULT_CORPORA if c[1].exists() and c[2].exists()
    ]  # fmt: skip
    if not corpora:
        sys.exit("incidents: no labelled corpus (../shared is not here); nothing to measure")
    report = measure(corpora)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
