"""The entity stage in the shell: articles.clean -> articles.entities (the one spaCy parse)."""

from collections.abc import Sequence

from redis.asyncio import Redis

from services.contracts import CleanArticle, Message, Rejected, StageName, Stream
from services.entities.extract import extract_or_skip_batch, process_pipeline
from services.runtime.shell import StageWorker


class EntitiesWorker(StageWorker[CleanArticle]):
    stage = StageName.ENTITIES
    input_stream = Stream.CLEAN
    output_stream = Stream.ENTITIES
    input_model = CleanArticle

    async def setup(self, redis: Redis) -> None:
        self.nlp = process_pipeline()

    def transform(self, items: Sequence[CleanArticle]) -> list[Message | Rejected]:
        return list(extract_or_skip_batch(self.nlp, items))
