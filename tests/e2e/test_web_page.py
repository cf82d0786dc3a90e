"""The page at `/`, in a real browser: Debian's chromium driven by its chromedriver (Selenium),
over a Redis that a real `incidentfeed run` filled, with a hostile article among the reports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import redis
from geojson_pydantic import FeatureCollection

from services.runtime.redis_server import free_port
from services.web.page import missing_assets
from tests.integration.test_http_reader import changes, publish, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; "
    ".ci/run installs them)",
)

HOSTILE_TITLE = (
    "Missile strike kills five in Zaporizhzhia <script>window.__pwned = 'title'</script>"
    "<img src=x onerror=\"window.__pwned = 'image'\">"
)
"""The cleaner strips markup from an article's text, so its quotes reach the page clean; a title,
an outlet and a link come as the producer sent them."""
HOSTILE_TEXT = (
    "A Russian missile strike on Zaporizhzhia killed five people and injured 12 on Monday, regional governor "
    'Ivan Fedorov said. "Five people were killed <img src=x onerror=\\"window.__pwned=\'quote\'\\"> in the '
    'strike on the city," Fedorov said. Rescuers searched the rubble of two apartment buildings overnight.'
)


@pytest.fixture(scope="module")
def served(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`incidentfeed run` over the seeds (our examples where ../shared is absent) and a hostile
    article into a real Redis, then `incidentfeed serve` over it."""
    redis.Redis.from_url(redis_server_url).flushdb()
    corpus = tmp_path_factory.mktemp("corpus")
    for source in sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else sorted((REPO / "examples").glob("*.txt")):
        shutil.copy(source, corpus / source.name)
    hostile = {"id": "hostile-1", "title": HOSTILE_TITLE, "outlet": "<b>Outlet</b>", "text": HOSTILE_TEXT,
               "url": "javascript:window.__pwned='link'"}  # fmt: skip
    (corpus / "hostile.jsonl").write_text(json.dumps(hostile) + "\n")
    env = {**os.environ, "INCIDENTFEED_REDIS_URL": redis_server_url, "INCIDENTFEED_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", str(corpus), "--out", str(corpus / "feed.jsonl")],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)], env=env, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, process)
    yield {"base": base, "redis_url": redis_server_url, "port": port}
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver or a browser
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--no-first-run", "--disable-background-networking"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def current_incidents(base: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{base}/v1/incidents", params={"limit": 500}).json()
    return list(page["incidents"])


def test_the_page_shows_the_feed_live_and_runs_nothing_an_article_wrote(
    served: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    base = served["base"]
    incidents = current_incidents(base)
    hostile = [i for i in incidents if any(r["article_id"] == "hostile-1" for r in i["reports"])]
    assert hostile, "the hostile article must be an incident for this test to mean anything"
    placed = [i for i in incidents if i["location"] and i["location"]["lat"] is not None]

    browser.get(f"{base}/")
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"), "the page to load")

    # The incidents of the run, on the map and in the list.
    markers = browser.find_elements("css selector", "#markers circle")
    rows = browser.find_elements("css selector", "#incidents tbody tr")
    assert {m.get_attribute("data-incident-id") for m in markers} == {i["incident_id"] for i in placed}
    assert {r.get_attribute("data-incident-id") for r in rows} == {i["incident_id"] for i in incidents}
    assert len(browser.find_elements("css selector", "#countries path")) > 100  # Natural Earth's outlines

    # The hostile incident's page: its title and quote shown as text, nothing of them run.
    browser.find_element("css selector", f"#incidents tr[data-incident-id='{hostile[0]['incident_id']}']").click()
    detail = wait_for(lambda: browser.find_element("id", "detail").text, "the incident's page")
    assert "<script>" in detail and "<img src=x onerror=" in detail  # shown as the words they are
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements("css selector", "#detail img, #detail script, #detail b")
    links = [a.get_attribute("href") or "" for a in browser.find_elements("css selector", "#detail a")]
    assert not [href for href in links if not href.startswith(("http://", "https://"))]
    wait_for(lambda: browser.find_elements("css selector", "#detail .chart polyline"), "its tolls over the revisions")
    assert browser.current_url.endswith(f"#incident={hostile[0]['incident_id']}")  # a link to its page

    # A new incident published while the page is open appears without a reload, marked as changed.
    before = len(browser.find_elements("css selector", "#incidents tbody tr"))
    fresh = changes(1)[0]
    asyncio.run(publish(redis.Redis.from_url(served["redis_url"]), served["redis_url"], [fresh]))
    new_id = fresh.incident.incident_id
    row = wait_for(
        lambda: browser.find_elements("css selector", f"#incidents tr[data-incident-id='{new_id}']"),
        "the new incident in the list",
    )[0]
    assert "changed" in (row.get_attribute("class") or "")
    assert len(browser.find_elements("css selector", "#incidents tbody tr")) == before + 1
    assert browser.execute_script("return performance.getEntriesByType('navigation')[0].type") == "navigate"

    # Nothing requested from another host.
    requested = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.add(message["params"]["request"]["url"])
    hosts = {urlparse(url).netloc for url in requested if not url.startswith("data:")}
    assert hosts == {f"127.0.0.1:{served['port']}"}, requested
    assert browser.execute_script("return window.__pwned === undefined")

    screenshot = tmp_path / "incidentfeed-page.png"
    browser.save_screenshot(str(screenshot))
    print(f"\nscreenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000


def test_the_page_and_its_assets_carry_a_strict_policy(served: dict[str, Any]) -> None:
    assert not missing_assets(), "run `make` (npm ci --prefix services/web) for the map's assets"
    page = httpx.get(f"{served['base']}/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text.replace('<script src="/assets/', "")  # no inline script
    assert httpx.get(f"{served['base']}/assets/../reader.py").status_code == 404
    assert httpx.post(f"{served['base']}/").status_code == 405  # read-only, like the API


def test_downloads_are_geojson_and_a_csv_row_per_incident(served: dict[str, Any]) -> None:
    base = served["base"]
    incidents = current_incidents(base)
    response = httpx.get(f"{base}/v1/incidents.geojson")
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = FeatureCollection.model_validate(response.json())
    assert {f.id for f in collection.features} == {i["incident_id"] for i in incidents}
    for feature in collection.features:
        if feature.geometry is not None:
            lon, lat = feature.geometry.coordinates[:2]  # type: ignore[union-attr]
            assert -180 <= lon <= 180 and -90 <= lat <= 90
    table = list(csv.DictReader(io.StringIO(httpx.get(f"{base}/v1/incidents.csv").text)))
    assert len(table) == len(incidents)
    assert {"incident_id", "event_date", "country", "admin1", "place", "lat", "lon", "event_type", "weapons",
            "killed_low", "killed_best", "killed_high", "injured_best", "reports", "first_seen_at",
            "last_seen_at", "revision"} <= set(table[0])  # fmt: skip
    assert {row["incident_id"] for row in table} == {i["incident_id"] for i in incidents}
