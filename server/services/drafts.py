"""Form drafts: the next definition of a form, tried out before phones get it.

Saving an XLSForm as a draft converts and checks it (pyxform, ODK Validate), compares it with the
published version, and gives it a test link (``/test/<token>``, like ODK Central's draft token)
that a tester's Collect scans as a QR code to download the draft and send test submissions. Test
submissions are kept apart: never counted, never reviewed, deleted when the draft is published or
discarded. Publishing makes the draft the current version; its version string must be new, and
older versions keep accepting submissions. Every step is in the audit log.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import errors
from ..db import Database
from ..models import (
    Blob,
    DraftMedia,
    DraftTestAttachment,
    DraftTestSubmission,
    Form,
    FormDraft,
    FormMedia,
    FormVersion,
    User,
)
from ..models.base import utcnow
from ..storage import Storage
from ..xforms import safety
from ..xforms.diff import FormDiff, diff
from ..xforms.entities import declarations as declared_lists
from ..xforms.safexml import local
from ..xforms.schema import read_xform
from ..xforms.submission import read_submission
from . import areas, audit, blobs, entities, facts, forms
from .ingest import Upload


def save(
    db: Database,
    storage: Storage,
    *,
    xml: bytes,
    xlsx: bytes | None = None,
    media: dict[str, bytes] | None = None,
    warnings: list[str] | None = None,
    validate: bool = True,
    actor_id: int | None = None,
) -> FormDraft:
    """Save an XForm as the draft of its form (replacing an earlier draft of the same form).

    The draft keeps the media files of the published version (or of the draft it replaces) that
    it still refers to, unless new ones are given. A changed definition deletes the earlier
    draft's test submissions: they were filled in another form.
    """
    info = read_xform(xml)
    safety.check(xml)
    missing = facts.missing_fields(info.form_id, info.fields)
    if missing:
        raise errors.DOMAIN_FIELDS_MISSING(form_id=info.form_id, fields=", ".join(missing))
    with db.session() as session:
        if forms._version(session, info.form_id, info.version) is not None:
            raise errors.DRAFT_VERSION_PUBLISHED(form_id=info.form_id, version=info.version)
    findings = list(warnings or [])
    if validate:
        findings.extend(forms.validate_xform(xml))  # errors raise 422.2 with JavaRosa's text
    wanted = {
        name: data
        for name, data in (media or {}).items()
        if name in info.media_expected and name not in forms.GENERATED_MEDIA
    }
    stored = {name: storage.put_stream(io.BytesIO(data)) for name, data in wanted.items()}
    md5 = hashlib.md5(xml).hexdigest()
    with db.session() as session:
        draft = session.scalar(select(FormDraft).where(FormDraft.form_id == info.form_id))
        inherited = _inherited_media(session, info.form_id, draft)
        if draft is None:
            draft = FormDraft(form_id=info.form_id, token=secrets.token_urlsafe(32))
            session.add(draft)
        elif draft.md5 != md5:
            _delete_tests(session, draft)
            draft.updated_at = utcnow()
        draft.version, draft.title, draft.xml, draft.md5 = info.version, info.title, xml, md5
        draft.xlsx, draft.fields, draft.findings = xlsx, info.fields, findings
        draft.media_expected, draft.created_by = info.media_expected, actor_id
        session.flush()
        keep = {n: b for n, b in inherited.items() if n in info.media_expected}
        keep.update(
            {n: blobs.id_for(session, s, blobs.content_type_for(n)) for n, s in stored.items()}
        )
        session.execute(delete(DraftMedia).where(DraftMedia.draft_id == draft.id))
        for name, blob_id in sorted(keep.items()):
            session.add(DraftMedia(draft_id=draft.id, filename=name, blob_id=blob_id))
        audit.record(
            session,
            actor_id,
            "form.draft.save",
            f"form:{info.form_id}",
            form_id=info.form_id,
            version=info.version,
        )
        session.commit()
        session.refresh(draft)
        session.expunge(draft)
    return draft


def _delete_tests(session: Session, draft: FormDraft) -> int:
    """Delete a draft's test submissions and their file rows; return how many there were."""
    ids = select(DraftTestSubmission.id).where(DraftTestSubmission.draft_id == draft.id)
    session.execute(delete(DraftTestAttachment).where(DraftTestAttachment.submission_id.in_(ids)))
    return session.execute(
        delete(DraftTestSubmission).where(DraftTestSubmission.draft_id == draft.id)
    ).rowcount


