"""Which worker runs which stage, in pipeline order."""

from __future__ import annotations

from typing import Any

from services.contracts import PIPELINE, StageName
from services.runtime.settings import Settings
from services.runtime.shell import StageWorker


def worker_for(stage: StageName | str, settings: Settings) -> StageWorker[Any]:
    # Imported here so that a worker process loads only its own stage (spaCy is slow to import).
    stage = StageName(stage)  # a plain "cleaner" too; an unknown name raises ValueError
    if stage is StageName.CLEANER:
        from services.cleaner.worker import CleanerWorker

        return CleanerWorker(settings)
    if stage is StageName.ENTITIES:
        from services.entities.worker import EntitiesWorker

        return EntitiesWorker(settings)
    if stage is StageName.CASUALTIES:
        from services.casualties.worker import CasualtiesWorker

        return CasualtiesWorker(settings)
    if stage is StageName.DEDUP:
        from services.dedup.worker import DedupWorker

        return DedupWorker(settings)
    from services.publisher.worker import PublisherWorker

    return PublisherWorker(settings)


STAGES: tuple[StageName, ...] = tuple(stage for stage, _, _ in PIPELINE)
