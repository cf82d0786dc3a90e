"""deploy/ matches the code: one compose service per stage, each running a real stage."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.contracts import StageName

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_every_stage_has_a_service_and_every_service_a_stage() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    workers = {name: service["command"] for name, service in compose["services"].items() if name != "redis"}
    stages = set()
    for name, command in workers.items():
        assert command[0] == "worker" and len(command) == 2, name
        assert command[1] in {s.value for s in StageName}, f"{name} runs unknown stage {command[1]}"
        assert "replicas" in compose["services"][name]["deploy"]
        stages.add(command[1])
    assert stages == {s.value for s in StageName}


def test_redis_keeps_its_data() -> None:
    conf = (DEPLOY / "redis.conf").read_text()
    assert "appendonly yes" in conf and "appendfsync everysec" in conf
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert "redis-data" in compose["volumes"]


def test_every_stage_connects_as_its_own_acl_user() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    acl = (DEPLOY / "users.acl").read_text()
    assert "--aclfile" in compose["services"]["redis"]["command"]
    assert "user default off" in acl
    for stage in StageName:
        url = compose["services"][stage.value]["environment"]["INCIDENTFEED_REDIS_URL"]
        user, password = url.removeprefix("redis://").split("@")[0].split(":")
        assert user == stage.value
        assert f"user {stage.value} on >{password} " in acl


def test_the_image_installs_from_the_lock_that_make_and_ci_use() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    assert "--no-deps ." in dockerfile  # the project alone, nothing resolved anew
    makefile = (DEPLOY.parent / "Makefile").read_text()
    assert "-r requirements.lock" in makefile and "--no-deps -e ." in makefile
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (DEPLOY.parent / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {"lxml-html-clean", "spacy", "wordfreq", "cloudevents", "faststream"} <= locked
