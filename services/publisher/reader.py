"""A small read-only HTTP reader of the feed, for consumers who cannot reach Redis.

GET /v1/incidents, /v1/incidents/{id}, /v1/incidents/{id}/revisions, downloads of the current
incidents at /v1/incidents.geojson and /v1/incidents.csv, and Server-Sent Events at /v1/stream
that resume from Last-Event-ID (the feed.v1 entry id). OpenAPI at /openapi.json; the page a
person watches at / (services/web). It only ever reads: the compacted view, the revision
history and the feed stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import BaseModel
from redis.asyncio import Redis
from sse_starlette.sse import EventSourceResponse

from services.contracts import FEED_EVENT_FIELD, FEED_SCHEMA_VERSION, LATEST_VIEW_KEY, FeedEvent, Incident, Stream
from services.publisher.export import incidents_csv, incidents_geojson
from services.publisher.feed import HISTORY_KEY
from services.web.page import OWN_CSP_PATHS, SECURITY_HEADERS, add_page

MAX_PAGE = 500
STREAM_ID = r"^(\$|0|\d+-\d+)$"


class IncidentPage(BaseModel):
    total: int
    offset: int
    incidents: list[Incident]


class Revisions(BaseModel):
    incident_id: str
    events: list[FeedEvent]


def rate_limiter(rate: float, burst: int) -> Callable[[str], Awaitable[bool]]:
    """Whether a client address may have one more request: `rate` a second on average, bursts of up to
    `burst` (the `limits` package's moving window of `burst` requests over burst/rate seconds, in memory)."""
    window = RateLimitItemPerSecond(burst, max(1, round(burst / rate)))
    limiter = MovingWindowRateLimiter(MemoryStorage())

    async def allow(client: str) -> bool:
        return await limiter.hit(window, client)

    return allow


def create_reader(redis: str | Callable[[], Redis], rate: float = 20.0, burst: int = 40) -> FastAPI:
    """The read-only HTTP reader over a Redis URL, or a function that makes its client (one that
    follows a Sentinel failover: services/runtime/sentinel.py)."""
    state: dict[str, Redis] = {}
    allow = rate_limiter(rate, burst)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["redis"] = Redis.from_url(redis) if isinstance(redis, str) else redis()
        yield
        await state["redis"].aclose()

    app = FastAPI(
        title="incidentfeed reader",
        version=FEED_SCHEMA_VERSION,
        description="Read-only access to the incident feed: snapshots, revisions and a resumable event stream.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def read_only_and_rate_limited(request: Request, call_next: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"detail": "this reader is read-only"}, status_code=405)
        if not await allow(request.client.host if request.client else "unknown"):
            return JSONResponse(
                {"detail": f"too many requests: at most {rate:g} a second per client"},
                status_code=429,
                headers={"Retry-After": "1"} | SECURITY_HEADERS,
            )
        response = await call_next(request)
        if not request.url.path.startswith(OWN_CSP_PATHS):
            response.headers.update(SECURITY_HEADERS)
        return response

    async def current_incidents() -> list[dict[str, Any]]:
        """The latest revision of every incident, most recently updated first, merged ones left out."""
        events = [orjson.loads(raw) for raw in await state["redis"].hvals(LATEST_VIEW_KEY)]
        current = (e["data"] for e in events if not e["data"].get("merged_into"))
        return sorted(current, key=lambda i: i["updated_at"], reverse=True)

    @app.get("/v1/incidents", response_model=IncidentPage)
    async def list_incidents(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100, offset: Annotated[int, Query(ge=0)] = 0
    ) -> dict[str, Any]:
        """The latest revision of every incident, most recently updated first (merged ones left out:
        GET /v1/incidents/{id} still answers for them, with `merged_into` naming the survivor)."""
        incidents = await current_incidents()
        return {"total": len(incidents), "offset": offset, "incidents": incidents[offset : offset + limit]}

    @app.get("/v1/incidents.geojson", responses={200: {"content": {"application/geo+json": {}}}})
    async def download_geojson() -> Response:
        """Every current incident as a GeoJSON FeatureCollection: a Point at its place, with the CSV's columns."""
        body = orjson.dumps(incidents_geojson(await current_incidents()))
        return Response(body, media_type="application/geo+json", headers=_download("incidents.geojson"))

    @app.get("/v1/incidents.csv", responses={200: {"content": {"text/csv": {}}}})
    async def download_csv() -> Response:
        """Every current incident as a CSV row: id, event date, country, admin1, place, lat/lon, event type,
        weapons, killed and injured (low/best/high), reports, first and last seen, revision."""
        body = incidents_csv(await current_incidents())
        return Response(body, media_type="text/csv; charset=utf-8", headers=_download("incidents.csv"))

    @app.get(
        "/v1/incidents/{incident_id}", response_model=Incident, responses={404: {"description": "No such incident"}}
    )
    async def get_incident(incident_id: str) -> Any:
        """The latest revision of one incident."""
        raw = await state["redis"].hget(LATEST_VIEW_KEY, incident_id)
        if raw is None:
            raise HTTPException(404, f"no incident '{incident_id}' in the feed")
        return orjson.loads(raw)["data"]

    @app.get(
        "/v1/incidents/{incident_id}/revisions",
        response_model=Revisions,
        responses={404: {"description": "No such incident"}},
    )
    async def get_revisions(incident_id: str) -> dict[str, Any]:
        """Every revision published for one incident, oldest first."""
        raws = await state["redis"].lrange(HISTORY_KEY.format(incident_id), 0, -1)
        if not raws:
            raise HTTPException(404, f"no incident '{incident_id}' in the feed")
        return {"incident_id": incident_id, "events": [orjson.loads(raw) for raw in raws]}

    @app.get("/v1/stream", response_class=EventSourceResponse)
    async def stream(
        request: Request,
        last_event_id: Annotated[str | None, Header(pattern=STREAM_ID)] = None,
        start: Annotated[str, Query(pattern=STREAM_ID, description="'0' for all history, '$' for new only")] = "$",
    ) -> EventSourceResponse:
        """Server-Sent Events: one CloudEvent per message, id = the feed.v1 entry id.

        A client that reconnects with Last-Event-ID gets every event after that one.
        """
        cursor = last_event_id or start
        if cursor == "$":
            newest = await state["redis"].xrevrange(Stream.FEED, count=1)
            cursor = newest[0][0].decode() if newest else "0-0"

        async def events() -> AsyncIterator[dict[str, str]]:
            nonlocal cursor
            while not await request.is_disconnected():
                replies = await state["redis"].xread({Stream.FEED: cursor}, block=1000, count=100)
                for _, entries in replies or []:
                    for entry_id, fields in entries:
                        cursor = entry_id.decode()
                        event = fields[FEED_EVENT_FIELD.encode()].decode()
                        yield {"id": cursor, "event": orjson.loads(event)["type"], "data": event}

        return EventSourceResponse(events(), ping=15)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        await state["redis"].ping()
        return {"status": "ok"}

    add_page(app)
    return app


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
