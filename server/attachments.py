"""A submission's file (a photo of the house, ...) or its thumbnail as an HTTP reply, the same for
the REST API and the review pages: one place decides what a browser may show inline.

Only a file whose bytes are a readable JPEG, PNG, GIF or WebP is shown inline; anything else,
whatever its name, is a download with ``X-Content-Type-Options: nosniff``. Thumbnails are JPEG,
upright and without EXIF (``khudan.photos``).
"""

from __future__ import annotations

from flask import Response, request, send_file
from sqlalchemy import select

from . import errors
from .models import Attachment, Blob, PhotoMeta, Submission
from .photos import CONTENT_TYPES, Verdict
from .runtime import current
from .services import photos as photo_service

# Image kinds (read from the bytes, khudan.photos.sniff) a browser is allowed to show inline.
INLINE_KINDS = frozenset({"jpeg", "png", "gif", "webp"})


def thumbnail_size(raw: str | None) -> int | None:
    """``?size=``: None for the file itself, else one of the thumbnail sizes (422 otherwise)."""
    if raw is None:
        return None
    if raw not in {str(s) for s in photo_service.THUMBNAIL_SIZES}:
        sizes = ", ".join(map(str, photo_service.THUMBNAIL_SIZES))
        raise errors.FIELDS_INVALID(fields="size", errors={"size": [f"Must be one of: {sizes}."]})
    return int(raw)


def reply(session, row: Submission, name: str, size: int | None) -> Response:
    """The file ``name`` of the current version of ``row`` (already checked to be visible), or its
    thumbnail ``size`` pixels on the longest side; 304 when the browser has it."""
    runtime = current()
    found = session.execute(
        select(Blob, PhotoMeta)
        .join(Attachment, Attachment.blob_id == Blob.id)
        .outerjoin(PhotoMeta, PhotoMeta.blob_id == Blob.id)
        .where(Attachment.version_id == row.current_version_id, Attachment.name == name)
    ).first()
    if found is None:
        raise errors.NOT_FOUND(what=f"attachment {name!r} of submission {row.id}")
    blob, meta = found
    readable = meta is not None and meta.verdict == Verdict.OK.value
    if size is not None and not readable:
        raise errors.NOT_FOUND(what=f"a thumbnail of {name!r} (it is not a readable image)")
    etag = f"{blob.md5}-{size}" if size else blob.md5
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    if size is not None:
        stream = photo_service.open_thumbnail(
            runtime.storage, blob, size, runtime.settings.photo_max_pixels, meta
        )
        mimetype, inline, download = "image/jpeg", True, f"{name.rsplit('.', 1)[0]}-{size}.jpg"
    else:
        stream = runtime.storage.open(blob.storage_key)
        inline = readable and meta.kind in INLINE_KINDS
        download = name
        if readable:
            mimetype = CONTENT_TYPES[meta.kind]
        elif blob.content_type.startswith("image/"):
            mimetype = "application/octet-stream"  # named like an image, not one (or unchecked)
        else:
            mimetype = blob.content_type
    response = send_file(
        stream,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=download,
        etag=etag,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
