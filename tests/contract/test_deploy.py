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


KUBERNETES = DEPLOY / "kubernetes"


def kubernetes_objects() -> list[dict[str, object]]:
    return [
        doc
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc  # every manifest parses
    ]


def test_every_stage_has_a_deployment_and_a_scaled_object_on_its_own_lag() -> None:
    from services.contracts import PIPELINE

    objects = kubernetes_objects()
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}  # type: ignore[index]
    scaled = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ScaledObject"}  # type: ignore[index]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    worker = compose["x-worker"]
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}  # type: ignore[index]
    urls = secrets["incidentfeed-redis-urls"]["stringData"]  # type: ignore[index]
    assert len(deployments) == len(scaled) == len(PIPELINE)
    for stage, input_stream, _ in PIPELINE:
        name = f"incidentfeed-{stage.value}"
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
        assert container["image"] == worker["image"]
        assert container["args"] == compose["services"][stage.value]["command"]
        env = {e["name"]: e for e in container["env"]}
        for key, value in worker["environment"].items():
            assert env[key]["value"] == value, (stage, key)
        assert env["INCIDENTFEED_REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == stage.value
        # the same ACL user and password as compose, at the cluster's Redis service
        compose_url = compose["services"][stage.value]["environment"]["INCIDENTFEED_REDIS_URL"]
        assert urls[stage.value].split("@")[0] == compose_url.split("@")[0]
        port = int(worker["environment"]["INCIDENTFEED_METRICS_PORT"])
        assert container["ports"][0]["containerPort"] == port
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/healthz"
        assert "memory" in container["resources"]["requests"]
        trigger = scaled[name]["spec"]["triggers"][0]  # type: ignore[index]
        assert scaled[name]["spec"]["scaleTargetRef"]["name"] == name  # type: ignore[index]
        assert trigger["type"] == "redis-streams"
        assert trigger["metadata"]["stream"] == input_stream.value
        assert trigger["metadata"]["consumerGroup"] == stage.value
        assert int(trigger["metadata"]["lagCount"]) > 0
        assert 1 <= scaled[name]["spec"]["minReplicaCount"] <= scaled[name]["spec"]["maxReplicaCount"]  # type: ignore[index]


def test_the_entity_stage_asks_for_the_memory_that_make_bench_measured() -> None:
    deployments = {o["metadata"]["name"]: o for o in kubernetes_objects() if o["kind"] == "Deployment"}  # type: ignore[index]
    container = deployments["incidentfeed-entities"]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    request = container["resources"]["requests"]["memory"]
    assert (
        request.endswith("Mi") and int(request[:-2]) >= 512
    )  # peak RSS 402 MB in make bench on 2 cores, and room for long batches


def test_the_image_carries_the_pages_npm_assets_where_the_page_looks() -> None:
    """The image installs the package (not editable): the npm files must be copied to vendor/,
    under the names page.py falls back to, from the lock `make` uses."""
    from services.web.page import VENDOR

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY services/web/package.json services/web/package-lock.json" in dockerfile and "npm ci" in dockerfile
    for package_file in ("world-atlas/countries-50m.json", "topojson-client/dist/topojson-client.min.js"):
        assert f"/web/node_modules/{package_file}" in dockerfile
    assert f"./services/{VENDOR.parent.name}/{VENDOR.name}/" in dockerfile
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    assert '"static/*", "vendor/*"' in pyproject  # both travel with the installed package
