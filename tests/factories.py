"""Real test data: JPEGs made by Pillow and submission XML shaped as JavaRosa writes it."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import struct
import uuid
import zlib
from pathlib import Path

import numpy
from PIL import Image, ImageDraw


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


def photo(
    seed: int = 0,
    *,
    size: tuple[int, int] = (640, 480),
    taken: dt.datetime | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    quality: int = 88,
    image: Image.Image | None = None,
) -> bytes:
    """A real JPEG that looks like something: shapes placed by ``seed`` (so its perceptual hash
    differs from another seed's), with the EXIF a phone camera writes when asked: DateTimeOriginal,
    GPS in degrees/minutes/seconds, orientation."""
    if image is None:
        image = scene(seed, size)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        ifd = exif.get_ifd(0x8825)
        for ref_tag, tag, value, signs in ((1, 2, gps[0], "NS"), (3, 4, gps[1], "EW")):
            ifd[ref_tag] = signs[value < 0]
            ifd[tag] = _dms(abs(value))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A picture of random rectangles and ellipses over a gradient."""
    rnd = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(12):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        box = (x0, y0, x0 + rnd.randrange(20, w // 2), y0 + rnd.randrange(20, h // 2))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.rectangle if rnd.random() < 0.5 else draw.ellipse)(box, fill=colour)
    return image


def png(image: Image.Image | None = None) -> bytes:
    """A real PNG (of a scene unless given an image)."""
    out = io.BytesIO()
    (image or scene(5, (300, 200))).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A 10x10 PNG whose header (IHDR, with a correct CRC) claims another size."""
    data = bytearray(png(Image.new("RGB", (10, 10))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))


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
    # Each submission adds its own household to the list (on_list = no): the entity id the phone
    # made with uuid() follows the instanceID (of the first version, for an edit, which keeps
    # it), so two submissions never create the same entity.
    sample_id = re.search(r"<hh_id>([^<]+)</hh_id>", text)
    instance = re.search(r"<deprecatedID>([^<]+)</deprecatedID>", text) or re.search(
        r"<instanceID>([^<]+)</instanceID>", text
    )
    if sample_id and instance:
        text = text.replace(
            sample_id.group(1),
            str(uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, instance[1]).bytes, version=4)),
        )
    return text.encode()


def poverty_household(
    code: str, instance_id: str, photo: str | None = "house.jpg", **replace: str
) -> bytes:
    """pov1.xml (a poor household of Thôn Bắc, Xã Nhơn Châu) as household ``code`` with its own
    instanceID and ``photo`` as the house photo's file name; ``replace`` is applied after."""
    base = {"NC-T01-017<": f"{code}<", "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7": instance_id}
    if photo:
        base["<house_photo />"] = f"<house_photo>{photo}</house_photo>"
    return domain_sample("pov1.xml", **base, **replace)


def dim_scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture with little detail, as phones take them at night or of a blank wall: a dark or
    flat level, a lens's fall-off towards the corners and sensor noise, each chosen by ``seed``
    (drawn with numpy: hundreds of these are made per test)."""
    rnd = random.Random(seed)
    w, h = size
    level = rnd.choice((rnd.randrange(2, 40), rnd.randrange(120, 230)))  # dark or flat
    fall_off = rnd.uniform(0, 25)
    noise = rnd.uniform(0.5, 3)
    y, x = numpy.mgrid[0:h, 0:w]
    edge = ((x - w / 2) ** 2 / (w / 2) ** 2 + (y - h / 2) ** 2 / (h / 2) ** 2) / 2
    grain = numpy.random.default_rng(seed).normal(0, noise, (h, w))
    pixels = numpy.clip(numpy.rint(level - fall_off * edge + grain), 0, 255).astype(numpy.uint8)
    return Image.fromarray(pixels).convert("RGB")
