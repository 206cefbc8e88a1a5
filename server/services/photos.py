"""Photo checks at ingest: what each file really is, thumbnails, and the problems a supervisor sees.

Work is split around the job's write transaction so that the write lock is held briefly:
- ``prepare`` runs before it: each file not seen before (no ``PhotoMeta`` row for its bytes, as
  the job's first read found) is opened once with Pillow (``khudan.photos``), its thumbnails (320
  px; 1280 px unless it is an upright JPEG within that) are written to storage as derived files,
  and what it is becomes a ``PhotoInfo``.
  A resent photo is already known and is not opened again.
- ``remember`` (in the transaction) keeps a ``PhotoMeta`` row per new blob, unless another job
  kept one first (``ON CONFLICT DO NOTHING``), and says which rows it wrote.
- ``check`` (in the transaction) turns the facts into problems on the submission version: not an
  image, a decompression bomb, unreadable, taken far from the household's geopoint, taken long
  before the visit, or the same photo (same bytes, or a dHash at most 4 bits away) in another
  household's submission. A reused photo is flagged on both submissions.
Nothing here rejects a submission: a collector cannot fix a sent form.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import BinaryIO
from xml.etree.ElementTree import Element

from sqlalchemy import Row, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from .. import db, photos
from ..models import (
    Attachment,
    Blob,
    PhotoHashBand,
    PhotoMeta,
    ReviewState,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
)
from ..photos import PhotoInfo, Verdict
from ..storage import Storage, Stored, derived_key
from ..xforms.answers import Answers
from ..xforms.safexml import local
from ..xforms.submission import read_submission
from . import blobs
from .facts import Problem

THUMBNAIL_SIZES = (320, 1280)
NEAR_BITS = 4  # dHash distance at or below which two photos are the same picture
CANDIDATES = 50  # similar photos read per photo received (the earliest ones): any one will do
# 64 bits in 5 bands: two hashes within NEAR_BITS differ in at most 4 bands, so agree on one.
BANDS = ((0, 13), (13, 13), (26, 13), (39, 13), (52, 12))
_OPEN_STATES = (ReviewState.RECEIVED.value, ReviewState.EDITED.value)


@dataclass(frozen=True, slots=True)
class Policy:
    pixel_limit: int = photos.DEFAULT_PIXEL_LIMIT
    max_distance_m: float = 500
    max_age_days: int = 30

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(
            pixel_limit=settings.photo_max_pixels,
            max_distance_m=settings.photo_max_distance_m,
            max_age_days=settings.photo_max_age_days,
        )


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A file of the version no job has checked yet, as the read before the job found it."""

    stored: Stored
    content_type: str  # what its blob records (the type its name suggested, when it came)
    known: bool  # its bytes were looked at before (they have a PhotoMeta row)


@dataclass(frozen=True, slots=True)
class Incoming:
    """What the checks need from one version, worked out before the transaction."""

    found: dict[str, PhotoInfo]  # file name -> what a file not seen before turned out to be
    retype: dict[str, str]  # file name -> the type its bytes say, where its blob records another
    paths: dict[str, str]  # file name -> the field it answers
    household: tuple[str | None, str | None]  # (commune, household code) when the form asks them
    geopoint: tuple[float, float] | None  # the first geopoint answer of the form
    visit: dt.datetime  # the visit on the phone's wall clock: start, today, or when received
    policy: Policy


def prepare(
    storage: Storage,
    files: dict[str, Unchecked],
    root: Element,
    fields: list[dict],
    answers: Answers,
    policy: Policy,
    received: dt.datetime,
) -> Incoming:
    """Look at every file of the version that is new to khudan; write its thumbnails."""
    found: dict[str, PhotoInfo] = {}
    retype: dict[str, str] = {}
    by_sha: dict[str, PhotoInfo] = {}
    for name, file in files.items():
        if file.known:
            continue
        info = by_sha.get(file.stored.sha256)
        if info is None:
            info = by_sha[file.stored.sha256] = _look(storage, file.stored, policy)
        found[name] = info
        if (kind := content_type(name, info)) != file.content_type:
            retype[name] = kind
    return Incoming(
        found=found,
        retype=retype,
        paths=file_paths(root, set(files)),
        household=(answers.get("commune") or None, answers.place()["household_code"]),
        geopoint=first_geopoint(root, fields),
        visit=visit_time(answers, received),
        policy=policy,
    )


def content_type(name: str, info: PhotoInfo) -> str:
    """The type a file is recorded and served with: what its bytes are, not what its name says.
    A file named like an image that is not one becomes ``application/octet-stream``."""
    if info.content_type:
        return info.content_type
    named = blobs.content_type_for(name)
    return "application/octet-stream" if named.startswith("image/") else named


