"""Photos as evidence: what a file really is, whether it opens safely, when and where it was taken,
what it looks like, and small copies for the review pages.

Pure: Pillow only (and pillow-heif when installed), no database, no Flask, no storage.

- The kind of a file is read from its first bytes (``sniff``), never from its name or the type the
  phone declared: an HTML page named ``house.jpg`` is not an image.
- Decompression bombs are refused before any pixel is decoded. ``Image.open`` checks sizes against
  the process-wide ``Image.MAX_IMAGE_PIXELS``, which one thread cannot change without changing it
  for all, so the format's own ``ImageFile`` class (chosen by ``sniff``) reads the header, and the
  declared size is compared with the limit the caller passes.
- The perceptual hash (dHash, 64 bits) is taken on the image as a person sees it, after the EXIF
  orientation is applied, so a photo and its rotated copy compare as the same picture.
- Thumbnails are JPEG, upright, without EXIF (no GPS position leaks into a review page).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from PIL import (
    GifImagePlugin,
    Image,
    ImageChops,
    ImageFilter,
    ImageOps,
    ImageStat,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

try:  # HEIC (iPhones) needs the optional extra khudan[heic]
    from pillow_heif import HeifImageFile
except ImportError:  # pragma: no cover - depends on the installation
    HeifImageFile = None

# Pillow's own default for Image.MAX_IMAGE_PIXELS: a quarter GiB of RGB pixels.
DEFAULT_PIXEL_LIMIT = 89_478_485
HEAD_BYTES = 32  # enough for every signature below
HASH_SIDE = 320  # the perceptual hash is taken on a copy this size (as the small thumbnail)
THUMBNAIL_QUALITY = 82
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
}
# ISO-BMFF brands of HEIF stills with HEVC inside (what iPhones write).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

_TAG_ORIENTATION = 0x0112
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME_DIGITIZED = 0x9004
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
# A picture whose 9x8 grey version varies less than this carries no likeness worth comparing (a
# blank wall, a covered lens): its hash would match every other blank picture.
_PLAIN_STDDEV = 2.0
# Nor does a dark or flat one (night, a wall, a covered lens): its 9x8 copy still varies, by
# the lens's even fall-off towards the corners, and every such picture gets the same hash. What
# tells a scene from that is detail: the mean difference between a 64x64 grey copy and its blur
# (edges, texture), which smooth fall-off and averaged-out sensor noise do not have. Measured on
# the tests' pictures: below 0.6 for dark and flat ones, above 4 for scenes.
_MIN_DETAIL = 1.5


class Verdict(enum.StrEnum):
    OK = "ok"
    NOT_IMAGE = "not-image"  # no image signature in its first bytes
    BOMB = "bomb"  # declares more pixels than the limit
    BROKEN = "broken"  # an image signature, but it does not decode (truncated, corrupt)
    UNSUPPORTED = (
        "unsupported"  # an image this installation cannot decode (HEIC without pillow-heif)
    )


@dataclass(frozen=True, slots=True)
class PhotoInfo:
    kind: str | None  # jpeg, png, gif, webp, heic, or None when not an image
    verdict: Verdict
    width: int | None = None  # as a person sees it (after the EXIF orientation)
    height: int | None = None
    orientation: int | None = None  # EXIF orientation, 1-8
    # EXIF DateTimeOriginal: aware when the photo says its UTC offset, else the camera's wall clock.
    taken_at: dt.datetime | None = None
    latitude: float | None = None  # decimal degrees, from EXIF GPS
    longitude: float | None = None
    dhash: int | None = None  # 64-bit difference hash; None for a picture too plain to compare
    detail: str | None = None  # why the verdict is not OK
    thumbnails: dict[int, bytes] = field(default_factory=dict, repr=False)  # side -> JPEG

    @property
    def content_type(self) -> str | None:
        return CONTENT_TYPES.get(self.kind) if self.kind else None


class PhotoError(Exception):
    """The file cannot be made into a thumbnail; ``verdict`` says why."""

    def __init__(self, verdict: Verdict, detail: str):
        super().__init__(detail)
        self.verdict = verdict


def sniff(head: bytes) -> str | None:
    """The image kind from a file's first bytes (``HEAD_BYTES`` is enough), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heic"
    return None


