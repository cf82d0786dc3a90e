"""Which worker runs which stage, in pipeline order."""

from __future__ import annotations

import importlib
import os
from typing import Any

from services.contracts import PIPELINE, StageName
from services.runtime.settings import Settings
from services.runtime.shell import StageWorker

WORKER_MODULES = {
    StageName.CLEANER: "services.cleaner.worker",
    StageName.ENTITIES: "services.entities.worker",
    StageName.CASUALTIES: "services.casualties.worker",
    StageName.DEDUP: "services.dedup.worker",
    StageName.PUBLISHER: "services.publisher.worker",
}


def worker_module(stage: StageName | str) -> Any:
    """The module of a stage's worker, imported."""
    return importlib.import_module(WORKER_MODULES[StageName(stage)])


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


ENTITY_REPLICAS_PER_LIGHT_REPLICA = 4
"""Casualties and dedup cost an eighth to a twelfth of the parse: one replica each per four entity replicas."""


def replica_plan(entity_replicas: int) -> dict[StageName, int]:
    """How many workers of each stage to start for a number of entity replicas."""
    light = -(-entity_replicas // ENTITY_REPLICAS_PER_LIGHT_REPLICA)
    return {
        StageName.CLEANER: 1,
        StageName.ENTITIES: entity_replicas,
        StageName.CASUALTIES: light,
        StageName.DEDUP: light,
        StageName.PUBLISHER: 1,
    }


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_entity_replicas() -> int:
    """One entity replica per usable core: the parse is the work, and the light stages fit beside it."""
    return max(1, usable_cores())
