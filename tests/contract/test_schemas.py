"""The committed schemas are what the code generates, and v1 never breaks its consumers."""

from __future__ import annotations

import copy
import json

import pytest

from services.schemas import SCHEMAS_DIR, breaking_changes, generated_schemas, stale_files


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


# The v1 feed contract as published (2026-11-30; every change since the first release was
# additive: breaking_changes from the first commit's schemas to these finds nothing). Frozen
# here, not regenerated: a change to services/contracts.py that a v1 consumer would trip on
# fails below, whatever `make schemas` writes.
BASELINE = {
    "feed/v1/incident.json": "baseline/feed.v1.incident.json",
    "feed/v1/event.json": "baseline/feed.v1.event.json",
}


def breaks_of_the_published_v1(generated: dict[str, dict]) -> list[str]:
    from pathlib import Path

    here = Path(__file__).parent
    problems = []
    for current, frozen in BASELINE.items():
        baseline = json.loads((here / frozen).read_text())
        problems += [f"{current}: {p}" for p in breaking_changes(baseline, generated[current])]
    return problems


def test_the_code_keeps_every_field_of_the_published_v1_feed() -> None:
    assert breaks_of_the_published_v1(generated_schemas()) == [], "a v1 consumer would break: make it v2"


def test_the_guard_sees_a_field_removed_from_the_code() -> None:
    """What a newcomer tried: Report.title taken out of the model. The schema the code then
    generates is caught against the frozen v1, not against a regenerated copy."""
    generated = copy.deepcopy(generated_schemas())
    incident = generated["feed/v1/incident.json"]
    del incident["$defs"]["Report"]["properties"]["title"]
    assert any("reports[].title" in p for p in breaks_of_the_published_v1(generated))
