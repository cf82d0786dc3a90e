"""Downloads of the current incidents: CSV rows an analyst opens safely, GeoJSON a map reads."""

from __future__ import annotations

import csv
import io
from typing import Any

from geojson_pydantic import FeatureCollection

from services.publisher.export import CSV_COLUMNS, incidents_csv, incidents_geojson


def incident(incident_id: str, title: str, lat: float | None = 50.45, lon: float | None = 30.52) -> dict[str, Any]:
    return {
        "incident_id": incident_id, "revision": 2, "title": title, "occurred": {"date": "2026-11-29"},
        "location": {"name": "Kyiv", "country_code": "UA", "admin1_code": "12", "lat": lat, "lon": lon,
                     "precision": "city"},
        "weapons": ["drone", "missile"], "event_type": "air_drone_strike",
        "casualties": {"killed": {"low": 3, "best": 5, "high": 5}, "injured": None},
        "reports": [{"article_id": "a"}, {"article_id": "b", "syndicated": [{"article_id": "c"}]}],
        "first_seen_at": "2026-11-29T08:00:00Z", "updated_at": "2026-11-29T09:00:00Z",
    }  # fmt: skip


def test_the_csv_has_a_header_and_a_row_per_incident_and_no_formula_runs() -> None:
    rows = list(csv.DictReader(io.StringIO(incidents_csv([incident("i1", '=HYPERLINK("x")'), incident("i2", "Ok")]))))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == 2
    first = rows[0]
    assert first["title"] == '\'=HYPERLINK("x")'  # a spreadsheet shows it, never evaluates it
    assert (first["killed_low"], first["killed_best"], first["killed_high"]) == ("3", "5", "5")
    assert first["injured_best"] == "" and first["weapons"] == "drone;missile"
    assert (first["reports"], first["syndicated_copies"]) == ("2", "1")


def test_geojson_points_are_lon_lat_and_unplaced_incidents_have_no_geometry() -> None:
    collection = FeatureCollection.model_validate(
        incidents_geojson([incident("i1", "A"), incident("i2", "B", lat=None, lon=None)])
    )
    placed, unplaced = collection.features
    assert placed.geometry is not None and list(placed.geometry.coordinates) == [30.52, 50.45]  # type: ignore[union-attr]
    assert unplaced.geometry is None and unplaced.properties and unplaced.properties["place"] == "Kyiv"
