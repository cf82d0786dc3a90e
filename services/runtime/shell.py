"""The worker shell: consumer groups, ack after publish, reclaim, retries, dead letters.

FastStream reads: one group subscriber takes new entries (XREADGROUP `>`) in batches, a second
one with `min_idle_time` reclaims entries a crashed or stuck peer left pending (XAUTOCLAIM).
FastStream 0.7 sends nothing to Redis on nack/reject and has no retry cap or dead-letter
stream, so the shell does that itself: outputs, dead letters and the XACK of the inputs go to
Redis in one MULTI/EXEC transaction, so an entry is acknowledged exactly when what it produced
is published, and an entry delivered more than `max_deliveries` times goes to `deadletter`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import orjson
import pydantic
from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage, RedisStreamMessage
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from services.contracts import (
    PAYLOAD_FIELD,
    PIPELINE,
    STREAM_MODELS,
    DeadLetter,
    Message,
    Rejected,
    SkippedArticle,
    StageName,
    Stream,
    utc_now,
)
from services.runtime.observability import (
    DEAD_LETTERED,
    FAILED,
    LAG,
    PENDING,
    PROCESSED,
    PROCESSING,
    SKIPPED,
    Health,
    configure_logging,
    serve_metrics,
)
from services.runtime.settings import Settings
from services.runtime.streams import as_text, ensure_groups, group_named, unfinished

log = logging.getLogger("incidentfeed.worker")

InT = TypeVar("InT", bound=Message)
ERRORS_KEY = "incidentfeed:errors:{stage}"
"""Hash: entry id -> the last unexpected error, so a dead letter can say what failed."""


@dataclass(frozen=True)
class Delivery:
    """One stream entry as read: its id, its fields and how often it has been delivered."""

    entry_id: str
    fields: Mapping[bytes, bytes]
    delivery_count: int = 1

    @property
    def payload(self) -> bytes:
        return self.fields.get(PAYLOAD_FIELD.encode(), b"")


class StageWorker(Generic[InT]):
    """A stage inside the shell. Pure stages override `transform`; stateful ones `handle`."""

    stage: ClassVar[StageName]
    input_stream: ClassVar[Stream]
    output_stream: ClassVar[Stream]
    input_model: ClassVar[type[Message]]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failures = 0  # entries this process failed on unexpectedly, for the metrics
        self.trimmed_at = 0.0
        self.in_hand: set[str] = set()  # entry ids this process is handling now

    async def setup(self, redis: Redis) -> None:
        """Load what the stage needs (models, connections) once per process."""

    tick_s: ClassVar[float | None] = None
    """A stage with timed work (dedup's quiet period for syndicated copies) sets how often `tick` runs."""

    async def tick(self, redis: Redis) -> None:
        """Timed work, every `tick_s` seconds while the worker runs."""

    def transform(self, items: Sequence[InT]) -> list[Message | Rejected]:
        """Pure: one output or one rejection for each input, in order."""
        raise NotImplementedError

    def output_fields(self, message: Message) -> dict[str, bytes]:
        return {PAYLOAD_FIELD: message.to_bytes()}

    async def handle(self, redis: Redis, deliveries: Sequence[Delivery]) -> None:
        """Decode, transform, then publish outputs and acknowledge inputs in one transaction."""
        decoded = [self.decode(delivery) for delivery in deliveries]
        valid = [(d, item) for d, item in zip(deliveries, decoded, strict=True) if not isinstance(item, Rejected)]
        results: dict[str, Message | Rejected | BaseException] = {
            d.entry_id: item for d, item in zip(deliveries, decoded, strict=True) if isinstance(item, Rejected)
        }
        if valid:
            results.update(self._transform_isolated(valid))
        pipe = redis.pipeline(transaction=True)
        for delivery in deliveries:
            result = results[delivery.entry_id]
            if isinstance(result, BaseException) and not isinstance(result, Rejected):
                await self.record_error(redis, delivery, result)
                continue  # left pending: retried after claim_idle_ms, dead-lettered after N tries
            if isinstance(result, Rejected):
                self.add_dead_letter(pipe, delivery, result.reason, result.error)
            else:
                self.add_output(pipe, result)
            pipe.xack(self.input_stream, self.stage, delivery.entry_id)
        await pipe.execute()

    def _transform_isolated(self, valid: list[tuple[Delivery, InT]]) -> dict[str, Message | Rejected | BaseException]:
        """Transform a batch; if it raises, one at a time, so one bad input holds up no other."""
        try:
            outputs = self.transform([item for _, item in valid])
            return {d.entry_id: out for (d, _), out in zip(valid, outputs, strict=True)}
        except Exception as error:
            if len(valid) == 1:
                log.exception("stage %s failed on entry %s", self.stage, valid[0][0].entry_id)
                return {valid[0][0].entry_id: error}
        results: dict[str, Message | Rejected | BaseException] = {}
        for pair in valid:
            results.update(self._transform_isolated([pair]))
        return results

    def decode(self, delivery: Delivery) -> InT | Rejected:
        payload = delivery.payload
        if not payload:
            return Rejected("invalid_message", f"the entry has no '{PAYLOAD_FIELD}' field")
        try:
            return self.input_model.from_bytes(payload)  # type: ignore[no-any-return]
        except orjson.JSONDecodeError as error:
            return Rejected("invalid_message", f"the payload is not valid JSON: {error}")
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in error.errors()
            )
            return Rejected("invalid_message", f"the payload is not a valid {self.input_model.__name__}: {problems}")

    def add_output(self, pipe: Pipeline, message: Message) -> None:
        if isinstance(message, SkippedArticle):  # no attack reported: recorded apart, not passed on
            fields = {PAYLOAD_FIELD: message.to_bytes()}
            pipe.xadd(Stream.SKIPPED, fields, maxlen=self.settings.skipped_maxlen, approximate=True)  # type: ignore[arg-type]
            SKIPPED.labels(self.stage, message.relevance.outcome).inc()
            log.info(
                "%s skipped %s: %s (attack probability %.2f)", self.stage, message.meta.article_id,
                message.relevance.outcome, message.relevance.attack_probability,
                extra={"stage": str(self.stage), "article_id": message.meta.article_id},
            )  # fmt: skip
            return
        pipe.xadd(self.output_stream, self.output_fields(message))  # type: ignore[arg-type]

    def add_dead_letter(self, pipe: Pipeline, delivery: Delivery, reason: str, error: str) -> None:
        letter = DeadLetter(
            stage=self.stage,
            stream=self.input_stream,
            entry_id=delivery.entry_id,
            reason=reason,
            error=error,
            payload=delivery.payload.decode("utf-8", errors="replace"),
            delivery_count=delivery.delivery_count,
            article_id=guess_article_id(delivery.payload),
            failed_at=utc_now(),
        )
        pipe.xadd(Stream.DEADLETTER, {PAYLOAD_FIELD: letter.to_bytes()})
        pipe.hdel(ERRORS_KEY.format(stage=self.stage), delivery.entry_id)
        DEAD_LETTERED.labels(self.stage, reason).inc()
        log.warning(
            "dead letter from %s: %s (%s)", self.stage, reason, error[:200],
            extra={"stage": str(self.stage), "article_id": letter.article_id, "entry_id": delivery.entry_id,
                   "reason": reason},
        )  # fmt: skip

    async def dead_letter_now(self, redis: Redis, delivery: Delivery, rejected: Rejected) -> None:
        pipe = redis.pipeline(transaction=True)
        self.add_dead_letter(pipe, delivery, rejected.reason, rejected.error)
        pipe.xack(self.input_stream, self.stage, delivery.entry_id)
        await pipe.execute()

    async def record_error(self, redis: Redis, delivery: Delivery, error: BaseException) -> None:
        self.failures += 1
        FAILED.labels(self.stage).inc()
        await redis.hset(ERRORS_KEY.format(stage=self.stage), delivery.entry_id, f"{type(error).__name__}: {error}")

    async def give_up(self, redis: Redis, delivery: Delivery) -> None:
        """Move an entry delivered too often to `deadletter`, with the last error seen."""
        last_error = await redis.hget(ERRORS_KEY.format(stage=self.stage), delivery.entry_id)
        error = last_error.decode() if last_error else "no worker finished it (crashed or timed out)"
        failures = f"failed {delivery.delivery_count - 1} times; last error: {error}"
        await self.dead_letter_now(redis, delivery, Rejected("max_deliveries_exceeded", failures))


