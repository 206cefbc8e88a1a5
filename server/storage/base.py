"""The storage contract: what every backend does, in the words callers use.

Two kinds of keys. A content key (``ab/cd/<sha256>``) names an original exactly as received, and is
only ever made by ``put_stream``. A derived key (``derived/ab/cd/<sha256>.<variant>``, from
``derived_key``) names a file made from an original, such as a thumbnail: it can be deleted at any
time and made again, and it never shares a name with an original, so clearing derived files cannot
touch the evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Protocol

CONTENT_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
DERIVED_KEY = re.compile(
    r"derived/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[0-9a-z]{1,16}(?:\.[a-z]{1,5})?"
)


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    sha256: str
    md5: str
    size: int


class Storage(Protocol):
    def put_stream(self, stream: BinaryIO) -> Stored:
        """Copy a stream to storage in chunks (memory stays bounded whatever its size); return
        when the bytes are durably stored, under their content key."""

    def put_derived(self, key: str, data: bytes) -> None:
        """Store a file made from an original (a thumbnail) under a derived key, replacing any
        older copy."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored file for reading; ``FileNotFoundError`` when it is not there."""

    def delete(self, key: str) -> None:
        """Remove a stored file (missing is fine)."""

    def exists(self, key: str) -> bool:
        """Whether the bytes for ``key`` are present."""


def content_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derived_key(sha256: str, variant: str) -> str:
    """Where a file made from the original ``sha256`` is kept, e.g. variant ``320.jpg``."""
    return f"derived/{content_key(sha256)}.{variant}"


def check_key(key: str) -> str:
    """The key itself, or ValueError: a key never comes from a client, but is checked anyway."""
    if not (CONTENT_KEY.fullmatch(key) or DERIVED_KEY.fullmatch(key)):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def is_derived(key: str) -> bool:
    return key.startswith("derived/")
