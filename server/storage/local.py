"""Files on the local disk under ``KHUDAN_MEDIA_ROOT`` (default ``media/``): originals in ``blobs/``,
derived files (thumbnails) in ``derived/``, partial writes in ``tmp/``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from .base import Stored, check_key, content_key, is_derived

CHUNK = 1 << 16


class LocalStorage:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._blobs = self.root / "blobs"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._blobs.mkdir(parents=True, exist_ok=True)

    def put_stream(self, stream: BinaryIO) -> Stored:
        sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = sha.hexdigest()
            key = content_key(digest)
            target = self._blobs / key
            if target.exists():
                os.unlink(tmp_name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
                _fsync_dir(target.parent)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return Stored(key=key, sha256=digest, md5=md5.hexdigest(), size=size)

    def put_derived(self, key: str, data: bytes) -> None:
        target = self._path(key)
        if not is_derived(key):
            raise ValueError(f"not a derived key: {key!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp_name, target)  # readers see the old copy or the new one, never half
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key if is_derived(key) else self._blobs / key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
