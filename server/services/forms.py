"""Convert XLSForms with pyxform, check them with ODK Validate, publish versions, and look them up.

Only ``pyxform.xls2xform.convert`` is used, and only its public fields (``xform``, ``warnings``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import errors
from ..db import Database
from ..models import Blob, Form, FormMedia, FormState, FormVersion, Submission, User
from ..models.base import utcnow
from ..storage import Storage
from ..xforms import pyxform_messages, safety
from ..xforms.schema import XFormInfo, read_xform
from ..xforms.xlsx_limits import XlsxLimits, check_xlsx
from . import areas, audit, blobs, entities, facts
from .scope import Scope

log = logging.getLogger(__name__)

# Media khudan writes itself, per user, from the area registry (services.areas.generated_media):
# never uploaded, never missing.
GENERATED_MEDIA = frozenset({areas.AREAS_MEDIA})
EMPTY_VERSION = "_"  # stands for the version "" in download URLs


@dataclass(slots=True)
class PublishResult:
    form_id: str
    version: str
    title: str
    status: str  # "published", "unchanged" or "media-updated"
    warnings: list[str] = field(default_factory=list)
    missing_media: list[str] = field(default_factory=list)


def convert_xlsform(
    data: bytes,
    filename: str = "form.xlsx",
    limits: XlsxLimits = XlsxLimits(),  # noqa: B008 (frozen)
) -> tuple[bytes, list[str]]:
    """XLSForm bytes -> (XForm bytes, pyxform warnings).

    An error keeps pyxform's text as ``reason`` and adds ``errors``: the same text split into
    ``{sheet, row, message}`` items (see khudan.xforms.pyxform_messages). An ``.xlsx`` past
    ``limits`` (a ZIP bomb, a huge form) is refused before pyxform opens it.
    """
    # pyxform (and openpyxl with it) loads when a form is converted, not with every serving
    # process: half a second of each start-up, and memory no request needs.
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    suffix = Path(filename).suffix.lower() or ".xlsx"
    if suffix == ".xlsx":
        check_xlsx(data, limits)
    warnings: list[str] = []
    try:
        result = convert(xlsform=io.BytesIO(data), warnings=warnings, file_type=suffix)
    except PyXFormError as exc:
        raise _xlsform_invalid(str(exc).strip()) from None
    except Exception as exc:  # pyxform raises plain exceptions on unreadable workbooks
        raise _xlsform_invalid(f"{type(exc).__name__}: {exc}") from None
    return result.xform.encode("utf-8"), list(dict.fromkeys(result.warnings or warnings))


def _xlsform_invalid(reason: str) -> errors.Problem:
    return errors.XLSFORM_INVALID(reason=reason, errors=pyxform_messages.parse(reason))


def validate_xform(xml: bytes) -> list[str]:
    """Run ODK Validate (JavaRosa 5, the engine inside ODK Collect) on the XForm; return warnings."""
    from pyxform.validators import odk_validate

    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        tmp.write(xml)
        tmp.flush()
        try:
            return odk_validate.check_xform(tmp.name)
        except odk_validate.ODKValidateError as exc:
            raise errors.XFORM_INVALID(
                reason=str(exc).replace("ODK Validate Errors:\n", "")
            ) from None
        except OSError as exc:
            raise errors.VALIDATOR_UNAVAILABLE(reason=str(exc)) from None


def publish(
    db: Database,
    storage: Storage,
    *,
    xml: bytes,
    xlsx: bytes | None = None,
    media: dict[str, bytes] | None = None,
    warnings: list[str] | None = None,
    validate: bool = True,
    actor_id: int | None = None,
) -> PublishResult:
    """Publish an XForm as a new version of its form.

    The same ``(form_id, version)`` with the same XForm is a no-op (media may still be replaced);
    with a different XForm it is refused, because phones would never see the change. A new version
    keeps the previous version's media files it still refers to, unless new ones are given (as ODK
    Central carries attachments into a new version), so publishing an edited XLSForm does not mean
    uploading every CSV and image again. A change is logged in the audit log as ``form.publish``.
    """
    info = read_xform(xml)
    safety.check(xml)
    missing = facts.missing_fields(info.form_id, info.fields)
    if missing:
        raise errors.DOMAIN_FIELDS_MISSING(form_id=info.form_id, fields=", ".join(missing))
    md5 = hashlib.md5(xml).hexdigest()
    media = dict(media or {})
    result = PublishResult(
        info.form_id, info.version, info.title, "published", list(warnings or [])
    )
    unexpected = sorted(set(media) - set(info.media_expected))
    if unexpected:
        result.warnings.append(
            f"media files not used by the form, ignored: {', '.join(unexpected)}"
        )
    generated = sorted(set(media) & GENERATED_MEDIA)
    if generated:
        result.warnings.append(
            f"media files khudan writes for each collector from the area registry, "
            f"ignored: {', '.join(generated)}"
        )
    media = {
        name: data
        for name, data in media.items()
        if name in info.media_expected and name not in GENERATED_MEDIA
    }

    with db.session() as session:
        existing = _version(session, info.form_id, info.version)
        if existing is not None and existing.md5 != md5:
            raise errors.FORM_VERSION_CHANGED(form_id=info.form_id, version=info.version)
        if existing is None and validate:
            result.warnings.extend(validate_xform(xml))

    stored = {name: storage.put_stream(io.BytesIO(data)) for name, data in media.items()}
    with db.session() as session:
        version = _version(session, info.form_id, info.version)
        if version is None:
            version = _new_version(session, info, xml, md5, xlsx, actor_id)
            entities.register(session, info.form_id, xml)
        else:
            result.status = "unchanged"
        changed = _set_media(session, version, stored)
        if changed and result.status == "unchanged":
            result.status = "media-updated"
        present = {m.filename for m in _media_rows(session, version)}
        present |= set(entities.media_lists(session, info.media_expected))
        result.missing_media = [
            m for m in info.media_expected if m not in present and m not in GENERATED_MEDIA
        ]
        if result.status != "unchanged":
            audit.record(
                session,
                actor_id,
                "form.publish",
                f"form:{info.form_id}",
                form_id=info.form_id,
                version=info.version,
                status=result.status,
            )
        session.commit()
    return result


def publish_xlsform(
    db: Database,
    storage: Storage,
    path: Path,
    *,
    validate: bool = True,
    actor_id: int | None = None,
    limits: XlsxLimits = XlsxLimits(),  # noqa: B008 (frozen)
) -> PublishResult:
    """Publish one XLSForm file; media files sit next to it in ``<name>-media/``."""
    xml, warnings, data, media = read_xlsform(path, limits)
    return publish(
        db,
        storage,
        xml=xml,
        xlsx=data,
        media=media,
        warnings=warnings,
        validate=validate,
        actor_id=actor_id,
    )


def read_xlsform(
    path: Path,
    limits: XlsxLimits = XlsxLimits(),  # noqa: B008 (frozen)
) -> tuple[bytes, list[str], bytes, dict[str, bytes]]:
    """(XForm, pyxform's warnings, the XLSForm's bytes, media files) of an XLSForm file; its
    media files sit next to it in ``<name>-media/``."""
    data = path.read_bytes()
    xml, warnings = convert_xlsform(data, path.name, limits)
    media_dir = path.with_name(f"{path.stem}-media")
    media = {}
    if media_dir.is_dir():
        media = {p.name: p.read_bytes() for p in sorted(media_dir.iterdir()) if p.is_file()}
    return xml, warnings, data, media


def xlsforms_in(directory: Path) -> list[Path]:
    """The XLSForms in a folder, without the lock files spreadsheet programs leave behind."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.xlsx") if not p.name.startswith(("~$", ".")))


