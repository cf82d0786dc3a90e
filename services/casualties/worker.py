"""The casualty stage in the shell: articles.entities -> articles.figures."""

from collections.abc import Sequence

from services.casualties.figures import figures_for
from services.contracts import EntityArticle, Message, Rejected, StageName, Stream
from services.runtime.shell import StageWorker


class CasualtiesWorker(StageWorker[EntityArticle]):
    stage = StageName.CASUALTIES
    input_stream = Stream.ENTITIES
    output_stream = Stream.FIGURES
    input_model = EntityArticle

    def transform(self, items: Sequence[EntityArticle]) -> list[Message | Rejected]:
        return [figures_for(item) for item in items]