def guess_article_id(payload: bytes) -> str | None:
    """The article id inside a payload, if there is one, for dead letters."""
    try:
        decoded: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, dict):
        return None
    for holder in (decoded, decoded.get("meta"), decoded.get("data")):
        if isinstance(holder, dict):
            for key in ("article_id", "id"):
                if isinstance(holder.get(key), str):
                    return str(holder[key])
    return None


def build_app(worker: StageWorker[Any], settings: Settings) -> FastStream:
    """The FastStream application that runs one stage: a broker and two subscribers."""
    if not settings.redis_url:
        raise SystemExit("INCIDENTFEED_REDIS_URL is not set: say which Redis the worker should use.")
    configure_logging(settings.log_level, settings.log_format)
    broker = new_broker(settings)
    app = FastStream(broker)
    clients: dict[str, Redis] = {}
    consumer = settings.consumer(worker.stage)
    health = Health()
    tasks: list[asyncio.Task[None]] = []

    @app.on_startup
    async def connect() -> None:
        with SyncRedis.from_url(settings.redis_url or "") as setup_client:
            ensure_groups(setup_client, [(worker.stage, worker.input_stream)])
        clients["redis"] = Redis.from_url(settings.redis_url or "")
        await worker.setup(clients["redis"])
        # Joining the group only once set up (models loaded) lets XINFO CONSUMERS show who is ready.
        await clients["redis"].xgroup_createconsumer(worker.input_stream, worker.stage, consumer)
        log.info("%s worker %s reading %s", worker.stage, consumer, worker.input_stream)
        if settings.metrics_port:
            serve_metrics(settings.metrics_port, health)
        health.started = True
        tasks.append(asyncio.create_task(watch_group(clients["redis"], worker, health)))
        if worker.tick_s:
            tasks.append(asyncio.create_task(run_ticks(clients["redis"], worker)))

    @app.after_shutdown
    async def disconnect() -> None:
        health.started = False
        for task in tasks:
            task.cancel()
        if "redis" in clients:
            await clients["redis"].aclose()

    register_stage(broker, worker, settings, consumer, clients)
    return app