def list_forms(session: Session) -> list[Form]:
    return list(
        session.scalars(
            select(Form).options(selectinload(Form.current_version)).order_by(Form.form_id)
        )
    )


def open_forms(session: Session, form_id: str | None = None) -> list[tuple[Form, FormVersion]]:
    """Forms phones may download: open, with a published version (closing forms are hidden)."""
    query = (
        select(Form, FormVersion)
        .join(FormVersion, Form.current_version_id == FormVersion.id)
        .where(Form.state == FormState.OPEN)
        .order_by(FormVersion.title, Form.form_id)
    )
    if form_id is not None:
        query = query.where(Form.form_id == form_id)
    return [tuple(row) for row in session.execute(query)]


def downloadable(session: Session, form_id: str) -> tuple[Form, FormVersion]:
    """The current version of a form that is not closed, or a Problem saying why not."""
    row = session.execute(
        select(Form, FormVersion)
        .join(FormVersion, Form.current_version_id == FormVersion.id)
        .where(Form.form_id == form_id)
    ).first()
    if row is None:
        raise errors.FORM_NOT_FOUND(form_id=form_id)
    if row[0].state == FormState.CLOSED:
        raise errors.FORM_CLOSED(form_id=form_id)
    return row[0], row[1]


def media_files(session: Session, version: FormVersion) -> list[tuple[FormMedia, Blob]]:
    return [
        tuple(row)
        for row in session.execute(
            select(FormMedia, Blob)
            .join(Blob, FormMedia.blob_id == Blob.id)
            .where(FormMedia.form_version_id == version.id)
            .order_by(FormMedia.filename)
        )
    ]


