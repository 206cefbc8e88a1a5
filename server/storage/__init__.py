"""One interface for stored files (submission attachments, form media, thumbnails).

Files are named by the SHA-256 of their content, so a name sent by a client never becomes a path,
and the same photo sent twice is one file. Callers only use this interface, never paths.
``open_storage`` picks the backend from ``KHUDAN_STORAGE_URL``: local disk by default, or an
S3-compatible bucket.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .base import Storage, Stored, content_key, derived_key
from .local import LocalStorage

__all__ = [
    "LocalStorage",
    "Storage",
    "Stored",
    "content_key",
    "derived_key",
    "open_storage",
]


def open_storage(url: str | None, media_root: Path) -> Storage:
    """The backend a storage URL names.

    - empty: files under ``media_root`` (``KHUDAN_MEDIA_ROOT``, default ``media/``);
    - ``file:///srv/khudan/media``: files under that directory;
    - ``s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1``: an S3-compatible
      bucket (needs ``pip install khudan[s3]``).
    """
    if not url:
        return LocalStorage(media_root)
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "file":
        return LocalStorage(Path(parts.path))
    if parts.scheme == "s3":
        from .s3 import PART_SIZE, S3Storage

        unknown = set(options) - {"endpoint_url", "region", "part_size"}
        if not parts.netloc or unknown:
            raise ValueError(
                f"KHUDAN_STORAGE_URL {url!r}: expected s3://bucket/prefix with options "
                "endpoint_url, region, part_size"
            )
        return S3Storage(
            parts.netloc,
            parts.path,
            endpoint_url=options.get("endpoint_url"),
            region_name=options.get("region"),
            part_size=int(options.get("part_size", 0)) or PART_SIZE,
        )
    raise ValueError(f"KHUDAN_STORAGE_URL {url!r}: use file:///path or s3://bucket/prefix")