def new_broker(settings: Settings) -> RedisBroker:
    return RedisBroker(
        settings.redis_url or "redis://localhost:6379",
        graceful_timeout=settings.graceful_timeout_s,
        log_level=logging.DEBUG,  # FastStream logs every message at this level; ours are the summaries
    )


def register_stage(
    broker: RedisBroker,
    worker: StageWorker[Any],
    settings: Settings,
    consumer: str,
    clients: dict[str, Redis],
) -> None:
    """A group subscriber for new entries, one that reclaims stale ones, and the output."""

    @broker.subscriber(
        stream=StreamSub(
            worker.input_stream,
            group=worker.stage,
            consumer=consumer,
            batch=True,
            max_records=settings.batch_size,
            polling_interval=settings.poll_ms,
        ),
        ack_policy=AckPolicy.MANUAL,
        parser=_keep_entries_raw,
        decoder=_leave_body_undecoded,
        title=f"{worker.stage}:{worker.input_stream}",
        description=f"The {worker.stage} stage reads {worker.input_model.__name__} messages.",
    )
    async def consume_new(body: Any, msg: RedisBatchStreamMessage) -> None:
        raw = msg.raw_message
        deliveries = [
            Delivery(as_text(entry_id), fields)
            for entry_id, fields in zip(raw["message_ids"], raw["data"], strict=True)
        ]
        await handle_measured(worker, clients["redis"], deliveries, consumer)

    @broker.subscriber(
        stream=StreamSub(
            worker.input_stream,
            group=worker.stage,
            consumer=consumer,
            min_idle_time=settings.claim_idle_ms,
            polling_interval=max(settings.poll_ms, 200),
        ),
        ack_policy=AckPolicy.MANUAL,
        parser=_keep_entries_raw,
        decoder=_leave_body_undecoded,
        include_in_schema=False,
    )
    async def reclaim_pending(body: Any, msg: RedisStreamMessage) -> None:
        raw = msg.raw_message
        entry_id = as_text(raw["message_ids"][0])
        if entry_id in worker.in_hand:
            return  # idle past claim_idle_ms because this process is still on it: not stale
        client = clients["redis"]
        pending = await client.xpending_range(worker.input_stream, worker.stage, min=entry_id, max=entry_id, count=1)
        if not pending:
            return  # acknowledged since it was claimed: done already
        deliveries = int(pending[0]["times_delivered"])
        delivery = Delivery(entry_id, raw["data"], deliveries)
        if deliveries > settings.max_deliveries:
            await worker.give_up(client, delivery)
        else:
            log.info("%s reclaimed entry %s (delivery %d)", worker.stage, entry_id, deliveries)
            await handle_measured(worker, client, [delivery], consumer)

    # Registered for the AsyncAPI document only: the shell publishes through its own pipeline.
    broker.publisher(
        stream=worker.output_stream,
        schema=STREAM_MODELS[worker.output_stream],
        title=f"{worker.stage}:{worker.output_stream}",
        description=f"What the {worker.stage} stage publishes.",
    )


