"""`make accuracy`: run the pipeline over labelled corpora and score the feed against their gold.

    python -m bench.accuracy                       # the development set and the seeds, from ../shared
    python -m bench.accuracy CORPUS GOLD [--name N] # any labelled corpus (a .jsonl file or a folder)

Each corpus goes through `incidentfeed run` exactly as a user runs it (worker processes over
Redis: INCIDENTFEED_REDIS_URL, else a private redis-server), then `bench/scoring.py` compares
the feed with the gold, and refits the relevance decision, the headline-figure ranker and the
main-place ranker to report them cross-validated (leave one event out) beside their in-sample numbers. Prints incident
pairwise precision/recall/F1 and B-cubed F1, main-place and headline-figure accuracy, and the
confusion list (gold events split or glued, with each report's reason and confidence); writes
everything to bench/results/accuracy-<name>-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.scoring import load_gold, read_feed_file, score

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
RESULTS = REPO / "bench" / "results"
DEFAULT_CORPORA = (
    ("devset", SHARED / "devset" / "input.jsonl", SHARED / "devset" / "gold.json"),
    ("seeds", SHARED / "seeds", SHARED / "seeds.gold.json"),
)


def run_pipeline(corpus: Path, feed: Path, redis_url: str | None = None) -> None:
    """`incidentfeed run CORPUS --out FEED`, as a separate process, as a user would run it."""
    command = [sys.executable, "-m", "services.cli", "run", str(corpus), "--out", str(feed)]
    env = {**os.environ, "INCIDENTFEED_REDIS_URL": redis_url} if redis_url else None
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"incidentfeed run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary = [line for line in done.stderr.splitlines() if " articles in: " in line or "dead letter" in line]
    for line in summary:
        print(f"  {line.strip()}", file=sys.stderr)


def measure(name: str, corpus: Path, gold_path: Path, redis_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="incidentfeed-accuracy-") as workdir:
        feed = Path(workdir) / "feed.jsonl"
        print(f"{name}: incidentfeed run {corpus}", file=sys.stderr)
        run_pipeline(corpus, feed, redis_url)
        result = score(read_feed_file(feed), load_gold(gold_path)).as_dict()
    return {"corpus": os.path.relpath(corpus, REPO), "gold": os.path.relpath(gold_path, REPO), **result}


def show(name: str, result: dict[str, Any]) -> None:
    pairwise = result["pairwise"]
    print(f"\n== {name} ({result['corpus']})")
    print(
        f"incidents {result['incidents']} for {result['gold_events']} gold events, articles in feed "
        f"{result['articles_in_feed']}"
        + (
            f"; distractors in main incidents {result['distractors_in_main_incidents']}, false incidents "
            f"{result['false_incidents']}"
            if result.get("distractors_in_main_incidents")
            else ""
        )
        + "\n"
        f"pairwise precision {pairwise['precision']:.3f} recall {pairwise['recall']:.3f} F1 {pairwise['f1']:.3f}; "
        f"B-cubed F1 {result['bcubed_f1']:.3f}\n"
        f"main place {result['location_accuracy']}; headline figures by value {result['figures_value_accuracy']}, "
        f"with qualifier {result['figures_value_and_qualifier_accuracy']} {result['figures_by_category']}"
    )
    for split in result["split"]:
        print(f"split {split['event']}:")
        for article, how in split["articles"].items():
            print(f"    {article}: {how}")
    for glued in result["glued"]:
        print(f"glued in {glued['incident']} ({glued['location']}):")
        for article, how in glued["articles"].items():
            print(f"    {article}: {how}")
    for miss in result["misses"]:
        print(f"miss {miss}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="A labelled corpus (.jsonl, or a folder of articles).")
    parser.add_argument("gold", nargs="?", type=Path, help="Its gold file (devset gold.json or seeds.gold.json form).")
    parser.add_argument("--name", help="Name for the results file (default: the corpus's name).")
    args = parser.parse_args(argv)
    if args.corpus:
        if not args.gold:
            parser.error("a corpus needs its gold file")
        corpora = [(args.name or args.corpus.stem, args.corpus, args.gold)]
    else:
        corpora = [(n, c, g) for n, c, g in DEFAULT_CORPORA if c.exists() and g.exists()]
        if not corpora:
            parser.error(f"no labelled corpus found under {SHARED}; name one: CORPUS GOLD")
    RESULTS.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date().isoformat()

    def write(name: str, result: dict[str, Any]) -> None:
        out = RESULTS / f"accuracy-{name}-{today}.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"results: {out.relative_to(REPO)}", file=sys.stderr)

    for name, corpus, gold in corpora:
        result = measure(name, corpus, gold)
        show(name, result)
        write(name, result)
    labelled = [(c, g) for _, c, g in corpora]
    write("relevance", relevance_report(labelled))
    write("headline-figures", headline_report(labelled))
    write("matcher-pairs", matcher_report(corpora))
    write("incidents-cross-validated", incidents_report(corpora))
    write("main-place", place_report(labelled))


def matcher_report(corpora: list[tuple[str, Path, Path]]) -> dict[str, Any]:
    """The incident matcher on pairs of attack reports: refitted leave-one-event-out, beside the
    shipped weights (services/dedup/data/matcher.json, fitted when the devset held 82 articles)."""
    from bench.fit_matcher import measure as measure_matcher

    measured = measure_matcher(corpora)
    report = {k: v for k, v in measured.items() if k != "weights"}
    print("\n== incident matching, pairs of attack reports (in process; the vetoes decide the rest alone)")
    print(f"{'':34}{'precision at 0.5':>18}{'recall at 0.5':>15}")
    for name, label in (("leave_one_event_out", "refit, leave one event out"), ("shipped_weights", "shipped weights")):
        print(f"{label:34}{report[name]['precision_at_0.5']:>18}{report[name]['recall_at_0.5']:>15}")
    print(f"({report['pairs']} pairs, {report['same_event_pairs']} of one event)")
    return report


def incidents_report(corpora: list[tuple[str, Path, Path]]) -> dict[str, Any]:
    """Incidents out of sample: the dedup stage in process, per event, with the matcher and the
    relevance decision refitted without that event (bench/incidents_cv.py), beside the same
    simulation with the shipped weights."""
    from bench.incidents_cv import measure as measure_incidents

    report = measure_incidents(corpora)
    print("\n== incidents, pairwise over attack reports (dedup in process; see bench/incidents_cv.py)")
    print(f"{'':58}{'precision':>10}{'recall':>8}{'F1':>7}")
    rows = (
        ("in_sample_shipped", "shipped weights and decisions (in sample)"),
        ("leave_one_event_out", "matcher and relevance refit, leave one event out"),
        ("leave_one_event_out_matcher_only", "matcher refit LOEO, shipped relevance"),
        ("leave_one_event_out_relevance_only", "relevance refit LOEO, shipped matcher"),
    )
    for name, result in report.items():
        print(f"{name}:")
        for key, label in rows:
            row = result[key]
            print(f"  {label:56}{row['precision']:>10}{row['recall']:>8}{row['f1']:>7}")
        batches = result["leave_one_event_out"]["by_batch"]
        for batch, row in batches.items() if len(batches) > 1 else ():
            label = f"both refit LOEO, events of batch {batch}"
            print(f"    {label:54}{row['precision']:>10}{row['recall']:>8}{row['f1']:>7}")
    return report


def place_report(corpora: list[tuple[Path, Path]]) -> dict[str, Any]:
    """The main-place ranker, refitted and cross-validated on these corpora (leave one event out),
    beside its in-sample numbers and the hand-written rule's, per article, in process (no Redis)."""
    from bench.fit_places import measure as measure_places

    report: dict[str, Any] = measure_places(corpora)["report"]
    print("\n== main place per article, ranker (attack reports of the corpora above, in process)")
    for name, label in (("rule", "rule"), ("ranker_leave_one_event_out", "ranker, out of sample"),
                        ("ranker_in_sample", "ranker, in sample")):  # fmt: skip
        print(f"{label:24}{report[name]['right']:>10}{report[name]['accuracy']:>8}")
    print(f"(the gold place is among the candidates in {report['gold_among_candidates']}/{report['articles']})")
    return report


