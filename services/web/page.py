"""The page at `/`: the incidents on a map and in a list, live over /v1/stream, every figure's
source one click away. Static files only (static/), no build step; the country outlines and
their decoder come from npm (package.json here, `npm ci` by `make`), served from this process:
the page asks nothing of another host, and its Content-Security-Policy forbids it to.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"
VENDOR = HERE / "vendor"
"""Where an installed package keeps the npm files (the image's build copies them there)."""


def _npm_file(package_path: str) -> Path:
    """An npm package's file: from node_modules in a checkout (`make`), else from vendor/."""
    installed = NODE_MODULES / package_path
    return installed if installed.is_file() else VENDOR / Path(package_path).name


ASSETS: dict[str, Path] = {
    "app.js": STATIC / "app.js",
    "style.css": STATIC / "style.css",
    "countries.json": _npm_file("world-atlas/countries-50m.json"),
    "topojson-client.min.js": _npm_file("topojson-client/dist/topojson-client.min.js"),
}
"""Everything the page loads, by the name it asks for; nothing else is served from /assets."""
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json"}

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""No inline script or style, nothing from another host: an article's words can never run."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
OWN_CSP_PATHS = ("/docs", "/redoc")
"""FastAPI's API explorer loads its scripts from a CDN: it keeps its own headers."""

log = logging.getLogger(__name__)


def missing_assets() -> list[str]:
    return [name for name, path in ASSETS.items() if not path.is_file()]


def add_page(app: FastAPI) -> None:
    """Routes for the page and its assets on the reader's app."""
    if missing := missing_assets():
        log.warning(
            "the page's assets %s are not installed (run `make`, or `npm ci --prefix services/web`): "
            "the map will have no country outlines",
            ", ".join(missing),
        )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        path = ASSETS.get(name)
        if path is None or not path.is_file():
            raise HTTPException(404, f"no asset '{name}'")
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "max-age=3600"})
