"""How the code is laid out, where a newcomer relies on it: settings read in one place, the stage
chain written once, one list of attack words, one distance for 'near', a CLI that only handles
arguments and output."""

from __future__ import annotations

import ast
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"


def python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "node_modules" not in p.parts)


def reads_of_the_environment(path: Path) -> list[int]:
    """Lines where a module reads os.environ or os.getenv."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_class_reads_the_environment() -> None:
    allowed = {
        SERVICES / "runtime" / "settings.py",  # the settings class (and XDG_CACHE_HOME for its default)
        SERVICES / "runtime" / "lean.py",  # writes the thread-pool variables numpy and BLAS read, reads none of ours
        SERVICES / "runtime" / "supervisor.py",  # hands this process's environment to the workers it starts
    }
    readers = {
        str(path.relative_to(REPO)): lines
        for path in python_files(SERVICES)
        if path not in allowed and (lines := reads_of_the_environment(path))
    }
    assert readers == {}


def test_the_stage_chain_is_written_once() -> None:
    """Whoever runs clean -> entities -> figures in process calls services/pipeline.py; only the
    workers (one stage each) and the benchmark that times each stage apart call the stages."""
    stage_calls = ("clean_article(", "parse_articles(", "figures_for(")
    allowed = {
        SERVICES / "pipeline.py",
        Path(__file__),  # names them
        REPO / "bench" / "run.py",  # times each stage apart
        REPO / "bench" / "fit_relevance.py",  # needs the parse itself, for the final decision's features
    }
    chained = [
        str(path.relative_to(REPO))
        for path in python_files(SERVICES, REPO / "bench", REPO / "tests")
        if path not in allowed and sum(call in path.read_text() for call in stage_calls) >= 2
    ]
    assert chained == []


def test_attack_words_live_in_one_list() -> None:
    """services/attack_words.py holds them; no other module or word file lists them again."""
    from services.attack_words import ATTACK_NOUNS, ATTACK_WORDS

    assert ATTACK_NOUNS <= ATTACK_WORDS and {"strike", "shelling", "airstrike"} <= ATTACK_NOUNS
    for path in python_files(SERVICES):
        if path.name == "attack_words.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Set | ast.List | ast.Tuple):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                assert len(words & ATTACK_NOUNS) < 4, f"{path.relative_to(REPO)}:{node.lineno} lists attack words"
    for path in SERVICES.rglob("data/*.json"):
        data = json.loads(path.read_text())
        assert not (isinstance(data, dict) and "attack_nouns" in data), path


def test_near_is_one_distance() -> None:
    """'Near' is places.NEAR_KM for matching and for a place inside another: no other distance in km."""
    for path in python_files(SERVICES):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Call) and getattr(c.func, "id", "") == "distance_km" for c in [node.left]
            ):
                assert all(not isinstance(c, ast.Constant) for c in node.comparators), (
                    f"{path.relative_to(REPO)}:{node.lineno} compares a distance with a number of its own"
                )


def test_the_cli_handles_arguments_and_output_only() -> None:
    cli = (SERVICES / "cli.py").read_text()
    assert len(cli.splitlines()) < 400
    for supervision in ("subprocess.Popen", "send_signal", "COPIES_DUE_KEY", "dedup:"):
        assert supervision not in cli  # process supervision is runtime/supervisor.py's, dedup's keys dedup's
