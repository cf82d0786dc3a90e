"""Which spaCy pipeline pays for its cost: accuracy and articles/s side by side, in one run.

    python -m bench.model_choice [MODEL ...]   # installed package names or model directories

For each model: the bare parse rate (our full pipeline of components, over the development set's
texts, the second of two passes so that loading is not counted), then `make accuracy`'s devset
measurement with the entity stage on that model (INCIDENTFEED_SPACY_MODEL). The default model
is always measured first, so the ratios compare runs on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.accuracy import DEFAULT_CORPORA, RESULTS, measure
from services.entities.extract import SPACY_MODEL


def parse_rate(model: str, texts: list[str]) -> float:
    os.environ["INCIDENTFEED_SPACY_MODEL"] = model
    from services.entities import extract

    extract.load_pipeline.cache_clear()
    nlp = extract.load_pipeline()
    list(nlp.pipe(texts, batch_size=16))
    started = time.perf_counter()
    list(nlp.pipe(texts, batch_size=16))
    return len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="Other spaCy models (package names or directories).")
    args = parser.parse_args(argv)
    name, corpus, gold = DEFAULT_CORPORA[0]
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines() if line.strip()]
    rows: list[dict[str, Any]] = []
    for model in [SPACY_MODEL, *args.models]:
        rate = parse_rate(model, texts)
        result = measure(name, corpus, gold)  # the pipeline's workers inherit INCIDENTFEED_SPACY_MODEL
        rows.append({"model": model, "articles_per_s": round(rate, 2), **{
            k: result[k] for k in ("location_accuracy", "figures_value_accuracy",
                                   "figures_value_and_qualifier_accuracy", "bcubed_f1")}})  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr)
    base = rows[0]["articles_per_s"]
    print(f"{'model':60} {'art/s':>7} {'x':>5} {'place':>6} {'figs':>6} {'figs+q':>6} {'B3':>6}")
    for row in rows:
        print(
            f"{row['model'][-60:]:60} {row['articles_per_s']:7.2f} {row['articles_per_s'] / base:5.2f} "
            f"{row['location_accuracy']:6.3f} {row['figures_value_accuracy']:6.3f} "
            f"{row['figures_value_and_qualifier_accuracy']:6.3f} {row['bcubed_f1']:6.3f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"model-choice-{datetime.now(UTC).date().isoformat()}.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
