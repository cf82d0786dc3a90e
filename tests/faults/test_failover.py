"""A Redis failover mid-run: a real primary, two replicas and three sentinels (the redis-server
binary, on free ports), the pipeline's workers following the sentinels, the primary SIGKILLed
with articles in flight. Counted: articles in the feed or in `deadletter`, lost, doubled; then
what was lost is ingested again, which must be safe (nothing published twice)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.corpus import generate
from services.ingest import ArticleInput, push
from services.runtime.redis_server import find_redis_server, free_port
from services.runtime.sentinel import ask_sentinels, redis_url, sentinel_addresses, sync_client
from services.runtime.settings import Settings
from services.runtime.streams import ensure_groups
from services.runtime.supervisor import start_workers, stop_workers
from tests.faults.conftest import conservation, revisions_are_contiguous, wait_drained, whereabouts

pytestmark = pytest.mark.slow
SERVICE = "mymaster"


def wait_for(what: str, check: object, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@contextlib.contextmanager
def replicated_redis(workdir: Path, down_after_ms: int = 1000) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A primary, two replicas (one is left to confirm writes after the other is promoted) and three
    sentinels that call a silent primary down after `down_after_ms`; yields the primary's process
    and the sentinels' addresses."""
    binary = find_redis_server()
    primary_port = free_port()
    processes = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    try:
        servers = {}
        for name in ("primary", "replica-1", "replica-2"):
            (workdir / name).mkdir()
            port = primary_port if name == "primary" else free_port()
            extra = [] if name == "primary" else ["--replicaof", "127.0.0.1", str(primary_port)]
            where = ("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir / name))
            servers[name] = start(*where, *extra)
        sentinels = []
        for n in range(3):
            port = free_port()
            conf = workdir / f"sentinel-{n}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            start(str(conf), "--sentinel")
            sentinels.append(f"127.0.0.1:{port}")
        first = redis.Redis(port=int(sentinels[0].split(":")[1]))
        # Sentinels find replicas by the primary's INFO (every 10 s) and each other by hellos: on a
        # busy machine that has taken over 30 s. Setup, not a measurement: wait as long as it takes.
        wait_for("the sentinels to know both replicas and each other", lambda: (
            len(first.execute_command("SENTINEL", "REPLICAS", SERVICE)) == 2
            and len(first.execute_command("SENTINEL", "SENTINELS", SERVICE)) == 2
        ), timeout_s=120)  # fmt: skip
        primary = redis.Redis(port=primary_port)

        def in_sync() -> bool:  # both replicas past their first full copy, streaming (the steady state)
            info = primary.info("replication")
            return sum(1 for n in range(2) if info.get(f"slave{n}", {}).get("state") == "online") == 2

        wait_for("both replicas to finish their first full copy", in_sync)
        yield servers["primary"], ",".join(sentinels)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.mark.timeout(420)
@pytest.mark.parametrize("wait_replicas", [0, 1], ids=["async-replication", "wait-for-a-replica"])
def test_a_failover_mid_run_loses_only_what_it_says(wait_replicas: int, tmp_path: Path) -> None:
    corpus = generate(seed=33, incidents=24, copy_rate=0.1)[:60]
    inputs = [ArticleInput(a.article_id, a.fields) for a in corpus]
    with replicated_redis(tmp_path) as (primary, sentinels):
        env = {
            "INCIDENTFEED_REDIS_SENTINELS": sentinels,
            "INCIDENTFEED_REDIS_SERVICE": SERVICE,
            "INCIDENTFEED_REDIS_URL": "redis://127.0.0.1:6379/0",  # scheme and database; the host is the sentinels'
            "INCIDENTFEED_REDIS_WAIT_REPLICAS": str(wait_replicas),
            "INCIDENTFEED_CLAIM_IDLE_MS": "1500",
            "INCIDENTFEED_BATCH_SIZE": "8",
            "INCIDENTFEED_GRACEFUL_TIMEOUT_S": "2",
        }
        settings = Settings(redis_sentinels=sentinels, redis_service=SERVICE, redis_url=env["INCIDENTFEED_REDIS_URL"])
        first_url = redis_url(settings)
        old_primary = ask_sentinels(sentinel_addresses(settings), SERVICE)
        ensure_groups(redis.Redis.from_url(first_url))
        log = tmp_path / "workers.log"
        workers = start_workers(first_url, log, env)
        reader = sync_client(settings)  # as `tail` and `serve` hold theirs: made before the failover
        acknowledged: list[str] = []
        problems: list[BaseException] = []

        def produce() -> None:  # as `ingest` does: through the sentinels, a chunk again on a lost connection
            client = sync_client(settings)
            deadline = time.monotonic() + 240
            for start in range(0, len(inputs), 4):
                chunk = inputs[start : start + 4]
                while True:
                    try:
                        list(push(client, chunk, wait_replicas=wait_replicas, wait_ms=2000))
                        break
                    except Exception as error:  # no replica confirmed yet, or no primary yet: again
                        if time.monotonic() > deadline:
                            problems.append(error)
                            return
                        time.sleep(0.5)
                acknowledged.extend(str(a.article_id) for a in chunk)
                time.sleep(0.15)

        producer = threading.Thread(target=produce)
        try:
            producer.start()
            wait_for("a third of the articles in", lambda: len(acknowledged) >= len(inputs) // 3, 60)
            primary.send_signal(signal.SIGKILL)  # the primary's machine dies
            primary.wait()
            promoted = lambda: ask_sentinels(sentinel_addresses(settings), SERVICE) not in (None, old_primary)  # noqa: E731
            wait_for("the sentinels to promote a replica", promoted, 120)
            producer.join(timeout=240)
            assert not producer.is_alive() and not problems, problems
            new_url = redis_url(settings)
            assert new_url != first_url  # a replica was promoted
            client = redis.Redis.from_url(new_url)
            wait_drained(client, log=log)
            assert reader.xlen("feed.v1") == client.xlen("feed.v1")  # a client made before follows too
            sent = set(acknowledged)
            went = whereabouts(client, sent)
            counts = {"sent": len(sent), "in_feed": len(went["reports"] | went["noted"]), "dead": len(went["dead"]),
                      "lost": len(went["missing"]), "doubled": len(went["doubled"])}  # fmt: skip
            print(f"\nfailover ({'WAIT 1' if wait_replicas else 'async'}): {counts}")
            assert not went["doubled"]
            if wait_replicas:
                assert not went["missing"]  # every acknowledged article was on the replica
            # Ingesting the lost ones again, and some that arrived, is safe: nothing is published twice.
            # Through the sentinels, as `ingest` does: on a loaded machine they may promote again, and a
            # client pinned to the first promoted address would then write to a replica.
            lost = went["missing"]
            again = [a for a in inputs if a.article_id in lost] + inputs[:5]
            feed_before = client.xlen("feed.v1")
            push_through_the_sentinels(settings, again)
            client = sync_client(settings)
            wait_drained(client, log=log)
            went = conservation(client, sent)  # raises if an article is in no incident, or in two
            revisions_are_contiguous(client)
            assert not went["dead"]
            if not lost:
                assert client.xlen("feed.v1") == feed_before  # repeats publish nothing
        finally:
            producer.join(timeout=5)
            stop_workers(workers)


def push_through_the_sentinels(settings: Settings, articles: list[ArticleInput], within_s: float = 60) -> None:
    """`push` as `ingest` does it with sentinels: a command that meets a demoted primary fails once,
    and the next connection asks the sentinels again."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            list(push(sync_client(settings), articles))
            return
        except (redis.ReadOnlyError, redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.timeout(300)
def test_a_worker_that_loses_the_primary_while_starting_waits_for_the_promoted_one(tmp_path: Path) -> None:
    """The primary dies while the entity worker loads its model (it has been told where the primary
    is, and has not joined its group yet), and the sentinels take 8 s to notice: the worker finds
    no primary, asks them again, and runs on the promoted replica, instead of exiting."""
    corpus = generate(seed=34, incidents=6, copy_rate=0.0)[:12]
    with replicated_redis(tmp_path, down_after_ms=8000) as (primary, sentinels):
        env = {
            "INCIDENTFEED_REDIS_SENTINELS": sentinels,
            "INCIDENTFEED_REDIS_SERVICE": SERVICE,
            "INCIDENTFEED_REDIS_URL": "redis://127.0.0.1:6379/0",
            "INCIDENTFEED_GRACEFUL_TIMEOUT_S": "2",
        }
        settings = Settings(redis_sentinels=sentinels, redis_service=SERVICE, redis_url=env["INCIDENTFEED_REDIS_URL"])
        old_primary = ask_sentinels(sentinel_addresses(settings), SERVICE)
        ensure_groups(redis.Redis.from_url(redis_url(settings)))
        log = tmp_path / "workers.log"
        first = redis.Redis.from_url(redis_url(settings))
        workers = start_workers(redis_url(settings), log, env)
        try:
            # the cleaner starts in a second; the entity worker has asked the sentinels by then, and loads spaCy
            wait_for("the cleaner to join its group", lambda: first.xinfo_consumers("articles.raw", "cleaner"), 60)
            primary.send_signal(signal.SIGKILL)
            primary.wait()
            promoted = lambda: ask_sentinels(sentinel_addresses(settings), SERVICE) not in (None, old_primary)  # noqa: E731
            wait_for("the sentinels to promote a replica", promoted, 120)
            client = redis.Redis.from_url(redis_url(settings))
            list(push(client, [ArticleInput(a.article_id, a.fields) for a in corpus]))
            wait_drained(client, log=log)
            assert all(worker.poll() is None for worker in workers), log.read_text(errors="replace")[-3000:]
            went = conservation(client, {a.article_id for a in corpus})
            assert not went["dead"]
            assert "entities worker: the primary does not answer" in log.read_text(errors="replace")
        finally:
            stop_workers(workers)
