"""Which worker runs which stage, in pipeline order."""

from __future__ import annotations

import importlib
import os
from typing import Any

from services.contracts import PIPELINE, StageName
from services.runtime.settings import Settings
from services.runtime.shell import StageWorker

WORKER_CLASSES = {
    StageName.CLEANER: ("services.cleaner.worker", "CleanerWorker"),
    StageName.ENTITIES: ("services.entities.worker", "EntitiesWorker"),
    StageName.CASUALTIES: ("services.casualties.worker", "CasualtiesWorker"),
    StageName.DEDUP: ("services.dedup.worker", "DedupWorker"),
    StageName.PUBLISHER: ("services.publisher.worker", "PublisherWorker"),
}
"""Each stage's worker: its module (imported only by a process that runs the stage, since spaCy is
slow to import) and its class."""


def worker_module(stage: StageName | str) -> Any:
    """The module of a stage's worker, imported; an unknown stage name raises ValueError."""
    return importlib.import_module(WORKER_CLASSES[StageName(stage)][0])


def worker_for(stage: StageName | str, settings: Settings) -> StageWorker[Any]:
    worker_class = getattr(worker_module(stage), WORKER_CLASSES[StageName(stage)][1])
    return worker_class(settings)  # type: ignore[no-any-return]


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
