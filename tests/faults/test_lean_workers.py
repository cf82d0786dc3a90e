"""Workers stay lean where a machine-learning framework is installed: spaCy's thinc imports
PyTorch and CuPy whenever it finds them (600 MB per process on a machine with PyTorch); our
workers must not. Stand-in `torch` and `cupy` packages on the path record being imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from services.ingest import push, text_file_article
from services.runtime.streams import ensure_groups, read_feed
from services.runtime.supervisor import start_workers, stop_workers
from tests.faults.conftest import wait_drained

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STAND_IN = "import os\nwith open(os.environ['STAND_IN_LOG'], 'a') as log:\n    log.write(__name__ + '\\n')\n"


@pytest.fixture
def stand_ins(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    for name in ("torch", "cupy"):
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(STAND_IN)
    return {"PYTHONPATH": str(site), "STAND_IN_LOG": str(tmp_path / "imported.txt")}


def test_spacy_alone_would_import_the_frameworks(stand_ins: dict[str, str]) -> None:
    """The control: without our start-up, importing spaCy's pipeline machinery imports them."""
    code = "import spacy; spacy.blank('en')"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **stand_ins}, check=True)
    assert set(Path(stand_ins["STAND_IN_LOG"]).read_text().split()) >= {"torch", "cupy"}


def test_no_worker_imports_a_framework_and_each_keeps_one_blas_thread(
    stand_ins: dict[str, str], redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    ensure_groups(redis_client)
    before = len(list(read_feed(redis_client)))
    log = tmp_path / "workers.log"
    workers = start_workers(redis_url, log, stand_ins)
    try:
        articles = [text_file_article(path) for path in sorted(EXAMPLES.glob("*.txt"))]
        list(push(redis_client, articles))
        wait_drained(redis_client, log=log)
        assert len(list(read_feed(redis_client))) > before  # the workers did their work
    finally:
        stop_workers(workers)
    imported = Path(stand_ins["STAND_IN_LOG"])
    assert not imported.exists(), imported.read_text()
    # The same start-up in a process we can look into: one thread per pool, and no framework.
    code = (
        "from services.runtime.lean import keep_worker_lean; keep_worker_lean()\n"
        "import os, sys, spacy; from services.entities.extract import load_pipeline; load_pipeline()\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'], "
        "sys.modules.get('torch'), sys.modules.get('cupy'))"
    )
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **stand_ins}, capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert done.stdout.split() == ["1", "1", "None", "None"]
    assert not imported.exists()
