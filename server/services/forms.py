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

from pyxform.errors import PyXFormError
from pyxform.validators import odk_validate
from pyxform.xls2xform import convert
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import errors
from ..db import Database
from ..models import Blob, Form, FormMedia, FormState, FormVersion
from ..models.base import utcnow
from ..storage import Storage
from ..xforms.schema import XFormInfo, read_xform
from . import blobs, facts

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PublishResult:
    form_id: str
    version: str
    title: str
    status: str  # "published", "unchanged" or "media-updated"
    warnings: list[str] = field(default_factory=list)
    missing_media: list[str] = field(default_factory=list)


def convert_xlsform(data: bytes, filename: str = "form.xlsx") -> tuple[bytes, list[str]]:
    """XLSForm bytes -> (XForm bytes, pyxform warnings). Errors keep pyxform's sheet and row."""
    suffix = Path(filename).suffix.lower() or ".xlsx"
    warnings: list[str] = []
    try:
        result = convert(xlsform=io.BytesIO(data), warnings=warnings, file_type=suffix)
    except PyXFormError as exc:
        raise errors.XLSFORM_INVALID(reason=str(exc).strip()) from None
    except Exception as exc:  # pyxform raises plain exceptions on unreadable workbooks
        raise errors.XLSFORM_INVALID(reason=f"{type(exc).__name__}: {exc}") from None
    return result.xform.encode("utf-8"), list(dict.fromkeys(result.warnings or warnings))


def validate_xform(xml: bytes) -> list[str]:
    """Run ODK Validate (JavaRosa 5, the engine inside ODK Collect) on the XForm; return warnings."""
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
    with a different XForm it is refused, because phones would never see the change.
    """
    info = read_xform(xml)
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
    media = {name: data for name, data in media.items() if name in info.media_expected}
    result.missing_media = [m for m in info.media_expected if m not in media]

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
        else:
            result.status = "unchanged"
        changed = _set_media(session, version, stored)
        if changed and result.status == "unchanged":
            result.status = "media-updated"
        session.commit()
    return result


def publish_xlsform(
    db: Database,
    storage: Storage,
    path: Path,
    *,
    validate: bool = True,
    actor_id: int | None = None,
) -> PublishResult:
    """Publish one XLSForm file; media files sit next to it in ``<name>-media/``."""
    data = path.read_bytes()
    xml, warnings = convert_xlsform(data, path.name)
    media_dir = path.with_name(f"{path.stem}-media")
    media = {}
    if media_dir.is_dir():
        media = {p.name: p.read_bytes() for p in sorted(media_dir.iterdir()) if p.is_file()}
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


def set_state(db: Database, form_id: str, state: FormState | str) -> None:
    with db.session() as session:
        form = session.scalar(select(Form).where(Form.form_id == form_id))
        if form is None:
            raise errors.FORM_NOT_FOUND(form_id=form_id)
        form.state = FormState(state)
        session.commit()


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
    form.current_version_id = version.id
    log.info("published form %s version %r", info.form_id, info.version)
    return version


def _set_media(session: Session, version: FormVersion, stored: dict) -> bool:
    """Attach media files to a version; True when anything changed."""
    current = {
        m.filename: m
        for m in session.scalars(select(FormMedia).where(FormMedia.form_version_id == version.id))
    }
    changed = False
    for name, item in stored.items():
        blob = blobs.row_for(session, item, blobs.content_type_for(name))
        row = current.get(name)
        if row is None:
            session.add(FormMedia(form_version_id=version.id, filename=name, blob_id=blob.id))
            changed = True
        elif row.blob_id != blob.id:
            row.blob_id = blob.id
            row.updated_at = utcnow()
            changed = True
    return changed