def _inherited_media(session: Session, form_id: str, draft: FormDraft | None) -> dict[str, int]:
    """filename -> blob id: the replaced draft's files, else the published version's."""
    if draft is not None:
        rows = session.execute(
            select(DraftMedia.filename, DraftMedia.blob_id).where(DraftMedia.draft_id == draft.id)
        )
        found = dict(rows.all())
        if found:
            return found
    return dict(
        session.execute(
            select(FormMedia.filename, FormMedia.blob_id)
            .join(Form, Form.current_version_id == FormMedia.form_version_id)
            .where(Form.form_id == form_id)
        ).all()
    )


def get(session: Session, form_id: str) -> FormDraft:
    draft = session.scalar(select(FormDraft).where(FormDraft.form_id == form_id))
    if draft is None:
        raise errors.NOT_FOUND(what=f"a draft of form {form_id}")
    return draft


def by_token(session: Session, token: str) -> FormDraft | None:
    return session.scalar(select(FormDraft).where(FormDraft.token == token))


@dataclass(frozen=True, slots=True)
class Summary:
    """What a designer reads before publishing."""

    draft: FormDraft
    published_version: str | None
    changes: FormDiff
    missing_media: list[str]
    test_submissions: int


def summary(session: Session, draft: FormDraft) -> Summary:
    current = session.scalar(
        select(FormVersion)
        .join(Form, Form.current_version_id == FormVersion.id)
        .where(Form.form_id == draft.form_id)
    )
    present = {m.filename for m in media_of(session, draft)}
    present |= set(entities.media_lists(session, draft.media_expected))
    present |= {f"{d.list_name}.csv" for d in declared_lists(draft.xml)}
    return Summary(
        draft=draft,
        published_version=current.version if current is not None else None,
        changes=diff(current.fields if current is not None else [], draft.fields),
        missing_media=[
            n for n in draft.media_expected if n not in present and n not in forms.GENERATED_MEDIA
        ],
        test_submissions=session.scalar(
            select(func.count())
            .select_from(DraftTestSubmission)
            .where(DraftTestSubmission.draft_id == draft.id)
        ),
    )


def tests_of(session: Session, draft: FormDraft) -> list[tuple[int, str, object, int]]:
    """(id, instanceID, received at, files) of each test submission, newest first."""
    return [
        tuple(row)
        for row in session.execute(
            select(
                DraftTestSubmission.id,
                DraftTestSubmission.instance_id,
                DraftTestSubmission.created_at,
                func.count(DraftTestAttachment.id),
            )
            .outerjoin(
                DraftTestAttachment, DraftTestAttachment.submission_id == DraftTestSubmission.id
            )
            .where(DraftTestSubmission.draft_id == draft.id)
            .group_by(DraftTestSubmission.id)
            .order_by(DraftTestSubmission.id.desc())
        )
    ]


def test_xml(session: Session, draft: FormDraft, test_id: int) -> bytes:
    xml = session.scalar(
        select(DraftTestSubmission.xml).where(
            DraftTestSubmission.draft_id == draft.id, DraftTestSubmission.id == test_id
        )
    )
    if xml is None:
        raise errors.NOT_FOUND(what=f"test submission {test_id} of the draft of {draft.form_id}")
    return xml


def media_of(session: Session, draft: FormDraft) -> list[DraftMedia]:
    return list(
        session.scalars(
            select(DraftMedia).where(DraftMedia.draft_id == draft.id).order_by(DraftMedia.filename)
        )
    )


@dataclass(frozen=True, slots=True)
class DraftFile:
    """A media file a draft is tried with, on a phone (its test link) or in the browser."""

    name: str
    md5: str
    content_type: str
    storage_key: str | None = None  # an uploaded file
    data: bytes | None = None  # a file khudan writes

    def open(self, storage: Storage) -> BinaryIO:
        """The file to read: one khudan wrote from memory, an uploaded one from storage."""
        return io.BytesIO(self.data) if self.data is not None else storage.open(self.storage_key)


