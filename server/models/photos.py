"""What khudan learnt from a stored file when it arrived, once per distinct content (per blob): its
real kind, whether it opens safely, EXIF time and place, and a perceptual hash. A resent photo is
the same blob, so it is never looked at twice. Thumbnails are not rows: they are derived files in
storage, remade from the original whenever they are missing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at


class PhotoMeta(Base):
    __tablename__ = "photo_meta"

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blobs.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str | None] = mapped_column(String(8))  # jpeg, png, gif, webp, heic; None: not one
    verdict: Mapped[str] = mapped_column(String(16))  # khudan.photos.Verdict
    width: Mapped[int | None]  # as a person sees it (EXIF orientation applied)
    height: Mapped[int | None]
    orientation: Mapped[int | None] = mapped_column(SmallInteger)
    # EXIF DateTimeOriginal as the camera's clock showed it, and its UTC offset when the photo says.
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    taken_offset: Mapped[str | None] = mapped_column(String(6))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # The 64-bit dHash stored as a signed BIGINT; None for a picture too plain to compare.
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)  # why the verdict is not ok
    created_at: Mapped[created_at]


class PhotoHashBand(Base):
    """The dHash cut into 5 bands of 13 bits or fewer. Two hashes at most 4 bits apart agree on at
    least one whole band (pigeonhole), so near-identical photos are found through an index instead
    of comparing a new hash with every hash stored."""

    __tablename__ = "photo_hash_bands"
    __table_args__ = (Index("ix_photo_hash_bands_band_value", "band", "value"),)

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("photo_meta.blob_id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int]
