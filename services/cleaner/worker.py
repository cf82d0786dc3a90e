"""The cleaner stage in the shell: articles.raw -> articles.clean."""

from collections.abc import Sequence

from services.cleaner.clean import clean_article
from services.contracts import CleanArticle, Message, RawArticle, Rejected, SkippedArticle, StageName, Stream, utc_now
from services.relevance.decide import pass_or_skip
from services.runtime.shell import StageWorker


class CleanerWorker(StageWorker[RawArticle]):
    stage = StageName.CLEANER
    input_stream = Stream.RAW
    output_stream = Stream.CLEAN
    input_model = RawArticle

    def transform(self, items: Sequence[RawArticle]) -> list[Message | Rejected]:
        return [self.clean_one(item) for item in items]

    def clean_one(self, item: RawArticle) -> CleanArticle | SkippedArticle | Rejected:
        try:
            clean = clean_article(item, ingested_at=utc_now(), max_bytes=self.settings.max_article_bytes)
        except Rejected as rejected:
            return rejected
        return pass_or_skip(clean)