def tester_files(
    session: Session, draft: FormDraft, user: User | None, only: str | None = None
) -> list[DraftFile]:
    """The draft's media as a phone would get them once it is published: the uploaded files,
    and those khudan writes, which win over an upload of the same name. ``areas.csv`` holds the
    whole registry (public, and a test may be filled anywhere); an entity list the draft reads
    holds ``user``'s entities (the draft's creator for the test link, whoever previews it in the
    browser), only its columns when there is no such user or the list comes with this draft.
    ``only``: that file alone (a download needs one, a manifest all)."""
    expected = [n for n in draft.media_expected if only is None or n == only]
    made: dict[str, bytes] = {}
    if areas.AREAS_MEDIA in expected:
        made[areas.AREAS_MEDIA] = areas.registry_csv(session)
    for name, lst in entities.media_lists(session, expected).items():
        made[name] = (
            entities.csv_for(session, lst, user)
            if user is not None
            else entities.empty_csv(lst.properties or [])
        )
    for d in declared_lists(draft.xml):  # lists that begin with this draft: none published yet
        name = f"{d.list_name}.csv"
        if name in expected and name not in made:
            made[name] = entities.empty_csv(entities.declared_properties(draft.form_id, d))
    out = [
        DraftFile(name, hashlib.md5(data).hexdigest(), blobs.content_type_for(name), data=data)
        for name, data in made.items()
    ]
    for m in media_of(session, draft):
        if m.filename not in made and (only is None or m.filename == only):
            blob = session.get(Blob, m.blob_id)
            out.append(DraftFile(m.filename, blob.md5, blob.content_type, blob.storage_key))
    return sorted(out, key=lambda f: f.name)


def publish(
    db: Database, storage: Storage, form_id: str, actor_id: int | None
) -> forms.PublishResult:
    """Make the draft the current version; its test submissions go with it."""
    with db.session() as session:
        draft = get(session, form_id)
        files = {
            m.filename: session.get(Blob, m.blob_id).storage_key for m in media_of(session, draft)
        }
        xml, xlsx, findings = draft.xml, draft.xlsx, list(draft.findings)
    media = {}
    for name, key in files.items():
        with storage.open(key) as fh:
            media[name] = fh.read()
    result = forms.publish(
        db,
        storage,
        xml=xml,
        xlsx=xlsx,
        media=media,
        warnings=findings,
        validate=False,  # checked when it was saved
        actor_id=actor_id,
    )
    with db.session() as session:
        draft = get(session, form_id)
        tests = _delete_tests(session, draft)
        session.delete(draft)
        audit.record(
            session,
            actor_id,
            "form.draft.publish",
            f"form:{form_id}",
            form_id=form_id,
            version=result.version,
            test_submissions_deleted=tests,
        )
        session.commit()
    return result


def discard(db: Database, form_id: str, actor_id: int | None) -> None:
    with db.session() as session:
        draft = get(session, form_id)
        tests = _delete_tests(session, draft)
        session.delete(draft)
        audit.record(
            session,
            actor_id,
            "form.draft.discard",
            f"form:{form_id}",
            form_id=form_id,
            version=draft.version,
            test_submissions_deleted=tests,
        )
        session.commit()


def receive_test(
    db: Database,
    storage: Storage,
    token: str,
    xml: bytes,
    uploads: list[Upload],
    device_id: str | None,
) -> tuple[DraftTestSubmission, list[str]]:
    """Keep a test submission sent through a draft's test link; return it and the files it
    still lacks. Resending the same XML adds files; other XML under the same instanceID is 409."""
    info = read_submission(xml)
    stored = {u.name: (storage.put_stream(u.stream), u.content_type) for u in uploads}
    with db.session() as session:
        draft = by_token(session, token)
        if draft is None:
            raise errors.TOKEN_INVALID()
        if info.form_id != draft.form_id:
            raise errors.FORM_NOT_FOUND(form_id=info.form_id)
        row = session.scalar(
            select(DraftTestSubmission).where(
                DraftTestSubmission.draft_id == draft.id,
                DraftTestSubmission.instance_id == info.instance_id,
            )
        )
        if row is None:
            row = DraftTestSubmission(
                draft_id=draft.id, instance_id=info.instance_id, xml=xml, device_id=device_id
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                None,
                "form.draft.test_submission",
                f"form:{draft.form_id}",
                form_id=draft.form_id,
                version=draft.version,
                instance_id=info.instance_id,
            )
        elif row.xml != xml:
            raise errors.XML_CONFLICT(instance_id=info.instance_id)
        have = {a.name for a in row.files}
        for name, (item, ctype) in stored.items():
            if name not in have:
                blob_id = blobs.id_for(session, item, ctype or blobs.content_type_for(name))
                row.files.append(DraftTestAttachment(name=name, blob_id=blob_id))
                have.add(name)
        binary = {f["path"] for f in draft.fields if f["type"] == "binary"}
        referenced = _referenced_files(info.root, binary)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row, [n for n in referenced if n not in have]


def _referenced_files(root, binary_paths: set[str]) -> list[str]:
    out: list[str] = []

    def walk(element, path: str) -> None:
        for node in element:
            if not isinstance(node.tag, str):
                continue
            node_path = f"{path}/{local(node.tag)}"
            if node_path in binary_paths and (node.text or "").strip():
                out.append(node.text.strip())
            walk(node, node_path)

    walk(root, f"/{local(root.tag)}")
    return out