async def wait_for_room(worker: StageWorker[Any], redis: Redis) -> None:
    """Backpressure: while the next stage has `max_backlog` entries unfinished, hold the batch."""
    next_stage = next((stage for stage, input_stream, _ in PIPELINE if input_stream == worker.output_stream), None)
    if next_stage is None:
        return
    waited = False
    while True:
        group = group_named(await redis.xinfo_groups(worker.output_stream), next_stage)
        behind = unfinished(group) if group else 0
        if behind < worker.settings.max_backlog:
            return
        if not waited:
            log.info("%s waits: %s has %d entries unfinished", worker.stage, worker.output_stream, behind)
            waited = True
        await asyncio.sleep(0.5)


async def trim_finished(worker: StageWorker[Any], redis: Redis) -> None:
    """Drop the input entries this stage's group has finished, so that streams stay bounded."""
    group = group_named(await redis.xinfo_groups(worker.input_stream), worker.stage)
    if group is None:
        return
    oldest = as_text(group["last-delivered-id"])
    if group["pending"]:
        oldest = as_text((await redis.xpending(worker.input_stream, worker.stage))["min"])
    if oldest != "0-0":
        await redis.xtrim(worker.input_stream, minid=oldest, approximate=True)


async def handle_measured(worker: StageWorker[Any], redis: Redis, deliveries: list[Delivery], consumer: str) -> None:
    entry_ids = {delivery.entry_id for delivery in deliveries}
    worker.in_hand |= entry_ids
    lease = asyncio.create_task(keep_claimed(worker, redis, sorted(entry_ids), consumer))
    try:
        await wait_for_room(worker, redis)
        failures_before, started = worker.failures, time.perf_counter()
        await worker.handle(redis, deliveries)
        if worker.settings.redis_wait_replicas:  # the batch's writes on a replica before reading on
            await redis.execute_command("WAIT", worker.settings.redis_wait_replicas, worker.settings.redis_wait_ms)
    finally:
        lease.cancel()
        worker.in_hand -= entry_ids
    PROCESSING.labels(worker.stage).observe(time.perf_counter() - started)
    PROCESSED.labels(worker.stage).inc(len(deliveries) - (worker.failures - failures_before))
    if time.monotonic() - worker.trimmed_at > 1.0:
        worker.trimmed_at = time.monotonic()
        await trim_finished(worker, redis)


async def keep_claimed(worker: StageWorker[Any], redis: Redis, entry_ids: list[str], consumer: str) -> None:
    """While a batch is in hand, reset its entries' idle time every third of `claim_idle_ms`, so
    that no peer takes a slow batch for a crashed worker's. XCLAIM with JUSTID leaves the delivery
    count alone (a slow batch is not a failed one)."""
    every_s = worker.settings.claim_idle_ms / 3000
    while True:
        await asyncio.sleep(every_s)
        try:
            await redis.xclaim(worker.input_stream, worker.stage, consumer, 0, entry_ids, justid=True)
        except RedisError as error:  # Redis away for a moment: the batch's own writes will say so
            log.warning("%s could not renew its claim on %d entries: %s", worker.stage, len(entry_ids), error)


async def run_ticks(redis: Redis, worker: StageWorker[Any]) -> None:
    while True:
        await asyncio.sleep(worker.tick_s or 1.0)
        try:
            await worker.tick(redis)
        except Exception:  # Redis away, or a bug: logged, and tried again at the next tick
            log.exception("%s: timed work failed", worker.stage)


async def watch_group(redis: Redis, worker: StageWorker[Any], health: Health, every_s: float = 2.0) -> None:
    """Keep the lag and pending gauges current, and note that Redis answers."""
    while True:
        try:
            group = group_named(await redis.xinfo_groups(worker.input_stream), worker.stage)
            if group is not None:
                LAG.labels(worker.stage).set(group.get("lag") or 0)
                PENDING.labels(worker.stage).set(group["pending"])
            health.redis_ok()
        except Exception as error:  # Redis away: the health endpoint will say so
            log.warning("cannot read %s's group: %s", worker.stage, error)
        await asyncio.sleep(every_s)


async def _keep_entries_raw(message: Any, original_parser: Any) -> Any:
    """FastStream's parser decodes entry fields as UTF-8 JSON and fails a whole batch on one
    binary entry; the shell reads `raw_message` itself, so the parser sees placeholders."""
    data = message["data"]
    placeholders: list[dict[bytes, bytes]] | dict[bytes, bytes] = [{} for _ in data] if isinstance(data, list) else {}
    parsed = await original_parser({**message, "data": placeholders})
    parsed.raw_message = message
    return parsed


async def _leave_body_undecoded(message: Any) -> None:
    """The shell decodes payloads itself, per entry, so that one bad entry fails alone."""
    return None