def inspect(
    stream: BinaryIO, pixel_limit: int = DEFAULT_PIXEL_LIMIT, thumbnail_sizes: Iterable[int] = ()
) -> PhotoInfo:
    """Everything khudan records about one file, decoding it at most once.

    ``stream`` must be seekable. Thumbnails (longest side = each size, never enlarged) are made
    from the same decode, largest first, each from the one before, so one decoded image is in
    memory at a time. Never raises for what the bytes contain: the verdict says what is wrong.
    """
    sizes = sorted(set(thumbnail_sizes), reverse=True)
    stream.seek(0)
    kind = sniff(stream.read(HEAD_BYTES))
    if kind is None:
        return PhotoInfo(None, Verdict.NOT_IMAGE, detail="no image signature in its first bytes")
    needed = list(sizes)

    def scale(width: int, height: int, orientation: int | None) -> int:
        # A copy the original already is (``as_is``) is not made, so a JPEG is decoded only as
        # large as the largest copy still needed (1280 px photos: at half size, for the 320 px).
        needed[:] = [s for s in sizes if not as_is(kind, orientation, width, height, s)]
        return max(needed, default=HASH_SIDE)

    try:
        decoded = _decode(stream, kind, pixel_limit, scale)
    except PhotoError as exc:
        return PhotoInfo(kind, exc.verdict, detail=str(exc))
    image = decoded.image
    thumbnails = {}
    for size in needed:
        image.thumbnail((size, size), reducing_gap=2.0)
        thumbnails[size] = _encode(image)
    image.thumbnail((HASH_SIDE, HASH_SIDE), reducing_gap=2.0)  # the same for every caller
    return PhotoInfo(
        kind=kind,
        verdict=Verdict.OK,
        width=decoded.width,
        height=decoded.height,
        orientation=decoded.orientation,
        taken_at=decoded.taken_at,
        latitude=decoded.latitude,
        longitude=decoded.longitude,
        dhash=dhash(image),
        thumbnails=thumbnails,
    )


def as_is(kind: str | None, orientation: int | None, width: int, height: int, size: int) -> bool:
    """Whether the original serves as the ``size`` copy: an upright JPEG no larger than that (what
    Collect sends with max-pixels=1280 is one for the 1280 px copy)."""
    return kind == "jpeg" and orientation in (None, 1) and max(width, height) <= size