def set_state(
    db: Database, form_id: str, state: FormState | str, actor_id: int | None = None
) -> FormState:
    """Open, close or wind down a form; return the state it had. Logged as ``form.state``."""
    with db.session() as session:
        form = get_form(session, form_id)
        before = FormState(form.state)
        form.state = FormState(state)
        if before != form.state:
            audit.record(
                session,
                actor_id,
                "form.state",
                f"form:{form_id}",
                form_id=form_id,
                before=str(before),
                after=str(form.state),
            )
        session.commit()
    return before


def get_form(session: Session, form_id: str) -> Form:
    form = session.scalar(
        select(Form).options(selectinload(Form.current_version)).where(Form.form_id == form_id)
    )
    if form is None:
        raise errors.FORM_NOT_FOUND(form_id=form_id)
    return form


def get_version(session: Session, form_id: str, version: str) -> FormVersion:
    found = _version(session, form_id, version)
    if found is None:
        get_form(session, form_id)  # 404.1 when the form itself is unknown
        raise errors.FORM_VERSION_NOT_FOUND(form_id=form_id, version=version)
    return found


def version_in_url(session: Session, form_id: str, version: str) -> FormVersion:
    """The version a download URL names: a URL cannot carry the empty version, so ``_`` stands
    for it (a version literally named ``_`` is looked up first, so it stays reachable)."""
    try:
        return get_version(session, form_id, version)
    except errors.Problem as problem:
        if version != EMPTY_VERSION or problem.kind is not errors.FORM_VERSION_NOT_FOUND:
            raise
    return get_version(session, form_id, "")


def counts(session: Session, within: Scope | None = None) -> dict[int, tuple[int, int]]:
    """form pk -> (versions, submissions); with a scope, only its areas' submissions count."""
    nversions = dict(
        session.execute(
            select(FormVersion.form_pk, func.count()).group_by(FormVersion.form_pk)
        ).all()
    )
    query = select(Submission.form_pk, func.count()).group_by(Submission.form_pk)
    if within is not None:
        query = query.where(within.clause(Submission))
    nsubmissions = dict(session.execute(query).all())
    return {pk: (n, nsubmissions.get(pk, 0)) for pk, n in nversions.items()}


