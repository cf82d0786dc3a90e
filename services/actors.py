"""Knowledge about people, organisations and parties that the text alone does not give
(data/actors.json): the spelling we publish for known people, demonyms -> parties, role words.
Shared by the entity stage (actors, perpetrators) and the casualty stage (whose claim is a party's)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def actor_knowledge() -> dict[str, Any]:
    return json.loads(resources.files("services").joinpath("data/actors.json").read_text())  # type: ignore[no-any-return]
