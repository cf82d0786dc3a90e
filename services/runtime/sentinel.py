"""Redis Sentinel: which Redis is the primary now, and noticing when a replica is promoted.

With INCIDENTFEED_REDIS_SENTINELS set (host:port,...), every process asks the sentinels for the
primary of INCIDENTFEED_REDIS_SERVICE instead of using INCIDENTFEED_REDIS_URL's host; the URL
still gives the scheme, the user and password, and the database. A worker watches the
sentinels while it runs and, when they promote a replica, finishes with the old primary and
starts again on the new one (`incidentfeed worker`); entries it had in hand are reclaimed, as
after a crash. Replication is asynchronous: see the README's Guarantees for what a failover
can lose, and INCIDENTFEED_REDIS_WAIT_REPLICAS for the mode that waits for a replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_fixed,
)

from services.runtime.settings import Settings

Address = tuple[str, int]


class NoPrimary(RuntimeError):
    pass


def sentinel_addresses(settings: Settings) -> list[Address]:
    return settings.sentinel_addresses()


def ask_sentinels(sentinels: list[Address] | redis.sentinel.Sentinel, service: str) -> Address | None:
    """The primary the sentinels name (redis-py's discovery: the first sentinel that knows a primary
    it does not think down), or None. Pass a Sentinel to ask again over its connections."""
    asked = (
        sentinels
        if isinstance(sentinels, redis.sentinel.Sentinel)
        else redis.sentinel.Sentinel(sentinels, socket_timeout=1)
    )
    try:
        host, port = asked.discover_master(service)
    except redis.sentinel.MasterNotFoundError:
        return None
    return str(host), int(port)


def url_for(settings: Settings, address: Address) -> str:
    """INCIDENTFEED_REDIS_URL with its host and port replaced by the primary's."""
    parts = urlsplit(settings.redis_url or "redis://localhost:6379/0")
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{address[0]}:{address[1]}" if credentials else f"{address[0]}:{address[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/0", parts.query, parts.fragment))


def redis_url(settings: Settings, wait_s: float = 60.0) -> str | None:
    """The URL to use now: INCIDENTFEED_REDIS_URL, or with sentinels, the current primary's
    (waiting up to `wait_s` while they elect one that answers as a primary)."""
    sentinels = sentinel_addresses(settings)
    if not sentinels:
        return settings.redis_url

    asked = redis.sentinel.Sentinel(sentinels, socket_timeout=1)  # one set of connections for every try

    def answering_primary() -> str:
        address = ask_sentinels(asked, settings.redis_service)
        if address is not None:
            url = url_for(settings, address)
            with contextlib.suppress(redis.RedisError), redis.Redis.from_url(url, socket_timeout=2) as client:
                if client.execute_command("ROLE")[0] in (b"master", "master"):
                    return url
        raise NoPrimary(f"no primary for {settings.redis_service!r} from the sentinels {sentinels}")

    waiting = Retrying(
        retry=retry_if_exception_type(NoPrimary), stop=stop_after_delay(wait_s), wait=wait_fixed(0.5), reraise=True
    )
    return waiting(answering_primary)


async def watch_primary(settings: Settings, current: str, every_s: float = 0.5) -> None:
    """Returns when the sentinels name another primary than `current` (or it stops being one)."""
    asked = aiosentinel.Sentinel(sentinel_addresses(settings), socket_timeout=1)  # its connections, reused each time
    try:
        await _until_another_primary(asked, settings, current, every_s)
    finally:
        for sentinel in asked.sentinels:
            await sentinel.aclose()


async def _until_another_primary(asked: aiosentinel.Sentinel, settings: Settings, current: str, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            host, port = await asked.discover_master(settings.redis_service)
            address: Address | None = (str(host), int(port))
        except redis.RedisError:  # none known (aiosentinel.MasterNotFoundError), or no sentinel answers
            address = None
        if address is not None and url_for(settings, address) != current:
            return
        try:
            client = aioredis.Redis.from_url(current, socket_timeout=1, socket_connect_timeout=1)
            try:
                role = await client.execute_command("ROLE")
            finally:
                await client.aclose()
            if role[0] not in (b"master", "master"):
                return  # demoted: an old primary that came back as a replica
        except redis.RedisError:
            continue  # down: the sentinels will say who is next


def _connection_options(settings: Settings) -> dict[str, object]:
    """User, password, database and TLS from INCIDENTFEED_REDIS_URL, for a client the sentinels place."""
    options = dict(redis.connection.parse_url(settings.redis_url or "redis://localhost:6379/0"))
    for key in ("host", "port", "path"):
        options.pop(key, None)
    if options.pop("connection_class", None) is redis.connection.SSLConnection:
        options["ssl"] = True
    return options


def sync_client(settings: Settings) -> redis.Redis:
    """A client of the primary that follows a promotion: with sentinels, each new connection asks
    them where the primary is (a command that meets the old one fails once; the next one goes to
    the new)."""
    sentinels = sentinel_addresses(settings)
    if not sentinels:
        return redis.Redis.from_url(settings.redis_url or "redis://localhost:6379/0")
    sentinel = redis.sentinel.Sentinel(sentinels, socket_timeout=2)
    return sentinel.master_for(settings.redis_service, socket_timeout=10, **_connection_options(settings))  # type: ignore[arg-type]


def async_client(settings: Settings) -> aioredis.Redis:
    """The asyncio form of `sync_client` (the HTTP reader's)."""
    sentinels = sentinel_addresses(settings)
    if not sentinels:
        return aioredis.Redis.from_url(settings.redis_url or "redis://localhost:6379/0")
    sentinel = aiosentinel.Sentinel(sentinels, socket_timeout=2)
    return sentinel.master_for(settings.redis_service, **_connection_options(settings))  # type: ignore[arg-type]


RETRIES_ON_A_LOST_PRIMARY = 120
"""A worker whose primary stops answering asks the sentinels again once a second, this many times
(two minutes: on a loaded machine the sentinels took longer than 30 s to promote a replica)."""
log = logging.getLogger("incidentfeed.worker")


def run_following_the_primary(build_app: Callable[[Settings], Any], settings: Settings, name: str = "") -> None:
    """Run a worker's app until SIGTERM; with sentinels, on the primary they name, and again on
    each primary they promote (entries it had in hand are reclaimed, as after a crash)."""
    if not sentinel_addresses(settings):
        wait_for_redis(settings, name)
        asyncio.run(build_app(settings).run())
        return
    retrying = Retrying(
        retry=retry_if_exception_type((redis.RedisError, OSError)),  # the primary lost: down, demoted, timing out
        stop=stop_after_attempt(RETRIES_ON_A_LOST_PRIMARY + 1),
        wait=wait_fixed(1),
        before_sleep=lambda attempt: log.warning(
            "%s worker: the primary does not answer (%s); asking the sentinels again",
            name,
            attempt.outcome.exception() if attempt.outcome else "",
        ),
        reraise=True,
    )
    while retrying(_run_until_another_primary, build_app, settings):
        log.warning("%s worker: the sentinels promoted another primary; starting again on it", name)


STARTUP_ATTEMPTS = 5
"""A worker started before its Redis answers asks this many times, a second apart, then gives up."""


def wait_for_redis(settings: Settings, name: str = "") -> None:
    """Return once INCIDENTFEED_REDIS_URL answers; raise its ConnectionError after STARTUP_ATTEMPTS."""

    def ping() -> None:
        with redis.Redis.from_url(settings.redis_url or "redis://localhost:6379/0", socket_timeout=2) as client:
            client.ping()

    Retrying(
        retry=retry_if_exception_type(redis.ConnectionError),
        stop=stop_after_attempt(STARTUP_ATTEMPTS),
        wait=wait_fixed(1),
        before_sleep=lambda attempt: log.warning(
            "%s worker: Redis does not answer yet (%s)", name, attempt.outcome.exception() if attempt.outcome else ""
        ),
        reraise=True,
    )(ping)


def _run_until_another_primary(build_app: Callable[[Settings], Any], settings: Settings) -> bool:
    """Run the app on the current primary until SIGTERM (False) or until the sentinels name another (True)."""
    current = settings.model_copy(update={"redis_url": redis_url(settings)})
    app = build_app(current)

    async def run() -> bool:
        followed = False

        async def follow() -> None:
            nonlocal followed
            await watch_primary(current, current.redis_url or "")
            followed = True
            app.exit()

        watcher = asyncio.create_task(follow())
        try:
            await app.run()
        finally:
            watcher.cancel()
        return followed

    return asyncio.run(run())