def versions_of(session: Session, form: Form) -> list[tuple[FormVersion, str | None]]:
    """Every version of a form, oldest first, with the username of who published it."""
    return [
        (version, username)
        for version, username in session.execute(
            select(FormVersion, User.username)
            .outerjoin(User, FormVersion.published_by == User.id)
            .where(FormVersion.form_pk == form.id)
            .order_by(FormVersion.id)
        )
    ]


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One media file of a version, as designers see it."""

    name: str
    expected: bool
    present: bool
    generated: bool = False
    md5: str | None = None
    size: int | None = None
    content_type: str | None = None
    blob: Blob | None = None
    data: bytes | None = None  # generated content, for this user


def media_of(session: Session, version: FormVersion, username: str) -> list[MediaFile]:
    """The files the version refers to and those uploaded for it; ``areas.csv`` is the one
    written for ``username`` (what that user's phone would receive)."""
    generated = generated_media(session, version.media_expected, username)
    uploaded = {m.filename: blob for m, blob in media_files(session, version)}
    out = []
    for name in sorted(set(version.media_expected) | set(uploaded)):
        expected = name in version.media_expected
        if name in generated:
            data = generated[name]
            out.append(
                MediaFile(
                    name,
                    expected,
                    True,
                    True,
                    hashlib.md5(data).hexdigest(),
                    len(data),
                    blobs.content_type_for(name),
                    data=data,
                )
            )
        elif name in uploaded:
            blob = uploaded[name]
            out.append(
                MediaFile(name, expected, True, False, blob.md5, blob.size, blob.content_type, blob)
            )
        else:
            out.append(MediaFile(name, expected, False, content_type=blobs.content_type_for(name)))
    return out


def generated_media(
    session: Session, expected: list[str], username: str, only: str | None = None
) -> dict[str, bytes]:
    """The media files khudan writes for this user: ``areas.csv`` from the area registry and
    ``<list>.csv`` from each entity list the form reads, both holding only the user's areas.
    They win over an uploaded file of the same name: the registry and the lists are the truth.
    ``only``: just that file (a download needs one, a manifest all)."""
    if only is not None:
        expected = [name for name in expected if name == only]
    made = areas.generated_media(session, expected, username)
    served = entities.media_lists(session, expected)
    if served:
        user = session.scalar(select(User).where(User.username == username))
        for name, lst in served.items():
            made[name] = entities.csv_for(session, lst, user)
    return made


def put_media(
    db: Database,
    storage: Storage,
    form_id: str,
    filename: str,
    stream,
    actor_id: int | None = None,
) -> bool:
    """Upload or replace a media file of the current version; True when it was not there before.

    Only names the form refers to are accepted (phones would never ask for others), and never the
    files khudan writes itself. Logged as ``form.media``.
    """
    with db.session() as session:
        form = get_form(session, form_id)
        version = form.current_version
        if version is None:
            raise errors.FORM_NOT_FOUND(form_id=form_id)
        expected = list(version.media_expected)
    if filename in GENERATED_MEDIA and filename in expected:
        raise errors.MEDIA_GENERATED(filename=filename)
    if filename not in expected:
        raise errors.MEDIA_NOT_EXPECTED(
            form_id=form_id,
            filename=filename,
            expected=", ".join(n for n in expected if n not in GENERATED_MEDIA) or "-",
        )
    stored = storage.put_stream(stream)
    if stored.size == 0:
        raise errors.INVALID_INPUT(reason=f"{filename} is empty")
    with db.session() as session:
        version = session.get(FormVersion, version.id)
        before = {m.filename for m in _media_rows(session, version)}
        changed = _set_media(session, version, {filename: stored})
        if changed:
            audit.record(
                session,
                actor_id,
                "form.media",
                f"form:{form_id}",
                form_id=form_id,
                version=version.version,
                filename=filename,
                md5=stored.md5,
                size=stored.size,
            )
        session.commit()
    return filename not in before


def _version(session: Session, form_id: str, version: str) -> FormVersion | None:
    return session.scalar(
        select(FormVersion)
        .join(Form, FormVersion.form_pk == Form.id)
        .where(Form.form_id == form_id, FormVersion.version == version)
    )


def _new_version(
    session: Session,
    info: XFormInfo,
    xml: bytes,
    md5: str,
    xlsx: bytes | None,
    actor_id: int | None,
) -> FormVersion:
    form = session.scalar(select(Form).where(Form.form_id == info.form_id))
    if form is None:
        form = Form(form_id=info.form_id, state=FormState.OPEN)
        session.add(form)
        session.flush()
    previous = form.current_version_id
    version = FormVersion(
        form_pk=form.id,
        version=info.version,
        title=info.title,
        xml=xml,
        md5=md5,
        xlsx=xlsx,
        fields=info.fields,
        media_expected=info.media_expected,
        published_by=actor_id,
    )
    session.add(version)
    session.flush()
    if previous is not None:
        for kept in session.scalars(
            select(FormMedia).where(
                FormMedia.form_version_id == previous,
                FormMedia.filename.in_(info.media_expected),
            )
        ):
            session.add(
                FormMedia(form_version_id=version.id, filename=kept.filename, blob_id=kept.blob_id)
            )
        session.flush()
    form.current_version_id = version.id
    log.info("published form %s version %r", info.form_id, info.version)
    return version


def _media_rows(session: Session, version: FormVersion) -> list[FormMedia]:
    return list(session.scalars(select(FormMedia).where(FormMedia.form_version_id == version.id)))


def _set_media(session: Session, version: FormVersion, stored: dict) -> bool:
    """Attach media files to a version; True when anything changed."""
    current = {m.filename: m for m in _media_rows(session, version)}
    changed = False
    for name, item in stored.items():
        blob_id = blobs.id_for(session, item, blobs.content_type_for(name))
        row = current.get(name)
        if row is None:
            session.add(FormMedia(form_version_id=version.id, filename=name, blob_id=blob_id))
            changed = True
        elif row.blob_id != blob_id:
            row.blob_id = blob_id
            row.updated_at = utcnow()
            changed = True
    return changed