def remember(
    session: Session, incoming: Incoming, blob_ids: dict[str, int]
) -> dict[int, SimpleNamespace]:
    """Keep what was learnt about new blobs (another job may have kept it first) and return
    what this job kept (blob id -> the PhotoMeta columns, so that :func:`check` need not read
    them back). A new file was recorded with the type its name suggests; now its bytes say what
    it is (a file named .jpg that is no image becomes application/octet-stream)."""
    new = {blob_ids[n]: info for n, info in incoming.found.items() if n in blob_ids}
    if not new:
        return {}
    kept = _keep(session, new)
    for name, content_type in incoming.retype.items():
        if blob_ids.get(name) in kept:
            session.connection().execute(
                _CONTENT_TYPE, {"blob_id": blob_ids[name], "content_type": content_type}
            )
    return kept


# A job's writes, built once and sent as plain statements: ORM-enabled ones would flush the
# session and search its objects first, under the write lock the other workers wait on.
_CONTENT_TYPE = (
    update(Blob.__table__)
    .where(Blob.__table__.c.id == bindparam("blob_id"))
    .values(content_type=bindparam("content_type"))
)


def backfill(db, storage: Storage, policy: Policy, progress=None) -> int:
    """Look at submission files stored before photo checks existed: record what each is and make
    its thumbnails, so it is served inline (a real image) and has thumbnails. Problems are not
    added to those old submissions. Returns how many files were looked at."""
    with db.session() as session:
        rows = session.execute(
            select(Blob.id, Blob.sha256, Blob.storage_key)
            .join(Attachment, Attachment.blob_id == Blob.id)
            .outerjoin(PhotoMeta, PhotoMeta.blob_id == Blob.id)
            .where(PhotoMeta.blob_id.is_(None))
            .distinct()
            .order_by(Blob.id)
        ).all()
    for done, (blob_id, sha256, key) in enumerate(rows, start=1):
        info = _look(storage, Stored(key, sha256, "", 0), policy)
        with db.write_lock(), db.session() as session:
            _keep(session, {blob_id: info})
            session.commit()
        if progress:
            progress(done, len(rows))
    return len(rows)


def _keep(session: Session, new: dict[int, PhotoInfo]) -> dict[int, SimpleNamespace]:
    """A ``PhotoMeta`` row (and hash bands) for each new blob that has none yet (another job
    may have kept it first: its row stands); returns the rows kept here."""
    rows = {blob_id: _meta_row(blob_id, info) for blob_id, info in new.items()}
    inserted = session.connection().execute(
        db.insert_new(session, PhotoMeta.__table__, PhotoMeta.__table__.c.blob_id),
        list(rows.values()),
    )
    kept = {blob_id: rows[blob_id] for blob_id in inserted.scalars()}
    bands = [
        {"blob_id": blob_id, "band": i, "value": v}
        for blob_id in kept
        if new[blob_id].dhash is not None
        for i, v in hash_bands(new[blob_id].dhash)
    ]
    if bands:
        session.connection().execute(insert(PhotoHashBand.__table__), bands)
    return {blob_id: SimpleNamespace(**row) for blob_id, row in kept.items()}


def _meta_row(blob_id: int, info: PhotoInfo) -> dict:
    """The PhotoMeta columns of a file, as stored and as read back."""
    taken = info.taken_at
    return {
        "blob_id": blob_id,
        "kind": info.kind,
        "verdict": info.verdict.value,
        "width": info.width,
        "height": info.height,
        "orientation": info.orientation,
        "taken_at": taken.replace(tzinfo=None) if taken else None,
        "taken_offset": _offset(taken),
        "latitude": info.latitude,
        "longitude": info.longitude,
        "dhash": _signed(info.dhash) if info.dhash is not None else None,
        "detail": info.detail,
    }


def check(
    session: Session,
    incoming: Incoming,
    submission_id: int,
    version_id: int,
    blob_ids: dict[str, int],
    kept: dict[int, SimpleNamespace],
) -> bool:
    """Record the problems of these files on the version, and on the other submissions a reused
    photo is also in; True when this version got any. ``kept``: the PhotoMeta rows this job
    wrote (the others are read)."""
    if not blob_ids:
        return False
    metas = dict(kept)
    if unread := [blob_id for blob_id in blob_ids.values() if blob_id not in metas]:
        metas.update(
            (m.blob_id, m) for m in session.connection().execute(_METAS, {"blob_ids": unread})
        )
    found: list[Problem] = []
    for name, blob_id in blob_ids.items():
        meta = metas.get(blob_id)
        if meta is not None:
            found += _own_problems(incoming, name, meta)
    found += _reuse(session, incoming, submission_id, blob_ids, metas)
    add_problems(session, version_id, found)
    return bool(found)


