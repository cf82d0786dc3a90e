"""Least privilege: each stage runs as its own Redis ACL user (deploy/users.acl) and can do no more."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import redis
from redis.exceptions import NoPermissionError

from bench.corpus import generate
from services.contracts import StageName
from services.ingest import ArticleInput, push
from services.runtime.redis_server import RedisServer
from services.runtime.supervisor import start_workers, stop_workers
from tests.faults.conftest import conservation, wait_drained

ACL_FILE = Path(__file__).resolve().parents[2] / "deploy" / "users.acl"
pytestmark = pytest.mark.slow


def passwords() -> dict[str, str]:
    return dict(re.findall(r"^user (\w+) on >(\S+)", ACL_FILE.read_text(), flags=re.M))


@pytest.fixture
def acl_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="incidentfeed-acl-") as workdir:
        acl = Path(workdir) / "users.acl"
        acl.write_text(ACL_FILE.read_text())  # Redis may rewrite it: use a copy
        server = RedisServer(workdir, aclfile=str(acl))
        server.start("admin", passwords()["admin"])
        yield server
        server.stop()


def as_user(server: RedisServer, user: str) -> redis.Redis:
    return redis.Redis.from_url(server.url_for(user, passwords()[user]))


def test_the_pipeline_runs_with_one_user_per_stage(acl_server: RedisServer, tmp_path: Path) -> None:
    corpus = generate(seed=44, incidents=8, copy_rate=0.2)
    workers = []
    for stage in StageName:
        env = {"INCIDENTFEED_REDIS_URL": acl_server.url_for(stage, passwords()[stage]),
               "INCIDENTFEED_CLAIM_IDLE_MS": "1000"}  # fmt: skip
        workers += start_workers(env["INCIDENTFEED_REDIS_URL"], tmp_path / "workers.log", env, (stage,))
    admin = as_user(acl_server, "admin")
    try:
        list(push(as_user(acl_server, "ingest"), [ArticleInput(a.article_id, a.fields) for a in corpus]))
        wait_drained(admin, log=tmp_path / "workers.log")
        assert all(w.poll() is None for w in workers), (tmp_path / "workers.log").read_text()[-3000:]
    finally:
        stop_workers(workers)
    went = conservation(admin, {a.article_id for a in corpus})
    assert not went["dead"], (tmp_path / "workers.log").read_text()[-3000:]
    reader = as_user(acl_server, "reader")
    incidents = admin.hkeys("feed.v1.latest")
    assert incidents and sorted(reader.hkeys("feed.v1.latest")) == sorted(incidents)  # the reader reads the view


@pytest.mark.parametrize(
    ("user", "forbidden"),
    [
        ("cleaner", lambda r: r.hgetall("feed.v1.latest")),
        ("cleaner", lambda r: r.xadd("articles.entities", {"payload": b"{}"})),
        ("cleaner", lambda r: r.xrange("articles.clean")),
        ("entities", lambda r: r.xadd("feed.v1", {"event": b"{}"})),
        ("casualties", lambda r: r.xadd("articles.skipped", {"payload": b"{}"})),
        ("casualties", lambda r: r.xreadgroup("dedup", "x", {"articles.figures": ">"})),
        ("dedup", lambda r: r.hset("feed.v1.latest", "x", "y")),
        ("publisher", lambda r: r.xrange("articles.raw")),
        ("publisher", lambda r: r.xadd("articles.figures", {"payload": b"{}"})),
        ("publisher", lambda r: r.get("dedup:article:x")),
        ("reader", lambda r: r.xadd("feed.v1", {"event": b"{}"})),
        ("reader", lambda r: r.xrange("articles.raw")),
        ("ingest", lambda r: r.xrange("articles.raw")),
        ("ingest", lambda r: r.flushall()),
    ],
)
def test_a_stage_can_do_nothing_beyond_its_part(acl_server: RedisServer, user: str, forbidden: object) -> None:
    with pytest.raises(NoPermissionError):
        forbidden(as_user(acl_server, user))  # type: ignore[operator]
