"""The committed schemas are what the code generates, and v1 never breaks its consumers."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from services.schemas import SCHEMAS_DIR, breaking_changes, generated_schemas, stale_files

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_equal_generated() -> None:
    assert stale_files() == [], "run `make schemas` and commit schemas/"


def test_every_stream_has_a_schema_and_asyncapi_names_every_stream() -> None:
    files = generated_schemas()
    for expected in (
        "articles.raw/v1/raw_article.json", "articles.clean/v1/clean_article.json",
        "articles.entities/v1/entity_article.json", "articles.figures/v1/figures_article.json",
        "incidents.changes/v1/incident_change.json", "feed/v1/event.json", "feed/v1/incident.json",
        "deadletter/v1/dead_letter.json",
    ):  # fmt: skip
        assert expected in files
    addresses = {c["address"] for c in files["asyncapi.json"]["channels"].values()}
    assert {"articles.raw", "articles.clean", "articles.entities", "articles.figures",
            "incidents.changes", "feed.v1"} <= addresses  # fmt: skip


def test_the_feed_contract_names_are_there() -> None:
    incident = json.loads((SCHEMAS_DIR / "feed/v1/incident.json").read_text())
    for field in ("incident_id", "revision", "schema_version", "title", "occurred", "location", "weapons",
                  "perpetrator", "casualties", "claims", "reports", "first_seen_at", "updated_at"):  # fmt: skip
        assert field in incident["properties"]
    event = json.loads((SCHEMAS_DIR / "feed/v1/event.json").read_text())
    for field in ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"):
        assert field in event["properties"]


@pytest.fixture
def incident_schema() -> dict:
    return json.loads((SCHEMAS_DIR / "feed/v1/incident.json").read_text())


def test_no_change_is_compatible(incident_schema: dict) -> None:
    assert breaking_changes(incident_schema, copy.deepcopy(incident_schema)) == []


def test_adding_a_field_is_compatible(incident_schema: dict) -> None:
    newer = copy.deepcopy(incident_schema)
    newer["properties"]["severity"] = {"type": "string"}
    assert breaking_changes(incident_schema, newer) == []


def test_removing_or_renaming_a_field_breaks(incident_schema: dict) -> None:
    newer = copy.deepcopy(incident_schema)
    newer["properties"]["place"] = newer["properties"].pop("location")
    assert any("location" in p for p in breaking_changes(incident_schema, newer))


def test_narrowing_a_type_breaks(incident_schema: dict) -> None:
    newer = copy.deepcopy(incident_schema)
    newer["properties"]["perpetrator"] = {"type": "string"}  # was string or null
    assert any("perpetrator" in p for p in breaking_changes(incident_schema, newer))


def test_nested_removal_breaks(incident_schema: dict) -> None:
    newer = copy.deepcopy(incident_schema)
    del newer["$defs"]["Report"]["properties"]["outlet"]
    assert any("reports[].outlet" in p for p in breaking_changes(incident_schema, newer))


def test_making_an_optional_field_required_breaks(incident_schema: dict) -> None:
    newer = copy.deepcopy(incident_schema)
    newer["required"] = [*newer.get("required", []), "perpetrator"]
    assert any("perpetrator" in p for p in breaking_changes(incident_schema, newer))


# The v1 contract of every stream as published (the feed's on 2026-11-30, every change since its
# first release having been additive; the article streams', dead letters' and changes' frozen on
# 2026-11-30 too). Frozen here, not regenerated: a change to services/contracts.py that a v1
# consumer would trip on fails below, whatever `make schemas` writes.
BASELINE_DIR = Path(__file__).parent / "baseline"
BASELINE = {frozen.name.replace(".v1.", "/v1/", 1): frozen for frozen in sorted(BASELINE_DIR.glob("*.v1.*.json"))}


def breaks_of_the_published_v1(generated: dict[str, dict]) -> list[str]:
    problems = []
    for current, frozen in BASELINE.items():
        baseline = json.loads(frozen.read_text())
        if current not in generated:
            problems.append(f"{current}: the stream's v1 schema is gone")
            continue
        problems += [f"{current}: {p}" for p in breaking_changes(baseline, generated[current])]
    return problems


def test_every_streams_v1_schema_is_frozen() -> None:
    assert set(BASELINE) == {path for path in generated_schemas() if path != "asyncapi.json"}


def test_the_code_keeps_every_field_of_every_published_v1_schema() -> None:
    assert breaks_of_the_published_v1(generated_schemas()) == [], "a v1 consumer would break: make it v2"


def contracts_edited(tmp_path: Path, edit: Callable[[str], str]) -> ModuleType:
    """services/contracts.py, edited, loaded as a module of its own."""
    source = (REPO / "services" / "contracts.py").read_text()
    edited = edit(source)
    assert edited != source
    path = tmp_path / "edited_contracts.py"
    path.write_text(edited)
    spec = importlib.util.spec_from_file_location(f"edited_contracts_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


REPORT_TITLE = "    title: str | None = None\n    published_at: UtcDatetime | None = None\n    figures:"
CLEAN, ENTITIES = "articles.clean/v1/clean_article.json", "articles.entities/v1/entity_article.json"


@pytest.mark.parametrize(
    ("before", "after", "broken"),
    [
        # Report.title taken out of the model (what a newcomer tried)
        (REPORT_TITLE, REPORT_TITLE.split("\n", 1)[1], "feed/v1/incident.json: reports[].title"),
        # a field of an article stream renamed
        ("    removed_lines: int = Field(0,", "    dropped_lines: int = Field(0,", CLEAN),
        # an optional field made required
        ("    perpetrator: str | None = None\n", "    perpetrator: str | None\n", ENTITIES),
    ],
)  # fmt: skip
def test_an_edited_copy_of_the_contracts_fails_against_the_frozen_v1(
    tmp_path: Path, before: str, after: str, broken: str
) -> None:
    edited = contracts_edited(tmp_path, lambda source: source.replace(before, after, 1))
    problems = breaks_of_the_published_v1(generated_schemas(edited, asyncapi=False))
    assert any(p.startswith(broken) for p in problems), problems


def test_an_optional_field_added_to_a_copy_of_the_contracts_is_no_break(tmp_path: Path) -> None:
    added = "    subtitle: str | None = None\n" + REPORT_TITLE
    edited = contracts_edited(tmp_path, lambda source: source.replace(REPORT_TITLE, added, 1))
    assert "subtitle" in edited.Report.model_fields
    assert breaks_of_the_published_v1(generated_schemas(edited, asyncapi=False)) == []