# What the checks read of a file's PhotoMeta: plain rows with the same attributes (under the
# write lock, without the ORM's cost of building objects).
_METAS = select(*PhotoMeta.__table__.c).where(
    PhotoMeta.__table__.c.blob_id.in_(bindparam("blob_ids", expanding=True))
)


def add_problems(session: Session, version_id: int, found: Iterable[Problem]) -> None:
    rows = [
        {
            "version_id": version_id,
            "path": p.path,
            "rule": p.rule,
            "value": p.value,
            "message_vi": p.message_vi,
            "message_en": p.message_en,
            "related_submission_id": getattr(p, "related", None),
        }
        for p in found
    ]
    if rows:
        session.connection().execute(insert(SubmissionProblem.__table__), rows)


def open_thumbnail(
    storage: Storage, blob: Blob, size: int, pixel_limit: int, meta: PhotoMeta | None = None
) -> BinaryIO:
    """The stored thumbnail, or the original when it already is one (``photos.as_is``), made
    again from the original when it is missing (derived files may be deleted at any time).
    Raises ``photos.PhotoError`` for a file that is not a readable image."""
    if (
        meta is not None
        and meta.width
        and meta.height
        and photos.as_is(meta.kind, meta.orientation, meta.width, meta.height, size)
    ):
        return storage.open(blob.storage_key)
    key = derived_key(blob.sha256, f"{size}.jpg")
    try:
        return storage.open(key)
    except FileNotFoundError:
        pass
    with storage.open(blob.storage_key) as original, _seekable(original) as stream:
        data = photos.thumbnail(stream, size, pixel_limit)
    storage.put_derived(key, data)
    return storage.open(key)


# -- reading the submission -----------------------------------------------------------------------


def file_paths(root: Element, names: set[str]) -> dict[str, str]:
    """File name -> path of the first field whose answer it is."""
    out: dict[str, str] = {}

    def walk(element: Element, path: str) -> None:
        for node in element:
            if not isinstance(node.tag, str):
                continue
            node_path = f"{path}/{local(node.tag)}"
            if len(node):
                walk(node, node_path)
            else:
                text = (node.text or "").strip()
                if text in names and text not in out:
                    out[text] = node_path

    if names:
        walk(root, f"/{local(root.tag)}")
    return out


def first_geopoint(root: Element, fields: list[dict]) -> tuple[float, float] | None:
    """(latitude, longitude) of the first answered geopoint field of the form."""
    for f in fields:
        if f.get("type") != "geopoint":
            continue
        node = _find(root, f["path"])
        parts = (node.text or "").split() if node is not None else []
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return None


def visit_time(answers: Answers, received: dt.datetime) -> dt.datetime:
    """When the household was visited, on the phone's wall clock: ``start``, else ``today``, else
    when the server received it. Wall clocks are compared with the EXIF time, which has no zone;
    a few hours either way do not matter against a limit counted in days."""
    start = answers.get("start")
    if start:
        try:
            return dt.datetime.fromisoformat(start).replace(tzinfo=None)
        except ValueError:
            pass
    today = answers.get("today")
    if today:
        try:
            return dt.datetime.combine(dt.date.fromisoformat(today[:10]), dt.time(12))
        except ValueError:
            pass
    return received.replace(tzinfo=None)


def _find(root: Element, path: str) -> Element | None:
    node = root
    for name in path.strip("/").split("/")[1:]:
        node = next(
            (c for c in node if isinstance(c.tag, str) and local(c.tag) == name),
            None,
        )
        if node is None:
            return None
    return node


# -- the rules ------------------------------------------------------------------------------------


