"""khudan.photos: real files made by Pillow, including hostile ones."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from factories import dim_scene, jpeg, jpeg_declaring, photo, png, png_declaring, scene
from PIL import Image

from khudan import photos
from khudan.photos import Verdict
from khudan.services import photos as photos_service

HOUSE = (13.7765, 109.2237)


def inspect(data: bytes, **kwargs) -> photos.PhotoInfo:
    return photos.inspect(io.BytesIO(data), **kwargs)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (jpeg(), "jpeg"),
        (png(), "png"),
        (b"GIF89a" + b"\x00" * 20, "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", None),
        (b"", None),
        (b"\xff\xd8", None),
    ],
    ids=["jpeg", "png", "gif", "webp", "heic", "html", "empty", "two-bytes"],
)
def test_sniff_reads_the_first_bytes(data, kind):
    assert photos.sniff(data[: photos.HEAD_BYTES]) == kind


def test_a_phone_jpeg_gives_its_exif_time_gps_size_and_hash():
    taken = dt.datetime(2026, 11, 20, 9, 30, 5)
    info = inspect(photo(1, taken=taken, gps=(13.7765, -109.2237)), thumbnail_sizes=(320, 1280))
    assert info.verdict == Verdict.OK and info.kind == "jpeg"
    assert info.content_type == "image/jpeg"
    assert (info.width, info.height) == (640, 480)
    assert info.taken_at == taken
    assert info.latitude == pytest.approx(13.7765, abs=1e-6)
    assert info.longitude == pytest.approx(-109.2237, abs=1e-6)
    assert isinstance(info.dhash, int) and 0 <= info.dhash < 1 << 64
    assert sorted(info.thumbnails) == [320]  # an upright 640 px JPEG is its own 1280 px copy


@pytest.mark.parametrize(
    ("size", "orientation", "made"),
    [((1280, 960), None, [320]), ((1600, 1200), None, [320, 1280]), ((1280, 960), 6, [320, 1280])],
)
def test_the_1280_copy_is_made_only_when_the_original_is_not_one(size, orientation, made):
    info = inspect(photo(2, size=size, orientation=orientation), thumbnail_sizes=(320, 1280))
    assert sorted(info.thumbnails) == made


def test_a_jpeg_without_exif_has_no_time_or_place():
    info = inspect(photo(1))
    assert info.verdict == Verdict.OK
    assert (info.taken_at, info.latitude, info.longitude, info.orientation) == (None,) * 4


def test_the_exif_offset_makes_the_time_aware():
    image = scene(1)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 09:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+07:00"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    taken = inspect(out.getvalue()).taken_at
    assert taken == dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)


def test_a_rotated_photo_is_measured_and_hashed_upright():
    upright = scene(3).transpose(Image.Transpose.ROTATE_270)  # what a person sees: 480x640
    sideways = inspect(photo(3, orientation=6), thumbnail_sizes=(320,))
    plain = inspect(photo(image=upright))
    assert sideways.orientation == 6
    assert (sideways.width, sideways.height) == (480, 640) == (plain.width, plain.height)
    assert photos.hamming(sideways.dhash, plain.dhash) <= 2
    thumb = Image.open(io.BytesIO(sideways.thumbnails[320]))
    assert thumb.size == (240, 320)  # portrait: the orientation was applied
    assert 0x0112 not in thumb.getexif()  # and no EXIF left to apply it twice


def test_thumbnail_longest_side_is_the_size_and_small_originals_are_not_enlarged():
    data = photo(2, size=(2000, 1000), orientation=8)
    info = inspect(data, thumbnail_sizes=(320,))  # decoded at 1/4 scale: still measured whole
    assert (info.width, info.height) == (1000, 2000)
    for size, expected in ((320, (160, 320)), (1280, (640, 1280))):
        made = photos.thumbnail(io.BytesIO(data), size)
        image = Image.open(io.BytesIO(made))
        assert image.format == "JPEG" and image.size == expected
    small = Image.open(io.BytesIO(photos.thumbnail(io.BytesIO(jpeg(64, 48)), 320)))
    assert small.size == (64, 48)


@pytest.mark.parametrize(
    ("size", "orientation", "decoded"),
    [
        ((1280, 960), None, (320, 240)),  # what Collect sends (max-pixels=1280): a quarter
        ((960, 1280), None, (240, 320)),
        ((1280, 960), 6, (240, 320)),  # stored sideways: decoded small, then turned upright
        ((2560, 1920), None, (320, 240)),  # an eighth
        ((1000, 700), None, (500, 350)),  # no DCT scale gives 320 exactly: the next one up
    ],
)
def test_a_jpeg_is_decoded_at_the_smallest_scale_its_320_px_copy_needs(size, orientation, decoded):
    """A 4:3 photo's 320 px copy is 320x240, so a quarter-scale decode is enough; asking the
    decoder for a 320 px square would make it decode at half scale, four times the pixels."""
    data = photo(3, size=size, orientation=orientation)
    got = photos._decode(io.BytesIO(data), "jpeg", photos.DEFAULT_PIXEL_LIMIT, 320)
    assert got.image.size == decoded
    assert (got.width, got.height) == (size[::-1] if orientation == 6 else size)
    thumb = Image.open(io.BytesIO(inspect(data, thumbnail_sizes=(320,)).thumbnails[320]))
    assert max(thumb.size) == 320


def test_thumbnails_carry_no_gps():
    data = photo(2, gps=HOUSE, taken=dt.datetime(2026, 11, 1))
    thumb = Image.open(io.BytesIO(photos.thumbnail(io.BytesIO(data), 320)))
    assert not thumb.getexif().get_ifd(0x8825)


def test_a_png_with_transparency_gets_a_white_background():
    image = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 50, 50))
    info = inspect(png(image), thumbnail_sizes=(320,))
    assert info.verdict == Verdict.OK and info.kind == "png" and info.content_type == "image/png"
    thumb = Image.open(io.BytesIO(info.thumbnails[320])).convert("RGB")
    assert thumb.getpixel((90, 25)) == pytest.approx((255, 255, 255), abs=3)
    assert thumb.getpixel((10, 25))[0] > 240


def test_a_truncated_jpeg_is_broken_not_a_crash():
    data = photo(4)
    info = inspect(data[: len(data) * 2 // 3], thumbnail_sizes=(320,))
    assert info.verdict == Verdict.BROKEN and info.kind == "jpeg"
    assert "truncated" in info.detail and info.thumbnails == {}
    with pytest.raises(photos.PhotoError):
        photos.thumbnail(io.BytesIO(data[:2000]), 320)


def test_a_png_with_a_bad_checksum_is_broken():
    data = bytearray(png())
    data[40] ^= 0xFF  # inside the first IDAT chunk
    assert inspect(bytes(data)).verdict == Verdict.BROKEN


@pytest.mark.parametrize(
    "data", [png_declaring(60_000, 60_000), jpeg_declaring(65_000, 65_000)], ids=["png", "jpeg"]
)
def test_a_decompression_bomb_is_refused_before_decoding(data):
    assert len(data) < 2_000
    info = inspect(data, thumbnail_sizes=(320,))
    assert info.verdict == Verdict.BOMB
    assert "more than the limit" in info.detail and info.thumbnails == {}


def test_the_pixel_limit_is_per_call_and_leaves_pillows_global_alone():
    before = Image.MAX_IMAGE_PIXELS
    data = photo(1, size=(400, 300))
    assert inspect(data, pixel_limit=100_000).verdict == Verdict.BOMB
    assert inspect(data, pixel_limit=120_000).verdict == Verdict.OK
    assert before == Image.MAX_IMAGE_PIXELS
    # and another thread opening images meanwhile is unaffected
    verdicts = []

    def work(limit):
        verdicts.append((limit, inspect(data, pixel_limit=limit).verdict))

    threads = [threading.Thread(target=work, args=(lim,)) for lim in (100_000, 10**9) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all((v == Verdict.BOMB) == (lim == 100_000) for lim, v in verdicts)


def test_html_named_like_a_photo_is_not_an_image():
    info = inspect(b"<html><body><script>alert('x')</script></body></html>")
    assert info.verdict == Verdict.NOT_IMAGE and info.kind is None and info.content_type is None
    with pytest.raises(photos.PhotoError):
        photos.thumbnail(io.BytesIO(b"<html></html>"), 320)


def test_a_re_encoded_copy_is_near_identical_and_another_photo_is_not():
    original = inspect(photo(7, quality=92)).dhash
    copy = inspect(photo(7, quality=35)).dhash
    resized = inspect(photo(image=scene(7).resize((320, 240)))).dhash
    other = inspect(photo(8)).dhash
    assert photos.hamming(original, copy) <= 4
    assert photos.hamming(original, resized) <= 4
    assert photos.hamming(original, other) > 10


def test_a_blank_picture_has_no_hash_to_match():
    assert inspect(jpeg(color=(10, 10, 10))).dhash is None


def test_distinct_dark_and_flat_pictures_are_never_near_identical():
    """Before a hash needed enough decided bits, dark or flat pictures (night, a blank wall,
    lens fall-off, sensor noise) had near-identical hashes and were reported as reused."""
    hashes = [photos.dhash(dim_scene(seed)) for seed in range(1000)]
    kept = [h for h in hashes if h is not None]
    near = [
        (a, b)
        for i, a in enumerate(kept)
        for b in kept[i + 1 :]
        if photos.hamming(a, b) <= photos_service.NEAR_BITS
    ]
    assert near == []
    # Pictures with detail keep their hashes: a house is still found when copied.
    assert all(photos.dhash(scene(seed)) is not None for seed in range(50))


def test_heic_from_an_iphone_is_read_when_pillow_heif_is_installed():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()  # to write one; khudan reads it without registering
    out = io.BytesIO()
    scene(9).save(out, "HEIF", quality=80)
    info = inspect(out.getvalue(), thumbnail_sizes=(320,))
    assert info.kind == "heic" and info.verdict == Verdict.OK and info.content_type == "image/heic"
    assert (info.width, info.height) == (640, 480)
    assert photos.hamming(info.dhash, inspect(photo(9)).dhash) <= 4
    assert Image.open(io.BytesIO(info.thumbnails[320])).size == (320, 240)


def test_distance_m_is_the_great_circle_distance():
    assert photos.distance_m(*HOUSE, *HOUSE) == 0
    # one degree of latitude is about 111.2 km; 0.01 degree of longitude at 13.8 N about 1.08 km
    assert photos.distance_m(10, 106, 11, 106) == pytest.approx(111_195, rel=1e-3)
    assert photos.distance_m(13.7765, 109.2237, 13.7765, 109.2337) == pytest.approx(1080, rel=0.01)
