"""What an operator sees of a worker: Prometheus metrics, a health endpoint, JSON logs."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

REGISTRY = CollectorRegistry()
PROCESSED = Counter(
    "incidentfeed_messages_processed", "Entries a stage finished (output published or dead-lettered).",
    ["stage"], registry=REGISTRY,
)  # fmt: skip
FAILED = Counter(
    "incidentfeed_messages_failed", "Entries a stage failed on unexpectedly (left pending for a retry).",
    ["stage"], registry=REGISTRY,
)  # fmt: skip
DEAD_LETTERED = Counter(
    "incidentfeed_messages_dead_lettered", "Entries sent to deadletter, by reason.", ["stage", "reason"],
    registry=REGISTRY,
)  # fmt: skip
SKIPPED = Counter(
    "incidentfeed_articles_skipped", "Articles judged not to report a new attack, by outcome.", ["stage", "outcome"],
    registry=REGISTRY,
)  # fmt: skip
PROCESSING = Histogram(
    "incidentfeed_processing_seconds", "Seconds to handle one batch of entries.", ["stage"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)  # fmt: skip
LAG = Gauge(
    "incidentfeed_consumer_group_lag", "Entries not yet read by the stage's group.", ["stage"], registry=REGISTRY
)
PENDING = Gauge(
    "incidentfeed_consumer_group_pending", "Entries read but not yet acknowledged.", ["stage"], registry=REGISTRY
)


class Health:
    """Healthy while the worker runs and Redis answered recently."""

    def __init__(self, stale_after_s: float = 30.0) -> None:
        self.started = False
        self.last_redis_ok = 0.0
        self.stale_after_s = stale_after_s

    def redis_ok(self) -> None:
        self.last_redis_ok = time.monotonic()

    @property
    def healthy(self) -> bool:
        return self.started and time.monotonic() - self.last_redis_ok < self.stale_after_s


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


_SERVED: dict[int, tuple[WSGIServer, list[Health]]] = {}


def serve_metrics(port: int, health: Health) -> WSGIServer:
    """GET /metrics (Prometheus) and GET /healthz (200 or 503) on a background thread; once per
    process and port (a worker that follows a promoted Redis starts again, with a new health)."""
    if port in _SERVED:
        server, current = _SERVED[port]
        current[0] = health
        return server
    metrics = make_wsgi_app(REGISTRY)
    current = [health]

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            ok = current[0].healthy
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [json.dumps({"status": "ok" if ok else "unhealthy"}).encode()]
        return metrics(environ, start_response)

    server = make_server("0.0.0.0", port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    _SERVED[port] = (server, current)
    return server


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the stage, entry and article ids when a record has them."""

    FIELDS = ("stage", "article_id", "entry_id", "reason", "incident_id")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