def _own_problems(incoming: Incoming, name: str, meta: Row) -> list[Problem]:
    path = incoming.paths.get(name, name)
    verdict = Verdict(meta.verdict)
    if verdict == Verdict.NOT_IMAGE:
        if not blobs.content_type_for(name).startswith("image/"):
            return []  # an audio file or a document, as its question asked
        return [
            Problem(
                path,
                "photo-not-image",
                name,
                f"Tệp '{name}' không phải là ảnh (nội dung không khớp định dạng ảnh nào). "
                "Tệp vẫn được lưu nhưng chỉ tải xuống được.",
                f"File '{name}' is not an image (its content matches no image format). "
                "It is kept, and can only be downloaded.",
            )
        ]
    if verdict == Verdict.BOMB:
        return [
            Problem(
                path,
                "photo-bomb",
                meta.detail,
                f"Ảnh '{name}' khai báo kích thước quá lớn ({meta.detail}); máy chủ không mở "
                "ảnh này (có thể là tệp tấn công).",
                f"Photo '{name}' {meta.detail}; the server does not open it "
                "(a decompression bomb?).",
            )
        ]
    if verdict == Verdict.BROKEN:
        return [
            Problem(
                path,
                "photo-unreadable",
                meta.detail,
                f"Ảnh '{name}' bị hỏng hoặc gửi thiếu, không đọc được. Hãy chụp và gửi lại.",
                f"Photo '{name}' is truncated or corrupt and cannot be read. "
                "Take it and send it again.",
            )
        ]
    if verdict == Verdict.UNSUPPORTED:
        return [
            Problem(
                path,
                "photo-unsupported",
                meta.kind,
                f"Ảnh '{name}' ({meta.kind}) chưa kiểm tra được trên máy chủ này.",
                f"Photo '{name}' ({meta.kind}) cannot be checked on this server.",
            )
        ]
    found = []
    policy = incoming.policy
    if incoming.geopoint and meta.latitude is not None and meta.longitude is not None:
        metres = photos.distance_m(*incoming.geopoint, meta.latitude, meta.longitude)
        if metres > policy.max_distance_m:
            found.append(
                Problem(
                    path,
                    "photo-far",
                    f"{metres:.0f} m",
                    f"Ảnh '{name}' được chụp cách vị trí của hộ {metres:.0f} m "
                    f"(giới hạn {policy.max_distance_m:.0f} m).",
                    f"Photo '{name}' was taken {metres:.0f} m from the household's location "
                    f"(limit {policy.max_distance_m:.0f} m).",
                )
            )
    if meta.taken_at is not None:
        age = incoming.visit - meta.taken_at.replace(tzinfo=None)
        if age > dt.timedelta(days=policy.max_age_days):
            taken, visit = f"{meta.taken_at:%Y-%m-%d %H:%M}", f"{incoming.visit:%Y-%m-%d}"
            found.append(
                Problem(
                    path,
                    "photo-old",
                    taken,
                    f"Ảnh '{name}' được chụp lúc {taken}, {age.days} ngày trước buổi khảo sát "
                    f"({visit}; giới hạn {policy.max_age_days} ngày).",
                    f"Photo '{name}' was taken at {taken}, {age.days} days before the visit "
                    f"({visit}; limit {policy.max_age_days} days).",
                )
            )
    return found


def _reuse(
    session: Session,
    incoming: Incoming,
    submission_id: int,
    blob_ids: dict[str, int],
    metas: dict[int, Row],  # PhotoMeta's columns (_METAS)
) -> list[Problem]:
    """Problems for photos also in another household's submission. Each photo names the earliest
    such submission; that one's photo gets one problem (naming this one) the first time, not one
    per later copy, and an open one enters review as hasIssues. The queries are bounded (a few
    rows each), so the thousandth copy of a picture costs what the second did."""
    # One key for every photo: a near-duplicate has another hash, so no narrower key would do;
    # the wait is only this check and the commit after it.
    db.serialise(session, "photo-reuse")
    mine = set(blob_ids.values())
    found: list[Problem] = []
    commune, household = incoming.household
    for name, blob_id in sorted(blob_ids.items()):
        similar = {blob_id: None}  # other blob -> dHash distance (None: the very same bytes)
        meta = metas.get(blob_id)
        if meta is not None and meta.dhash is not None:
            h = _unsigned(meta.dhash)
            bands = {f"band{i}": v for i, v in hash_bands(h)}
            candidates = session.execute(_SIMILAR, {**bands, "mine": list(mine)}).all()
            for other, signed in candidates:
                bits = photos.hamming(h, _unsigned(signed))
                if bits <= NEAR_BITS:
                    similar[other] = bits
        params = {"blobs": list(similar), "submission_id": submission_id}
        if household is not None and commune is not None:  # its next review may show the house
            query, params = (
                _IN_ANOTHER_HOUSEHOLD,
                {**params, "household": household, "commune": commune},
            )
        else:
            query = _IN_ANOTHER_SUBMISSION
        use = session.execute(query, params).first()
        if use is None:
            continue
        other_blob, other_name, other_id, other_version = use
        bits = similar[other_blob]
        found.append(_reused(incoming.paths.get(name, name), name, other_name, other_id, bits))
        _tell_the_first(session, other_version, other_name, name, submission_id, bits)
    return found


