"""The dedup stage in the shell: articles.figures -> incidents.changes."""

from collections.abc import Callable, Sequence
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.contracts import FiguresArticle, IncidentChange, Rejected, StageName, Stream
from services.dedup.cluster import mentioned_articles
from services.dedup.store import (
    DAY_SECONDS,
    NearDuplicateIndex,
    close_idle_incidents,
    migrate_near_duplicate_index,
    publish_due_copies,
    record_article,
)
from services.runtime.shell import Delivery, StageWorker, log


class DedupWorker(StageWorker[FiguresArticle]):
    stage = StageName.DEDUP
    input_stream = Stream.FIGURES
    output_stream = Stream.INCIDENT_CHANGES
    input_model = FiguresArticle
    tick_s = 0.25  # cheap (two sorted-set reads); a syndicated copy or a closing is never more than this late

    async def setup(self, redis: Redis) -> None:
        self.near_duplicates = NearDuplicateIndex()
        if filed := await migrate_near_duplicate_index(redis, self.near_duplicates):
            log.info("dedup: %d reports of open incidents moved to the near-duplicate buckets", filed)

    def publisher(self, acknowledge: str | None = None) -> Callable[[Pipeline, list[IncidentChange]], None]:
        """What dedup's transactions add of the stage's own: its changes on `incidents.changes`, and
        the acknowledgement of the input entry `acknowledge` where there is one."""

        def publish(pipe: Pipeline, changes: list[IncidentChange]) -> None:
            for change in changes:
                self.add_output(pipe, change)
            if acknowledge is not None:
                pipe.xack(self.input_stream, self.stage, acknowledge)

        return publish

    async def tick(self, redis: Redis) -> None:
        """Syndicated copies that no revision has shown yet reach the feed after a quiet period; incidents
        idle past the horizon are closed."""
        await publish_due_copies(redis, self.publisher())
        horizon_s = self.settings.incident_horizon_days * DAY_SECONDS
        await close_idle_incidents(redis, horizon_s, self.near_duplicates)

    async def handle(self, redis: Redis, deliveries: Sequence[Delivery]) -> None:
        window = timedelta(hours=self.settings.dedup_window_hours)
        for delivery in deliveries:
            article = self.decode(delivery)
            if isinstance(article, Rejected):
                await self.dead_letter_now(redis, delivery, article)
                continue
            try:
                # Incidents the article mentions first, without acknowledging: a retry finds them
                # already recorded (a repeat) and changes nothing.
                for mention in mentioned_articles(article):
                    await record_article(
                        redis, mention, window, self.publisher(), self.near_duplicates, self.settings.copy_quiet_s
                    )
                decision, _ = await record_article(
                    redis, article, window, self.publisher(delivery.entry_id), self.near_duplicates,
                    self.settings.copy_quiet_s,
                )  # fmt: skip
                log.info(
                    "dedup %s -> %s %s (%s)", article.meta.article_id, decision.action, decision.incident_id,
                    decision.reason,
                    extra={"stage": "dedup", "article_id": article.meta.article_id,
                           "incident_id": decision.incident_id},
                )  # fmt: skip
            except Exception as error:
                log.exception("dedup failed on %s", delivery.entry_id)
                await self.record_error(redis, delivery, error)
