"""The publisher stage in the shell: incidents.changes -> feed.v1 and feed.v1.latest."""

from collections.abc import Sequence

from redis.asyncio import Redis

from services.contracts import LATEST_VIEW_KEY, IncidentChange, Rejected, StageName, Stream
from services.publisher.feed import HISTORY_KEY, PUBLISH_IN_ORDER, REVISION_KEY, RevisionOutOfOrder, to_event
from services.runtime.shell import Delivery, StageWorker, log


class PublisherWorker(StageWorker[IncidentChange]):
    stage = StageName.PUBLISHER
    input_stream = Stream.INCIDENT_CHANGES
    output_stream = Stream.FEED
    input_model = IncidentChange

    async def setup(self, redis: Redis) -> None:
        self.publish_in_order = redis.register_script(PUBLISH_IN_ORDER)

    async def handle(self, redis: Redis, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            change = self.decode(delivery)
            if isinstance(change, Rejected):
                await self.dead_letter_now(redis, delivery, change)
                continue
            event = to_event(change)
            incident = change.incident
            last_chance = delivery.delivery_count >= self.settings.max_deliveries
            try:
                published = await self.publish_in_order(
                    keys=[REVISION_KEY, LATEST_VIEW_KEY, Stream.FEED, self.input_stream,
                          HISTORY_KEY.format(incident.incident_id)],
                    args=[incident.incident_id, incident.revision, event.to_bytes(),
                          self.settings.feed_maxlen, self.stage, delivery.entry_id, "1" if last_chance else "0"],
                )  # fmt: skip
                if published == -1:
                    raise RevisionOutOfOrder(f"{event.id} waits for revision {incident.revision - 1}")
            except RevisionOutOfOrder as early:
                log.info(
                    "%s; it stays pending", early, extra={"stage": "publisher", "incident_id": incident.incident_id}
                )
                await self.record_error(redis, delivery, early)
            except Exception as error:
                log.exception("publishing %s failed", event.id)
                await self.record_error(redis, delivery, error)
