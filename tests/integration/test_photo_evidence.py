"""Photos as evidence, end to end: ODK Collect posts real files (made here with Pillow, EXIF written
as phone cameras write it), khudan keeps every one untouched, records what each really is, makes
thumbnails, flags what a supervisor should look at, and serves only real images inline.

Problems are never refusals: every POST here is answered 201.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from collect import CollectClient, flask_sender
from factories import (
    dim_scene,
    domain_sample,
    household_xml,
    jpeg,
    jpeg_declaring,
    noisy_jpeg,
    photo,
    png,
    png_declaring,
    scene,
)
from PIL import Image
from s3 import CREDENTIALS, moto_server, new_bucket, object_names
from sqlalchemy import delete, event, func, select
from stored import attachment_bytes, count, sha

from khudan import photos as photo_lib
from khudan.app import create_app
from khudan.cli import main
from khudan.models import (
    Blob,
    PhotoHashBand,
    PhotoMeta,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
)
from khudan.services import forms
from khudan.storage import derived_key

PASSWORD = "correct horse"
HOUSE = (13.7765, 109.2237)  # the <location> household_xml answers
FORMS = Path(__file__).resolve().parents[2] / "forms"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/users')</script></body></html>"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@pytest.fixture
def household(publish):
    publish("household")


@pytest.fixture
def admin(client, make_user) -> dict:
    make_user("admin1", "admin")
    r = client.post("/api/v1/sessions", json={"username": "admin1", "password": PASSWORD})
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def send(collector, instance_id: str, files: dict[str, bytes], **xml) -> None:
    name = next(iter(files), "")
    body = household_xml(instance_id, house_photo=name, **xml)
    replies = collector.submit(body, files)
    assert [r.status for r in replies] == [201], [r.message for r in replies]


def problems(db, instance_id: str) -> list[tuple[str, str, str | None]]:
    """(rule, path, value) of the problems recorded on one submission version."""
    with db.session() as s:
        rows = s.execute(
            select(SubmissionProblem.rule, SubmissionProblem.path, SubmissionProblem.value)
            .join(SubmissionVersion, SubmissionVersion.id == SubmissionProblem.version_id)
            .where(SubmissionVersion.instance_id == instance_id)
            .order_by(SubmissionProblem.id)
        )
        return [tuple(r) for r in rows]


def rules(db, instance_id: str) -> list[str]:
    return [rule for rule, _, _ in problems(db, instance_id)]


def submission(db, instance_id: str) -> Submission:
    with db.session() as s:
        return s.scalar(
            select(Submission)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .where(SubmissionVersion.instance_id == instance_id)
        )


def meta(db, data: bytes) -> PhotoMeta:
    with db.session() as s:
        return s.scalar(
            select(PhotoMeta)
            .join(Blob, Blob.id == PhotoMeta.blob_id)
            .where(Blob.sha256 == sha(data))
        )


def get(client, admin, instance_id: str, name: str, query: str = "", **headers):
    sid = submission(client.application.extensions["khudan"].db, instance_id).id
    url = f"/api/v1/submissions/{sid}/attachments/{name}{query}"
    r = client.get(url, headers={**admin, **headers})
    r.get_data()
    r.close()
    return r


# -- real photos ----------------------------------------------------------------------------------


def test_a_phone_photo_is_kept_untouched_and_what_it_shows_is_recorded(
    collector, household, db, storage
):
    taken = now() - dt.timedelta(days=1)
    data = photo(1, taken=taken, gps=(HOUSE[0] + 0.001, HOUSE[1]), orientation=6)
    send(collector, "uuid:p1", {"house.jpg": data})
    assert attachment_bytes(db, storage, "uuid:p1") == {"house.jpg": data}  # evidence untouched
    assert rules(db, "uuid:p1") == [] and submission(db, "uuid:p1").review_state == "received"
    m = meta(db, data)
    assert (m.kind, m.verdict, m.width, m.height, m.orientation) == ("jpeg", "ok", 480, 640, 6)
    assert m.taken_at == taken.replace(microsecond=0) and m.taken_offset is None
    assert (m.latitude, m.longitude) == pytest.approx((HOUSE[0] + 0.001, HOUSE[1]))
    assert m.dhash is not None
    for size in (320, 1280):
        with storage.open(derived_key(sha(data), f"{size}.jpg")) as fh:
            assert Image.open(fh).format == "JPEG"


def test_an_upright_photo_within_1280_px_is_served_as_its_own_1280_copy(
    client, collector, household, admin, storage
):
    data = photo(4, size=(1280, 960))  # what Collect sends with max-pixels=1280
    send(collector, "uuid:t0", {"house.jpg": data})
    assert not storage.exists(derived_key(sha(data), "1280.jpg"))  # no copy made or stored
    big = get(client, admin, "uuid:t0", "house.jpg", "?size=1280")
    assert big.status_code == 200 and big.data == data and big.mimetype == "image/jpeg"
    small = get(client, admin, "uuid:t0", "house.jpg", "?size=320")
    assert Image.open(io.BytesIO(small.data)).size == (320, 240)


def test_thumbnails_are_served_upright_and_originals_inline(client, collector, household, admin):
    data = photo(2, orientation=6, size=(1600, 1200))
    send(collector, "uuid:t1", {"house.jpg": data})
    for size, expected in ((320, (240, 320)), (1280, (960, 1280))):
        r = get(client, admin, "uuid:t1", "house.jpg", f"?size={size}")
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("inline")
        assert Image.open(io.BytesIO(r.data)).size == expected
        again = get(
            client,
            admin,
            "uuid:t1",
            "house.jpg",
            f"?size={size}",
            **{"If-None-Match": r.headers["ETag"]},
        )
        assert again.status_code == 304
    original = get(client, admin, "uuid:t1", "house.jpg")
    assert original.status_code == 200 and original.data == data
    assert original.mimetype == "image/jpeg"
    assert original.headers["Content-Disposition"].startswith("inline")
    assert original.headers["ETag"] != r.headers["ETag"]


@pytest.mark.parametrize("size", ["100", "abc", "-1", "1280.0"])
def test_a_thumbnail_size_other_than_320_or_1280_is_422(client, collector, household, admin, size):
    send(collector, "uuid:t2", {"house.jpg": photo(2)})
    r = get(client, admin, "uuid:t2", "house.jpg", f"?size={size}")
    assert r.status_code == 422 and "size" in r.json["details"]["errors"]


def test_a_thumbnail_deleted_from_storage_is_made_again(
    client, collector, household, admin, storage
):
    data = photo(3)
    send(collector, "uuid:t3", {"house.jpg": data})
    key = derived_key(sha(data), "320.jpg")
    storage.delete(key)
    r = get(client, admin, "uuid:t3", "house.jpg", "?size=320")
    assert r.status_code == 200 and Image.open(io.BytesIO(r.data)).size == (320, 240)
    assert storage.exists(key)


def test_a_png_is_an_image_and_its_type_comes_from_its_bytes(
    client, collector, household, admin, db
):
    data = png()
    send(collector, "uuid:g1", {"house.jpg": data})  # a PNG named .jpg
    assert rules(db, "uuid:g1") == []
    r = get(client, admin, "uuid:g1", "house.jpg")
    assert r.mimetype == "image/png" and r.headers["Content-Disposition"].startswith("inline")
    with db.session() as s:
        assert s.scalar(select(Blob.content_type).where(Blob.sha256 == sha(data))) == "image/png"
    assert get(client, admin, "uuid:g1", "house.jpg", "?size=320").status_code == 200


def test_heic_is_checked_and_thumbnailed_but_downloaded(client, collector, household, admin, db):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    scene(4).save(out, "HEIF")
    send(collector, "uuid:heic", {"IMG_0001.HEIC": out.getvalue()})
    assert rules(db, "uuid:heic") == []
    assert meta(db, out.getvalue()).kind == "heic"
    r = get(client, admin, "uuid:heic", "IMG_0001.HEIC")
    assert r.mimetype == "image/heic" and r.headers["Content-Disposition"].startswith("attachment")
    thumb = get(client, admin, "uuid:heic", "IMG_0001.HEIC", "?size=320")
    assert thumb.mimetype == "image/jpeg" and Image.open(io.BytesIO(thumb.data)).size == (320, 240)


# -- files that are not what they say -------------------------------------------------------------


def test_html_named_jpg_is_kept_flagged_and_only_ever_downloaded(
    client, collector, household, admin, db, storage
):
    send(collector, "uuid:x1", {"house.jpg": HTML})  # sent with Content-Type image/jpeg
    assert attachment_bytes(db, storage, "uuid:x1") == {"house.jpg": HTML}
    assert problems(db, "uuid:x1") == [("photo-not-image", "/data/house_photo", "house.jpg")]
    assert submission(db, "uuid:x1").review_state == "hasIssues"
    r = get(client, admin, "uuid:x1", "house.jpg")
    assert r.status_code == 200 and r.data == HTML
    assert r.mimetype == "application/octet-stream"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert get(client, admin, "uuid:x1", "house.jpg", "?size=320").status_code == 404
    assert not storage.exists(derived_key(sha(HTML), "320.jpg"))


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda: photo(5)[:9000], "photo-unreadable"),
        (lambda: png_declaring(60_000, 60_000), "photo-bomb"),
        (lambda: jpeg_declaring(65_000, 65_000), "photo-bomb"),
    ],
    ids=["truncated-jpeg", "png-bomb", "jpeg-bomb"],
)
def test_a_broken_or_hostile_image_is_kept_and_flagged_never_opened_inline(
    client, collector, household, admin, db, storage, make, rule
):
    data = make()
    send(collector, "uuid:b1", {"house.jpg": data})
    assert attachment_bytes(db, storage, "uuid:b1") == {"house.jpg": data}
    assert rules(db, "uuid:b1") == [rule]
    assert submission(db, "uuid:b1").review_state == "hasIssues"
    r = get(client, admin, "uuid:b1", "house.jpg")
    assert r.headers["Content-Disposition"].startswith("attachment") and r.data == data
    assert get(client, admin, "uuid:b1", "house.jpg", "?size=320").status_code == 404


def test_several_files_of_one_submission_are_each_recorded_once(collector, household, db, storage):
    """A house photo, two members' photos (one the house photo's bytes again) and a file named
    .jpg that is none: the job keeps a row for each distinct content in one go, thumbnails the
    pictures and retypes only the one whose bytes are no image."""
    house, member, fake = photo(31), photo(32), HTML
    body = household_xml(
        "uuid:m1",
        house_photo="house.jpg",
        members=(("An", "an.jpg"), ("Bình", "binh.jpg"), ("Chi", "chi.jpg")),
    )
    files = {"house.jpg": house, "an.jpg": member, "binh.jpg": house, "chi.jpg": fake}
    assert [r.status for r in collector.submit(body, files)] == [201]
    assert [(m.kind, m.verdict) for m in (meta(db, house), meta(db, member))] == [
        ("jpeg", "ok"),
        ("jpeg", "ok"),
    ]
    assert meta(db, fake).verdict == "not-image"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PhotoMeta)) == 3
        shas = [sha(house), sha(member), sha(fake)]
        types = dict(
            s.execute(select(Blob.sha256, Blob.content_type).where(Blob.sha256.in_(shas))).all()
        )
    assert types == {
        sha(house): "image/jpeg",
        sha(member): "image/jpeg",
        sha(fake): "application/octet-stream",
    }
    for data in (house, member):
        with storage.open(derived_key(sha(data), "320.jpg")) as fh:
            assert Image.open(fh).size == (320, 240)
    assert rules(db, "uuid:m1") == ["photo-not-image"]


def test_an_audio_answer_is_not_flagged_as_not_an_image(collector, household, db):
    send(collector, "uuid:a1", {"note.m4a": b"\x00\x00\x00\x20ftypM4A fake audio"})
    assert rules(db, "uuid:a1") == []


# -- where and when -------------------------------------------------------------------------------


def test_a_photo_taken_far_from_the_household_is_flagged(collector, household, db):
    send(collector, "uuid:f1", {"house.jpg": photo(6, gps=(HOUSE[0] + 0.05, HOUSE[1]))})
    [(rule, path, value)] = problems(db, "uuid:f1")
    assert (rule, path) == ("photo-far", "/data/house_photo")
    assert value == f"{photo_lib.distance_m(*HOUSE, HOUSE[0] + 0.05, HOUSE[1]):.0f} m"
    assert submission(db, "uuid:f1").review_state == "hasIssues"
    send(collector, "uuid:f2", {"house.jpg": photo(7, gps=(HOUSE[0] + 0.002, HOUSE[1]))})
    assert rules(db, "uuid:f2") == []  # 222 m


def test_the_distance_limit_is_a_setting(collector_with, household, db):
    c = collector_with(photo_max_distance_m=100)
    send(c, "uuid:f3", {"house.jpg": photo(7, gps=(HOUSE[0] + 0.002, HOUSE[1]))})
    assert rules(db, "uuid:f3") == ["photo-far"]


def test_a_photo_taken_long_before_the_visit_is_flagged(collector, household, db):
    send(collector, "uuid:o1", {"house.jpg": photo(8, taken=now() - dt.timedelta(days=45))})
    [(rule, _, value)] = problems(db, "uuid:o1")
    assert rule == "photo-old" and value.startswith(f"{now() - dt.timedelta(days=45):%Y-%m-%d}")
    send(collector, "uuid:o2", {"house.jpg": photo(9, taken=now() - dt.timedelta(days=29))})
    assert rules(db, "uuid:o2") == []


def test_the_visit_is_the_forms_start_time_and_location(collector, db, storage):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    start, where = dt.datetime(2026, 11, 29, 3, 44), (13.7721, 109.2981)  # as in pov1.xml
    old = photo(10, taken=start - dt.timedelta(days=31), gps=where)
    body = domain_sample("pov1.xml", **{"<house_photo />": "<house_photo>h.jpg</house_photo>"})
    assert [r.status for r in collector.submit(body, {"h.jpg": old})] == [201]
    instance = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
    assert [p for p in problems(db, instance) if p[0].startswith("photo-")] == [
        ("photo-old", "/data/house_photo", f"{start - dt.timedelta(days=31):%Y-%m-%d %H:%M}")
    ]


# -- the same photo twice -------------------------------------------------------------------------


def test_the_same_photo_in_two_households_flags_both(collector, household, db):
    data = photo(11)
    send(collector, "uuid:d1", {"house.jpg": data}, code="HH-01")
    assert submission(db, "uuid:d1").review_state == "received"
    send(collector, "uuid:d2", {"front.jpg": data}, code="HH-02")
    first, second = submission(db, "uuid:d1"), submission(db, "uuid:d2")
    assert problems(db, "uuid:d2") == [
        ("photo-reused", "/data/house_photo", f"submission {first.id}: house.jpg")
    ]
    assert problems(db, "uuid:d1") == [
        ("photo-reused", "/data/house_photo", f"submission {second.id}: front.jpg")
    ]
    assert first.review_state == second.review_state == "hasIssues"
    assert count(db, Blob) == 2  # the photo once, and the form's villages.csv


def test_a_re_encoded_copy_in_another_household_is_flagged_as_nearly_identical(
    collector, household, db
):
    send(collector, "uuid:n1", {"house.jpg": photo(12, quality=92)})
    send(collector, "uuid:n2", {"house.jpg": photo(12, quality=40)})
    send(collector, "uuid:n3", {"house.jpg": photo(13)})  # another house
    assert rules(db, "uuid:n2") == ["photo-reused"] and rules(db, "uuid:n1") == ["photo-reused"]
    with db.session() as s:
        message = s.scalar(
            select(SubmissionProblem.message_en).where(SubmissionProblem.rule == "photo-reused")
        )
    assert "nearly identical" in message
    assert rules(db, "uuid:n3") == []


def test_an_approved_submission_keeps_its_state_but_gets_the_problem(collector, household, db):
    send(collector, "uuid:r1", {"house.jpg": photo(14)})
    with db.session() as s:
        s.get(Submission, submission(db, "uuid:r1").id).review_state = "approved"
        s.commit()
    send(collector, "uuid:r2", {"house.jpg": photo(14)})
    assert submission(db, "uuid:r1").review_state == "approved"
    assert rules(db, "uuid:r1") == ["photo-reused"]


def test_the_same_household_reviewed_again_may_show_the_same_house(collector, db, storage):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    house = photo(15)

    def review(instance: str, household: str) -> None:
        body = domain_sample(
            "pov1.xml",
            **{
                "<house_photo />": "<house_photo>h.jpg</house_photo>",
                "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7": instance,
                "NC-T01-017": household,
            },
        )
        assert [r.status for r in collector.submit(body, {"h.jpg": house})] == [201]

    review("uuid:y1", "NC-T01-017")
    review("uuid:y2", "NC-T01-017")  # the same household again
    assert "photo-reused" not in rules(db, "uuid:y2")
    review("uuid:y3", "NC-T01-099")  # another household
    assert "photo-reused" in rules(db, "uuid:y3")
    assert rules(db, "uuid:y1").count("photo-reused") == 1


# -- cost -----------------------------------------------------------------------------------------


def test_a_resent_photo_is_not_opened_again(collector, household, db, monkeypatch):
    opened = []
    real = photo_lib.inspect
    monkeypatch.setattr(photo_lib, "inspect", lambda *a, **k: opened.append(1) or real(*a, **k))
    data = photo(16)
    xml = household_xml("uuid:c1", house_photo="house.jpg")
    collector.submit(xml, {"house.jpg": data})
    collector.submit(xml, {"house.jpg": data})  # Collect resends after a lost answer
    send(collector, "uuid:c2", {"house.jpg": data})  # the same bytes in another submission
    assert len(opened) == 1
    assert rules(db, "uuid:c2") == ["photo-reused"]


def test_a_photo_arriving_in_a_later_post_is_checked_then(collector, household, db):
    xml = household_xml("uuid:l1", house_photo="house.jpg")
    assert "house.jpg" in collector.submit(xml)[0].message  # the photo did not make it
    assert submission(db, "uuid:l1").review_state == "received"
    collector.submit(xml, {"house.jpg": photo(17, gps=(HOUSE[0] + 1, HOUSE[1]))})
    assert rules(db, "uuid:l1") == ["photo-far"]
    assert submission(db, "uuid:l1").review_state == "hasIssues"


def test_an_edit_that_keeps_the_photo_keeps_its_problem(collector, household, db):
    far = photo(18, gps=(HOUSE[0] + 1, HOUSE[1]))
    send(collector, "uuid:e1", {"house.jpg": far})
    edit = household_xml(
        "uuid:e2", head="Trần Thị Bé", house_photo="house.jpg", deprecated_id="uuid:e1"
    )
    assert collector.submit(edit)[0].status == 201  # the photo is carried forward
    assert rules(db, "uuid:e2") == ["photo-far"]


def test_a_50_mb_photo_is_stored_and_checked(collector, household, db, storage):
    side = 5100  # random pixels at quality 100: about 2 bytes a pixel
    data = noisy_jpeg(side, side, seed=3, quality=100)
    assert len(data) > 50_000_000
    send(collector, "uuid:big", {"house.jpg": data})
    with db.session() as s:
        blob = s.scalar(select(Blob).where(Blob.sha256 == sha(data)))
        assert blob.size == len(data) and blob.content_type == "image/jpeg"
    m = meta(db, data)
    assert (m.verdict, m.width, m.height) == ("ok", side, side)
    with storage.open(derived_key(sha(data), "1280.jpg")) as fh:
        assert Image.open(fh).size == (1280, 1280)


# -- S3 -------------------------------------------------------------------------------------------


def test_photos_go_to_an_s3_bucket_when_the_storage_url_says_so(
    settings, db, make_user, monkeypatch, publish
):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint:
        bucket = new_bucket(endpoint)
        app = create_app(
            settings.but(storage_url=f"s3://{bucket}/media?endpoint_url={endpoint}"), db=db
        )
        publish("household")
        make_user("thu", "collector")
        make_user("admin1", "admin")
        client = app.test_client()
        phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
        data = photo(19, size=(2000, 1500))
        send(phone, "uuid:s3", {"house.jpg": data})
        token = client.post(
            "/api/v1/sessions", json={"username": "admin1", "password": PASSWORD}
        ).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert get(client, headers, "uuid:s3", "house.jpg").data == data
        thumb = get(client, headers, "uuid:s3", "house.jpg", "?size=320")
        assert Image.open(io.BytesIO(thumb.data)).size == (320, 240)
        key = f"{sha(data)[:2]}/{sha(data)[2:4]}/{sha(data)}"
        assert object_names(endpoint, bucket) == [
            f"media/{key}",
            f"media/derived/{key}.1280.jpg",
            f"media/derived/{key}.320.jpg",
        ]
        assert not settings.media_root.joinpath("blobs", key).exists()


def test_the_uninspected_jpeg_helper_still_posts(collector, household, db):
    """factories.jpeg() (a plain colour) has no likeness to compare: two households may share it."""
    send(collector, "uuid:j1", {"house.jpg": jpeg()})
    send(collector, "uuid:j2", {"house.jpg": jpeg(color=(10, 10, 10))})
    assert rules(db, "uuid:j2") == []


def test_files_stored_before_photo_checks_are_backfilled_by_the_cli(
    client, collector, household, admin, db, storage, settings, database_url
):
    data = photo(20)
    send(collector, "uuid:old", {"house.jpg": data})
    with db.session() as s:  # as a file received before migration 0005 left it
        s.execute(delete(PhotoHashBand))
        s.execute(delete(PhotoMeta))
        s.commit()
    for size in (320, 1280):
        storage.delete(derived_key(sha(data), f"{size}.jpg"))
    assert (
        get(client, admin, "uuid:old", "house.jpg")
        .headers["Content-Disposition"]
        .startswith("attachment")
    )
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_MEDIA_ROOT": str(settings.media_root),
        "KHUDAN_INSTANCE_DIR": str(settings.media_root.parent / "instance"),
        "KHUDAN_SECRET_KEY": "cli-test",
    }
    r = CliRunner().invoke(main, ["photos", "backfill"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "Checked 1 file(s)" in r.output
    assert meta(db, data).verdict == "ok" and storage.exists(derived_key(sha(data), "320.jpg"))
    assert (
        get(client, admin, "uuid:old", "house.jpg")
        .headers["Content-Disposition"]
        .startswith("inline")
    )
    again = CliRunner().invoke(main, ["photos", "backfill"], env=env, catch_exceptions=False)
    assert "Checked 0 file(s)" in again.output


def test_one_picture_in_many_households_costs_the_same_each_time(collector, household, db):
    """Issue 12: reused photos were flagged pairwise. Now each copy names the first submission
    holding the picture, the first gets one problem, and the 20th copy runs as many statements
    as the 4th."""
    data = photo(21)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def send_counted(n: int) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            send(collector, f"uuid:many-{n}", {"house.jpg": data}, code=f"HH-{n:02d}")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    costs = {n: send_counted(n) for n in range(1, 21)}
    assert costs[20] == costs[4]
    first = submission(db, "uuid:many-1")
    with db.session() as s:
        rows = s.execute(
            select(SubmissionProblem.version_id, SubmissionProblem.related_submission_id).where(
                SubmissionProblem.rule == "photo-reused"
            )
        ).all()
    assert len(rows) == 20  # one per copy and one on the first, not one per pair (190 + 190)
    assert [r.related_submission_id for r in rows].count(first.id) == 19
    assert problems(db, "uuid:many-1") == [
        (
            "photo-reused",
            "/data/house_photo",
            f"submission {submission(db, 'uuid:many-2').id}: house.jpg",
        )
    ]


def test_distinct_dark_or_flat_photos_are_not_reused(collector, household, db):
    for n in range(12):
        out = io.BytesIO()
        dim_scene(100 + n).save(out, "JPEG", quality=85)
        send(collector, f"uuid:dim-{n}", {"house.jpg": out.getvalue()}, code=f"HD-{n:02d}")
    with db.session() as s:
        assert s.scalar(select(func.count()).where(SubmissionProblem.rule == "photo-reused")) == 0
