"""`make bench` on a tiny corpus: it runs end to end, accounts for every article and names the
bottleneck; and the scale-out plan it picks for a machine's core count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpus import generate
from bench.run import bottleneck, main, replica_plan, scale_out_counts
from services.contracts import StageName


@pytest.mark.parametrize(
    ("cpus", "counts"),
    [(1, [1, 2, 4]), (2, [1, 2, 4]), (8, [1, 2, 4]), (12, [1, 2, 4, 8]), (16, [1, 2, 4, 8, 12]),
     (32, [1, 2, 4, 8, 16, 28])],
)  # fmt: skip
def test_scale_out_goes_to_eight_or_more_replicas_on_sixteen_cores(cpus: int, counts: list[int]) -> None:
    assert scale_out_counts(cpus) == counts


def test_light_stages_get_a_replica_per_four_entity_replicas() -> None:
    assert replica_plan(1) == {StageName.CLEANER: 1, StageName.ENTITIES: 1, StageName.CASUALTIES: 1,
                               StageName.DEDUP: 1, StageName.PUBLISHER: 1}  # fmt: skip
    assert replica_plan(4)[StageName.DEDUP] == 1
    assert replica_plan(8)[StageName.DEDUP] == 2
    assert replica_plan(12)[StageName.CASUALTIES] == replica_plan(12)[StageName.DEDUP] == 3


def test_bottleneck_is_the_busiest_stage_per_replica() -> None:
    stages = {"entities": {"busy": 0.4}, "dedup": {"busy": 0.9}, "publisher": {"busy": 0.1}}
    assert bottleneck(stages) == "dedup"


def test_bench_runs_end_to_end_and_accounts_for_every_article(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    articles = 12
    result = main([
        "--articles", str(articles), "--replicas", "2", "--dedup-sizes", "300,600", "--out", str(out),
        "--replay-dedup", "1,2", "--open-loop-articles", "6", "--run-ratio-articles", "6", "--stream-attacks", "2",
    ])  # fmt: skip

    assert json.loads(out.read_text()) == result
    assert result["bare_spacy"]["articles"] == articles
    assert set(result["pipeline"]) == {"2"}
    corpus = generate(seed=2026, incidents=articles // 2, copy_rate=0.1, background=True)[:articles]
    reports = sum(1 for a in corpus if a.kind == "report")
    for replicas, run in result["pipeline"].items():
        assert run["stages"]["entities"]["replicas"] == int(replicas)
        assert run["dead_letters"] == 0
        # Every first-hand report reaches the feed or is judged no new attack; copies ride along with them.
        assert reports - run["skipped"] <= run["latency_s"]["measured_articles"] <= articles
        assert run["bottleneck"] in run["stages"]
        assert run["articles_per_s"] > 0 and run["ratio_to_bare_spacy"] > 0
    assert [c["prefilled_articles"] for c in result["dedup_cost"]] == [300, 600]
    stream = result["news_stream"]  # four real non-attack articles for each attack report (None without ../shared)
    if stream is not None:
        assert (stream["attack_reports"], stream["non_attack_articles"], stream["articles"]) == (2, 8, 10)
        assert 0 < stream["share_skipped_before_the_parse"] <= 0.8  # attack reports always reach the parse
        assert stream["times_faster_than_bare_spacy"] > 0
    assert result["stage_functions"]["spacy_parse"]["times_faster_than_spacy_parse"] == 1.0
    # everything but the parse, replayed from cached parses, with 1 and 2 dedup replicas
    replays = result["replay_ceiling"]
    assert [r["dedup_replicas"] for r in replays] == [1, 2]
    for replay in replays:
        assert replay["articles"] == 4 * articles and replay["articles_per_s"] > 0
        assert replay["redis_commands_per_article"] > 0 and replay["watch_retries_per_article"] >= 0
        assert replay["dedup_keys"] > 0  # the replayed articles were stored
        assert "dedup:incident" in replay["memory_kb_per_article_by_family"]
        assert "dedup:lsh" in replay["memory_kb_per_article_by_family"]  # the near-duplicate buckets
        cpu = replay["worker_cpu_ms_per_article"]
        assert set(cpu) == {"casualties", "dedup", "publisher"} and all(ms > 0 for ms in cpu.values())
    assert result["state_size"]["one_million_articles_gb"] > 0
    loop = result["open_loop"]
    assert loop["measured_articles"] >= 1 and loop["latency_s"]["p50"] <= loop["latency_s"]["p99"]
    assert result["run_ratio"]["ratio_run_to_bare"] > 0 and result["run_ratio"]["articles"] == 6
    assert result["wait_for_a_replica"]["ms_per_chunk_wait_1"] > 0
