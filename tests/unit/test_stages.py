"""Each stage name gives that stage's worker."""

from __future__ import annotations

import pytest

from services.contracts import StageName
from services.runtime.settings import Settings
from services.stages import worker_for


def test_each_stage_name_gives_its_own_worker() -> None:
    for stage in StageName:
        assert worker_for(stage.value, Settings()).stage is stage
        assert worker_for(stage, Settings()).stage is stage
    with pytest.raises(ValueError, match="nope"):
        worker_for("nope", Settings())
