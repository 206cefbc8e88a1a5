"""Map tiles on a page: the one thing a map page loads from elsewhere (``KHUDAN_MAP_TILES``,
OpenStreetMap by default), so only pages that show a map let the browser fetch them."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g

from ..runtime import current
from . import CSP


def use_map() -> dict:
    """Let this page's browser load the map tiles (and send them the origin, as OpenStreetMap's
    tile policy asks); the tile settings for the page."""
    settings = current().settings
    parts = urlsplit(settings.map_tiles.replace("{s}", "a"))
    origin = f"{parts.scheme}://{parts.netloc}"
    g.csp = CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {origin}")
    g.referrer_policy = "strict-origin-when-cross-origin"
    return {"tiles": settings.map_tiles, "attribution": settings.map_attribution}
