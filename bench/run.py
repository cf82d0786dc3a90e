"""`make bench`, first cut: each stage's own cost per article, measured in one run.

Runs the pure stage functions over the bundled examples and, where present, the seeds
(../shared/seeds), several rounds, and reports articles per second per stage and each
stage's cost relative to the spaCy parse. Results go to bench/results/<date>.json.
The pipeline-over-Redis numbers and the corpus generator are issue 8's work.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.casualties.figures import figures_for
from services.cleaner.clean import clean_article
from services.contracts import RawArticle, Rejected, utc_now
from services.dedup.cluster import IncidentRecord, apply, decide
from services.entities.extract import extract_entities, load_pipeline, parse_articles
from services.ingest import read_inputs

ROUNDS = 5
REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    sources = [str(REPO / "examples")]
    seeds = REPO.parent / "shared" / "seeds"
    if seeds.is_dir():
        sources.append(str(seeds))
    raws = []
    for item in read_inputs(sources):
        try:
            raws.append(RawArticle.model_validate(item.fields))
        except ValueError:
            continue
    nlp = load_pipeline()
    timings = {"clean": 0.0, "spacy_parse": 0.0, "entities_after_parse": 0.0, "casualties": 0.0, "dedup_decide": 0.0}
    articles = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        cleaned = []
        for raw in raws:
            with contextlib.suppress(Rejected):
                cleaned.append(clean_article(raw, ingested_at=utc_now(), max_bytes=200_000))
        timings["clean"] += time.perf_counter() - start
        start = time.perf_counter()
        docs = parse_articles(nlp, cleaned)
        timings["spacy_parse"] += time.perf_counter() - start
        start = time.perf_counter()
        entities = [extract_entities(a, d) for a, d in zip(cleaned, docs, strict=True)]
        timings["entities_after_parse"] += time.perf_counter() - start
        start = time.perf_counter()
        figures = [figures_for(e) for e in entities]
        timings["casualties"] += time.perf_counter() - start
        start = time.perf_counter()
        records: dict[str, IncidentRecord] = {}
        for article in figures:
            decision = decide(article, list(records.values()), timedelta(hours=72))
            applied = apply(article, decision, records.get(decision.incident_id))
            if applied is not None:
                records[applied.record.incident_id] = applied.record
        timings["dedup_decide"] += time.perf_counter() - start
        articles += len(cleaned)
    parse = timings["spacy_parse"]
    rows = {
        stage: {
            "articles_per_s": round(articles / seconds, 1),
            "ms_per_article": round(1000 * seconds / articles, 2),
            "times_faster_than_spacy_parse": round(parse / seconds, 1),
        }
        for stage, seconds in timings.items()
    }
    print(f"{'stage':22} {'articles/s':>11} {'ms/article':>11} {'x spaCy parse':>14}")
    for stage, row in rows.items():
        print(
            f"{stage:22} {row['articles_per_s']:>11} {row['ms_per_article']:>11} "
            f"{row['times_faster_than_spacy_parse']:>14}"
        )
    result = {"date": datetime.now(UTC).isoformat(), "articles": articles, "rounds": ROUNDS, "stages": rows}
    out = REPO / "bench" / "results" / f"{datetime.now(UTC).date()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