def headline_report(corpora: list[tuple[Path, Path]]) -> dict[str, Any]:
    """The headline-figure ranker, refitted and cross-validated on these corpora (leave one event
    out), beside its in-sample numbers and the hand-written rule's, in process (no Redis)."""
    from bench.fit_headline import measure as measure_headline

    report = measure_headline(corpora)["report"]
    print("\n== headline figures by value, ranker (attack reports of the corpora above, in process)")
    columns = ("rule", "cross_validated", "in_sample", "rule_with_statistic_added",
               "cross_validated_with_statistic_added")  # fmt: skip
    labels = ("rule", "ranker, out of sample", "ranker, in sample", "rule +statistic", "ranker +statistic (oos)")
    print(f"{'':16}" + "".join(f"{label:>25}" for label in labels))
    for figure in ("killed", "injured", "children_killed", "all"):
        print(f"{figure:16}" + "".join(f"{report[c][figure]['right']:>25}" for c in columns))
    print("(+statistic: each article with a made-up war-wide or period count added; see bench/fit_headline.py)")
    return report


def relevance_report(corpora: list[tuple[Path, Path]]) -> dict[str, Any]:
    """The relevance decision, refitted and cross-validated on these corpora (leave one event out,
    each distractor its own fold; and leave one place out, every event at one city together),
    beside the in-sample numbers of the same fit."""
    from bench.fit_relevance import measure as measure_relevance

    measured = measure_relevance(corpora)
    print("\n== relevance: does an article report a new attack? (articles of the corpora above)")
    print(f"{'':34}{'leave one event out':>20}{'leave one place out':>20}{'in sample':>12}")
    for key in ("precision_of_attack", "recall_of_attack", "attack_reports_judged_otherwise",
                "distractors_judged_attack"):  # fmt: skip
        print(
            f"{key:34}{measured.leave_one_event_out[key]:>20}{measured.leave_one_place_out[key]:>20}"
            f"{measured.in_sample[key]:>12}"
        )
    skipped = measured.leave_one_event_out["skipped_before_the_parse"]
    print(f"skipped before the parse (out of sample): distractors {skipped['distractors']}, attack reports "
          f"{skipped['attack_reports']}")  # fmt: skip
    print("by kind, out of sample (attack / skipped after the parse / skipped before it):")
    for kind, counts in measured.leave_one_event_out["by_kind"].items():
        print(f"  {kind:14} {counts.get('attack', 0):>4} {counts.get('skipped_final', 0):>4} "
              f"{counts.get('skipped_early', 0):>4}")  # fmt: skip
    return {
        "leave_one_event_out": measured.leave_one_event_out,
        "leave_one_place_out": measured.leave_one_place_out,
        "in_sample": measured.in_sample,
    }


if __name__ == "__main__":
    main()
