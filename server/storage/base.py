"""The storage contract: what every backend does, in the words callers use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    sha256: str
    md5: str
    size: int


class Storage(Protocol):
    def put_stream(self, stream: BinaryIO) -> Stored:
        """Copy a stream to storage in chunks; return when the bytes are durably stored."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored file for reading."""

    def delete(self, key: str) -> None:
        """Remove a stored file (missing is fine)."""

    def exists(self, key: str) -> bool:
        """Whether the bytes for ``key`` are present."""
