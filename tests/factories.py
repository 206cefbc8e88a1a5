"""Real test data: JPEGs made by Pillow and submission XML shaped as JavaRosa writes it."""

from __future__ import annotations

import io
import random
import uuid
from pathlib import Path

from PIL import Image


def jpeg(width: int = 64, height: int = 48, color=(200, 30, 30), quality: int = 85) -> bytes:
    """A real JPEG made by Pillow; different colours give different bytes."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=quality)
    return out.getvalue()


def noisy_jpeg(width: int, height: int, seed: int = 0, quality: int = 90) -> bytes:
    """A real JPEG of random pixels: it compresses badly, like a phone photo of a wall."""
    pixels = random.Random(seed).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def household_xml(
    instance_id: str | None = None,
    *,
    version: str = "1",
    code: str = "HH-01",
    head: str = "Nguyễn Văn An",
    members: tuple[tuple[str, str], ...] = (),
    house_photo: str = "",
    deprecated_id: str | None = None,
    form_id: str = "household",
) -> bytes:
    """A submission of tests/forms/household.md shaped as JavaRosa serialises it."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    rows = "".join(
        f"<member><m_name>{n}</m_name><m_photo>{p}</m_photo></member>" for n, p in members
    )
    dep = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        "<?xml version='1.0' encoding='UTF-8' ?>"
        f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
        f'id="{form_id}" version="{version}">'
        f"<hh_code>{code}</hh_code><head>{head}</head><hh_size>{len(members)}</hh_size>{rows}"
        f"<house_photo>{house_photo}</house_photo><village>t1</village>"
        "<location>13.7765 109.2237 12.0 5.0</location>"
        f"<meta><instanceID>{instance_id}</instanceID><instanceName>{code} - {head}</instanceName>"
        f"{dep}</meta></data>"
    ).encode()


SAMPLES = Path(__file__).parent / "unit" / "domain" / "data"


def domain_sample(name: str, **replace: str) -> bytes:
    """A JavaRosa-filled submission of a shipped form (tests/unit/domain/data), its residential
    area codes written as khudan registers them (<commune>.<code>), with text replaced."""
    text = (SAMPLES / name).read_text(encoding="utf-8").replace("-T01<", ".T01<")
    text = text.replace("-T02<", ".T02<").replace("-K01<", ".K01<")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.encode()
