"""Shared fixtures: a real Redis (REDIS_URL, else Docker, else redis-server), seeds, the pipeline."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import settings as hypothesis_settings

from services.runtime.redis_server import private_redis

# In CI the property tests replay the same examples every run: a red CI must mean a change broke
# something. Locally they explore new examples each run.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD_FILE = SHARED / "seeds.gold.json"


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def redis_for_tests() -> Iterator[str]:
    """REDIS_URL if set; a testcontainers Redis when Docker answers; else a redis-server binary."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
    elif docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
    else:
        with private_redis() as url:
            yield url


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_for_tests() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A real Redis, emptied before each test that uses it."""
    redis.Redis.from_url(redis_server_url).flushdb()
    return redis_server_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def gold() -> dict[str, Any]:
    if not GOLD_FILE.exists():
        pytest.skip("../shared/seeds.gold.json is not here (the seeds live outside the repository)")
    return json.loads(GOLD_FILE.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def seed_files() -> list[Path]:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not here (the seeds live outside the repository)")
    return sorted(SEEDS.glob("*.txt"))


@pytest.fixture(scope="session")
def nlp() -> Any:
    from services.entities.extract import load_pipeline

    return load_pipeline()


@pytest.fixture(scope="session")
def seed_stages(seed_files: list[Path], nlp: Any) -> dict[str, dict[str, Any]]:
    """Every seed through the pure stage functions once: article_id -> {clean, entities, figures}."""
    from services.contracts import RawArticle
    from services.pipeline import analyse

    raws = [RawArticle(id=path.stem, text=path.read_text()) for path in seed_files]
    result = {}
    for analysed in analyse(raws, nlp, max_bytes=200_000):
        result[analysed.article_id] = {
            "clean": analysed.clean,
            "entities": analysed.entities,
            "figures": analysed.figures,
        }
    return result
