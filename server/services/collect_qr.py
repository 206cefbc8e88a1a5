"""The QR code that configures ODK Collect: its settings as JSON, zlib-compressed, base64-encoded,
drawn as a PNG (Project settings > Reconfigure with QR code). Used by the CLI and the REST API."""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path


def collect_settings_payload(
    server_url: str,
    username: str | None = None,
    password: str | None = None,
    project_name: str = "khudan",
) -> str:
    """ODK Collect's QR settings: JSON, zlib-compressed, base64-encoded."""
    general = {"server_url": server_url}
    if username:
        general["username"] = username
    if password:
        general["password"] = password
    settings = {
        "general": general,
        "admin": {},
        "project": {"name": project_name, "icon": "K", "color": "#b71c1c"},
    }
    return base64.b64encode(zlib.compress(json.dumps(settings).encode())).decode()


def write_collect_qr(path: Path, server_url: str, **kwargs) -> None:
    import qrcode

    qrcode.make(collect_settings_payload(server_url, **kwargs)).save(str(path))


def collect_qr_png(server_url: str, **kwargs) -> bytes:
    """The same QR code as PNG bytes."""
    import qrcode

    out = io.BytesIO()
    qrcode.make(collect_settings_payload(server_url, **kwargs)).save(out)
    return out.getvalue()


def png_data_url(png: bytes) -> str:
    """A ``data:`` URL a web page can put straight into ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
