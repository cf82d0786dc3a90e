"""The current incidents as an analyst downloads them: GeoJSON for a map, CSV for a spreadsheet.

Pure functions over the feed's incidents (the `data` of their latest revisions); the reader
serves them at /v1/incidents.geojson and /v1/incidents.csv, and the page links to both.
"""

from __future__ import annotations

import csv
import io
from typing import Any

TOLLS = ("killed", "injured")
CSV_COLUMNS = (
    "incident_id", "event_date", "country", "admin1", "place", "precision", "lat", "lon", "event_type", "weapons",
    "killed_low", "killed_best", "killed_high", "injured_low", "injured_best", "injured_high",
    "reports", "syndicated_copies", "first_seen_at", "last_seen_at", "revision", "title",
)  # fmt: skip


def row_of(incident: dict[str, Any]) -> dict[str, Any]:
    """One incident's flat record: the columns an analyst expects (ACLED's and UCDP's habits)."""
    location = incident.get("location") or {}
    casualties = incident.get("casualties") or {}
    row: dict[str, Any] = {
        "incident_id": incident["incident_id"],
        "event_date": (incident.get("occurred") or {}).get("date"),
        "country": location.get("country_code"),
        "admin1": location.get("admin1_code"),
        "place": location.get("name"),
        "precision": location.get("precision"),
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "event_type": incident.get("event_type"),
        "weapons": ";".join(incident.get("weapons") or []),
        "reports": len(incident.get("reports") or []),
        "syndicated_copies": sum(len(r.get("syndicated") or []) for r in incident.get("reports") or []),
        "first_seen_at": incident.get("first_seen_at"),
        "last_seen_at": incident.get("updated_at"),
        "revision": incident.get("revision"),
        "title": incident.get("title"),
    }
    for name in TOLLS:
        toll = casualties.get(name) or {}
        for part in ("low", "best", "high"):
            row[f"{name}_{part}"] = toll.get(part)
    return row


def incidents_csv(incidents: list[dict[str, Any]]) -> str:
    """A header and one row per incident. Text fields are quoted by the csv module; a field that
    starts like a formula ('=', '+', '-', '@') gets a leading apostrophe, so that a spreadsheet
    shows an article's words rather than running them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for incident in incidents:
        row = row_of(incident)
        writer.writerow({k: _inert(v) for k, v in row.items()})
    return out.getvalue()


def _inert(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def incidents_geojson(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection (RFC 7946): a Point per incident with a known place, at [lon, lat], with
    the CSV's columns as properties; an incident without coordinates has a null geometry."""
    features = []
    for incident in incidents:
        row = row_of(incident)
        has_point = row["lat"] is not None and row["lon"] is not None
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if has_point else None
        properties = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        features.append({"type": "Feature", "id": row["incident_id"], "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
