"""TLS: with a rediss:// URL every client of every stage speaks TLS to Redis."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from bench.corpus import generate
from services.ingest import ArticleInput, push
from services.runtime.redis_server import RedisServer, free_port
from services.runtime.streams import ensure_groups
from services.runtime.supervisor import start_workers, stop_workers
from tests.faults.conftest import conservation, wait_drained

pytestmark = pytest.mark.slow


def make_certificates(folder: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=incidentfeed-test-ca")  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "redis.key", "-out", "redis.csr", "-subj", "/CN=127.0.0.1"
    )
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "redis.crt", "-days", "2", "-extfile", "ext.cnf")  # fmt: skip


def test_the_pipeline_over_tls(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    with tempfile.TemporaryDirectory(prefix="incidentfeed-tls-") as workdir:
        folder = Path(workdir)
        make_certificates(folder)
        port = free_port()
        url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={folder / 'ca.crt'}&ssl_cert_reqs=required"
        server = RedisServer(
            workdir, port=free_port(), url=url,
            extra_args=["--tls-port", str(port), "--tls-cert-file", str(folder / "redis.crt"),
                        "--tls-key-file", str(folder / "redis.key"), "--tls-ca-cert-file", str(folder / "ca.crt"),
                        "--tls-auth-clients", "no"],
        )  # fmt: skip
        server.start()
        try:
            client = redis.Redis.from_url(url)
            with pytest.raises(redis.ConnectionError):  # a plain connection to the TLS port fails
                redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
            ensure_groups(client)
            corpus = generate(seed=55, incidents=4, copy_rate=0.0)
            workers = start_workers(url, tmp_path / "workers.log")
            try:
                list(push(client, [ArticleInput(a.article_id, a.fields) for a in corpus]))
                wait_drained(client, log=tmp_path / "workers.log")
            finally:
                stop_workers(workers)
            went = conservation(client, {a.article_id for a in corpus})
            assert went["reports"] and not went["dead"]
        finally:
            server.stop()
