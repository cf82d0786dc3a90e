"""Generating `schemas/` from contracts.py: a JSON Schema per stream message, and AsyncAPI."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from services.contracts import FEED_SCHEMA_VERSION, STREAM_MODELS, Incident, Stream

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _file_name(model_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model_name).lower() + ".json"


def generated_schemas(contracts: ModuleType | None = None, asyncapi: bool = True) -> dict[str, dict[str, Any]]:
    """Relative path under schemas/ -> JSON Schema, from services/contracts.py (or another module
    with its names: the contract tests hand an edited copy)."""
    stream_models: dict[Stream, type[Any]] = contracts.STREAM_MODELS if contracts else STREAM_MODELS
    incident_model: type[Any] = contracts.Incident if contracts else Incident
    files: dict[str, dict[str, Any]] = {}
    for stream, model in stream_models.items():
        folder = "feed" if stream == Stream.FEED else str(stream)
        name = "event.json" if stream == Stream.FEED else _file_name(model.__name__)
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"https://incidentfeed.org/schemas/{folder}/v1/{name}"
        schema["x-stream"] = str(stream)
        files[f"{folder}/v1/{name}"] = schema
    incident = incident_model.model_json_schema(mode="serialization")
    incident["$id"] = "https://incidentfeed.org/schemas/feed/v1/incident.json"
    incident["x-schema-version"] = FEED_SCHEMA_VERSION
    files["feed/v1/incident.json"] = incident
    if asyncapi:
        files["asyncapi.json"] = asyncapi_document()
    return files


def asyncapi_document() -> dict[str, Any]:
    """The pipeline as FastStream describes it: every stage's input and output streams."""
    from faststream.specification import AsyncAPI

    from services.runtime.settings import Settings
    from services.runtime.shell import new_broker, register_stage
    from services.stages import STAGES, worker_for

    settings = Settings(redis_url="redis://localhost:6379")
    broker = new_broker(settings)
    for stage in STAGES:
        register_stage(broker, worker_for(stage, settings), settings, f"{stage}-<host>-<pid>", {})
    document = AsyncAPI(
        broker,
        title="incidentfeed",
        version=FEED_SCHEMA_VERSION,
        description="Raw articles in, a deduplicated, versioned incident feed out, over Redis Streams.",
        schema_version="3.0.0",
    )
    return orjson.loads(document.to_specification().to_json())  # type: ignore[no-any-return]


def render(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def export(target: Path = SCHEMAS_DIR) -> list[Path]:
    written = []
    for relative, schema in generated_schemas().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(schema))
        written.append(path)
    return written


def stale_files(target: Path = SCHEMAS_DIR) -> list[str]:
    """Committed files that differ from what the code generates (empty when in step)."""
    return [
        relative
        for relative, schema in generated_schemas().items()
        if not (target / relative).exists() or (target / relative).read_bytes() != render(schema)
    ]


# --------------------------------------------------------------- compatibility of v1 schemas


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a consumer of `old` would trip on in `new`: lost or renamed fields, narrowed
    types, optional fields made required. Adding fields and widening types are fine."""
    problems: list[str] = []
    _compare(old, new, old.get("$defs", {}), new.get("$defs", {}), "", problems, set())
    return problems


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(defs[ref.removeprefix("#/$defs/")], defs)
    return schema


def _types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, defs)
    if "anyOf" in schema or "oneOf" in schema:
        return {t for option in schema.get("anyOf", schema.get("oneOf", [])) for t in _types(option, defs)}
    if "enum" in schema:
        return {f"enum:{value}" for value in schema["enum"]}
    if "const" in schema:
        return {f"enum:{schema['const']}"}
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if kind else {"any"}


def _compare(
    old: dict[str, Any],
    new: dict[str, Any],
    old_defs: dict[str, Any],
    new_defs: dict[str, Any],
    path: str,
    problems: list[str],
    seen: set[str],
) -> None:
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    if path in seen:
        return
    seen.add(path)
    old_types, new_types = _types(old, old_defs), _types(new, new_defs)
    if "any" not in new_types and not old_types <= new_types:
        problems.append(f"{path or 'message'}: type narrowed from {sorted(old_types)} to {sorted(new_types)}")
    for option_old in old.get("anyOf", []):
        for option_new in new.get("anyOf", []):
            if _resolve(option_old, old_defs).get("properties") and _resolve(option_new, new_defs).get("properties"):
                _compare(option_old, option_new, old_defs, new_defs, path, problems, seen)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_props.items():
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            problems.append(f"{where}: removed or renamed")
            continue
        _compare(schema, new_props[name], old_defs, new_defs, where, problems, seen)
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        if name in old_props:
            problems.append(f"{path + '.' if path else ''}{name}: optional field made required")
    if "items" in old and "items" in new:
        _compare(old["items"], new["items"], old_defs, new_defs, f"{path}[]", problems, seen)