def thumbnail(stream: BinaryIO, size: int, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> bytes:
    """An upright JPEG whose longest side is ``size`` (or less, for a smaller original).

    Raises ``PhotoError`` for a file that is not a readable image within ``pixel_limit``.
    """
    stream.seek(0)
    kind = sniff(stream.read(HEAD_BYTES))
    if kind is None:
        raise PhotoError(Verdict.NOT_IMAGE, "no image signature in its first bytes")
    image = _decode(stream, kind, pixel_limit, size).image
    image.thumbnail((size, size), reducing_gap=2.0)
    return _encode(image)


def dhash(image: Image.Image) -> int | None:
    """The 64-bit difference hash: for each of 8 rows of a 9x8 grey copy, whether each pixel is
    brighter than its right neighbour. Re-encoding or resizing changes a few bits at most. None
    for a picture with too little detail for its hash to mean anything (see _MIN_DETAIL)."""
    grey = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = list(grey.tobytes())  # one byte per pixel in mode L
    mean = sum(pixels) / len(pixels)
    if math.sqrt(sum((p - mean) ** 2 for p in pixels) / len(pixels)) < _PLAIN_STDDEV:
        return None
    if detail(image) < _MIN_DETAIL:
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (left > right)
    return bits


def detail(image: Image.Image) -> float:
    """How much edge and texture a picture has (see _MIN_DETAIL), in grey levels."""
    grey = image.convert("L").resize((64, 64), Image.Resampling.BOX)
    edges = ImageChops.difference(grey, grey.filter(ImageFilter.GaussianBlur(2)))
    return ImageStat.Stat(edges).mean[0]


def hamming(a: int, b: int) -> int:
    """How many bits two hashes differ in."""
    return (a ^ b).bit_count()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, on a sphere of the Earth's mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# -- decoding -------------------------------------------------------------------------------------


def _opener(kind: str) -> Callable[[BinaryIO], Image.Image] | None:
    return {
        "jpeg": JpegImagePlugin.JpegImageFile,
        "png": PngImagePlugin.PngImageFile,
        "gif": GifImagePlugin.GifImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
        "heic": HeifImageFile,
    }.get(kind)


@dataclass(slots=True)
class _Decoded:
    image: Image.Image  # upright, RGB (or L), possibly decoded at a reduced scale
    width: int  # as a person sees it, at full size
    height: int
    orientation: int | None
    taken_at: dt.datetime | None
    latitude: float | None
    longitude: float | None


def _decode(
    stream: BinaryIO,
    kind: str,
    pixel_limit: int,
    at_least: int | Callable[[int, int, int | None], int],
) -> _Decoded:
    """Open, check the size against the limit, verify, decode and turn upright.

    A JPEG is decoded at the smallest DCT scale that still gives ``at_least`` pixels a side, which
    reads every byte (a truncated file still fails) at a fraction of the memory. ``at_least`` may
    be a function of the header's width, height and EXIF orientation.
    """
    opener = _opener(kind)
    if opener is None:
        raise PhotoError(Verdict.UNSUPPORTED, f"{kind} images need an extra module on this server")
    try:
        stream.seek(0)
        header = opener(stream)  # reads the header only
        width, height = header.size
        if width * height > pixel_limit:
            raise PhotoError(
                Verdict.BOMB,
                f"declares {width}x{height} = {width * height} pixels, "
                f"more than the limit of {pixel_limit}",
            )
        if callable(at_least):  # EXIF is read from a JPEG's header only (others have none here)
            orientation = _orientation(header) if kind == "jpeg" else None
            at_least = at_least(width, height, orientation)
        header.verify()  # structure and checksums; the image must be opened again afterwards
        stream.seek(0)
        image = opener(stream)
        if kind == "jpeg":
            image.draft("RGB", _copy_size(width, height, at_least))
        image.load()
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError(Verdict.BOMB, str(exc)) from None
    except Exception as exc:  # a decoder may raise anything on hostile bytes: never a crash
        raise PhotoError(Verdict.BROKEN, f"{type(exc).__name__}: {exc}") from None
    orientation, taken_at, latitude, longitude = _exif_facts(image)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    try:
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright image
        image = _rgb(image)
    except Exception as exc:  # the same: never a crash
        raise PhotoError(Verdict.BROKEN, f"{type(exc).__name__}: {exc}") from None
    return _Decoded(image, width, height, orientation, taken_at, latitude, longitude)


def _copy_size(width: int, height: int, side: int) -> tuple[int, int]:
    """The size of a copy whose longest side is ``side``: what a JPEG's draft must reach. Asking
    for a ``side`` square instead would decode a 4:3 photo at twice the scale it needs (1280x960
    for a 320 px copy: at half size, 640x480, instead of a quarter, 320x240)."""
    if width >= height:
        return side, -(-side * height // width)
    return -(-side * width // height), side


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    """The image in a mode JPEG can hold; transparent parts become white, as a review page would
    show them. An RGB or grey image is returned as it is (no copy of a large image)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


# -- EXIF -----------------------------------------------------------------------------------------


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(_TAG_ORIENTATION)
    except Exception:  # hostile EXIF: read again, and judged, after decoding
        return None
    return value if value in range(1, 9) else None


def _exif_facts(image: Image.Image):
    """(orientation, time taken, latitude, longitude); what cannot be read is None."""
    try:
        exif = image.getexif()
        orientation = exif.get(_TAG_ORIENTATION)
        return (
            orientation if orientation in range(1, 9) else None,
            _taken_at(exif),
            *_gps(exif),
        )
    except Exception:  # hostile EXIF: the picture itself is still readable
        return None, None, None, None


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    sub = exif.get_ifd(_IFD_EXIF)
    text = sub.get(_TAG_DATETIME_ORIGINAL) or sub.get(_TAG_DATETIME_DIGITIZED)
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.strptime(text.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:  # "0000:00:00 00:00:00" and other blanks cameras write
        return None
    offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        with contextlib.suppress(ValueError):  # a malformed offset leaves the wall clock
            when = when.replace(tzinfo=dt.datetime.strptime(offset.strip("\x00 "), "%z").tzinfo)
    return when


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_IFD_GPS)
    try:
        lat = _degrees(gps[_GPS_LAT], gps.get(_GPS_LAT_REF), "S")
        lon = _degrees(gps[_GPS_LON], gps.get(_GPS_LON_REF), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None  # 0,0 is what a phone without a fix writes, not a place in the sea
    return lat, lon


def _degrees(dms, ref, negative: str) -> float:
    d, m, s = (float(v) for v in dms)
    value = d + m / 60 + s / 3600
    if math.isnan(value):
        raise ValueError("not a number")
    ref = ref.decode() if isinstance(ref, bytes) else ref
    return -value if str(ref or "").strip("\x00 ").upper() == negative else value