# The reuse check's statements, built once (every photo received runs them).
_SIMILAR = (  # photos sharing a band of the hash: the only ones that can be near it
    select(PhotoMeta.blob_id, PhotoMeta.dhash)
    .join(PhotoHashBand, PhotoHashBand.blob_id == PhotoMeta.blob_id)
    .where(
        or_(
            *(
                and_(PhotoHashBand.band == i, PhotoHashBand.value == bindparam(f"band{i}"))
                for i in range(len(BANDS))
            )
        ),
        PhotoMeta.blob_id.not_in(bindparam("mine", expanding=True)),
    )
    .distinct()
    .order_by(PhotoMeta.blob_id)
    .limit(CANDIDATES)
)
_IN_ANOTHER_SUBMISSION = (  # the earliest other submission whose current version has one
    select(Attachment.blob_id, Attachment.name, Submission.id, Submission.current_version_id)
    .join(Submission, Submission.current_version_id == Attachment.version_id)
    .where(
        Attachment.blob_id.in_(bindparam("blobs", expanding=True)),
        Submission.id != bindparam("submission_id"),
    )
    .order_by(Submission.id, Attachment.name)
    .limit(1)
)
_IN_ANOTHER_HOUSEHOLD = _IN_ANOTHER_SUBMISSION.where(  # not a later review of the same house
    or_(
        Submission.household_code.is_(None),
        Submission.commune_code.is_(None),
        Submission.household_code != bindparam("household"),
        Submission.commune_code != bindparam("commune"),
    )
)


def _tell_the_first(
    session: Session, version_id: int, name: str, my_name: str, submission_id: int, bits
) -> None:
    """The earliest holder of a reused photo gets one problem about it (the first copy's), and
    an open submission enters review as hasIssues."""
    xml = session.scalar(select(SubmissionVersion.xml).where(SubmissionVersion.id == version_id))
    path = file_paths(read_submission(xml).root, {name}).get(name, name)
    said = session.scalar(
        select(SubmissionProblem.id)
        .where(
            SubmissionProblem.version_id == version_id,
            SubmissionProblem.rule == "photo-reused",
            SubmissionProblem.path == path,
        )
        .limit(1)
    )
    if said is not None:
        return
    add_problems(session, version_id, [_reused(path, name, my_name, submission_id, bits)])
    session.execute(
        update(Submission)
        .where(
            Submission.current_version_id == version_id,
            Submission.review_state.in_(_OPEN_STATES),
        )
        .values(review_state=ReviewState.HAS_ISSUES.value)
    )


def _reused(path: str, name: str, other_name: str, other_id: int, bits: int | None) -> Problem:
    # People read these: how close the hashes are (``bits``) stays out of the words.
    if bits is None:
        vi_how, en_how = "trùng với", "is the same photo as"
    else:
        vi_how = "gần như giống hệt (có lẽ cùng một ảnh đã được lưu lại hoặc chỉnh sửa)"
        en_how = "is nearly identical (likely the same picture, saved again or edited) to"
    return Problem(
        path,
        "photo-reused",
        f"submission {other_id}: {other_name}",
        f"Ảnh '{name}' {vi_how} ảnh '{other_name}' trong bài nộp {other_id} của một hộ khác.",
        f"Photo '{name}' {en_how} '{other_name}' in submission {other_id}, another household's.",
        other_id,
    )


# -- helpers --------------------------------------------------------------------------------------


def hash_bands(h: int) -> list[tuple[int, int]]:
    return [(i, (h >> start) & ((1 << width) - 1)) for i, (start, width) in enumerate(BANDS)]


def _signed(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


def _unsigned(h: int) -> int:
    return h + (1 << 64) if h < 0 else h


def _offset(when: dt.datetime | None) -> str | None:
    if when is None or when.utcoffset() is None:
        return None
    minutes = int(when.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _look(storage: Storage, stored: Stored, policy: Policy) -> PhotoInfo:
    """Inspect one new file and store its thumbnails."""
    with storage.open(stored.key) as original, _seekable(original) as copy:
        info = photos.inspect(copy, policy.pixel_limit, THUMBNAIL_SIZES)
    for size, data in info.thumbnails.items():
        storage.put_derived(derived_key(stored.sha256, f"{size}.jpg"), data)
    return dataclasses.replace(info, thumbnails={})


def _can_seek(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _seekable(stream: BinaryIO):
    """A seekable view of a stream: the stream itself, or a temporary copy (S3 bodies)."""
    if _can_seek(stream):
        yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as copy:
        while chunk := stream.read(1 << 16):
            copy.write(chunk)
        copy.seek(0)
        yield copy
