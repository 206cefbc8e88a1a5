"""Forms, their published versions, and the media files each version serves to phones."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk

if TYPE_CHECKING:
    from .blobs import Blob


class FormState(enum.StrEnum):
    OPEN = "open"  # listed to phones, accepts submissions
    CLOSING = "closing"  # hidden from phones, still accepts what was filled before
    CLOSED = "closed"  # accepts nothing


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[intpk]
    form_id: Mapped[str] = mapped_column(unique=True)  # the XForm's instance @id
    state: Mapped[FormState] = mapped_column(String(16), default=FormState.OPEN)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    current_version: Mapped[FormVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", foreign_keys="FormVersion.form_pk", order_by="FormVersion.id"
    )


class FormVersion(Base):
    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_pk", "version"),)

    id: Mapped[intpk]
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version: Mapped[str]  # "" when the XForm has no version attribute
    title: Mapped[str]
    # The exact bytes served at the download URL: the form list hash is their MD5, and Collect
    # treats any other byte as a new form.
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Field schema extracted from the XForm at publish (see khudan.xforms.schema).
    fields: Mapped[list] = mapped_column(JSON)
    # File names the form refers to (jr://..., external instances); the manifest serves those present.
    media_expected: Mapped[list] = mapped_column(JSON)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[created_at]

    form: Mapped[Form] = relationship(back_populates="versions", foreign_keys=[form_pk])
    media: Mapped[list[FormMedia]] = relationship(
        back_populates="form_version", cascade="all, delete-orphan", order_by="FormMedia.filename"
    )

    @property
    def binary_paths(self) -> set[str]:
        return {f["path"] for f in self.fields if f["type"] == "binary"}


class FormMedia(Base):
    __tablename__ = "form_media"
    __table_args__ = (UniqueConstraint("form_version_id", "filename"),)

    id: Mapped[intpk]
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"))
    filename: Mapped[str]
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
    updated_at: Mapped[dt.datetime | None]

    form_version: Mapped[FormVersion] = relationship(back_populates="media")
    blob: Mapped[Blob] = relationship()
