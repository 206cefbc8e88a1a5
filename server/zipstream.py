"""A ZIP archive as a stream of chunks, written while it is sent, in flat memory whatever the
number of members.

Each member is a local header, its data, then a data descriptor with its CRC and sizes (known only
once written), so nothing is sent twice and the output never seeks. The central directory at the
end needs an entry per member; ``zipfile`` keeps them all in memory (about 1.2 KB each: 360 MB for
300,000 photos) and so does the ``stream-zip`` package (a deque of them), so here the entries go to
a temporary file as each member ends and are copied out at the close.

ZIP64 fields are written only where needed, as Go's archive/zip does: the local header, written
before the data, holds no sizes (flag 0x08 says they follow), the data descriptor has 8-byte sizes
when the member passed 4 GiB, and the central directory has ZIP64 fields when a size, an offset or
the number of members passes the classic limits. Names are UTF-8, flagged so (0x800) when not
ASCII. Photos and workbooks are STORED: they do not shrink, and deflating them
only costs time.
"""

from __future__ import annotations

import datetime as dt
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 16
_LIMIT = 0xFFFFFFFF  # the classic (32-bit) fields' maximum
ZIP64_FROM = _LIMIT  # sizes and offsets from here on go in ZIP64 fields
_STORED, _DEFLATED = 0, 8
_DESCRIPTOR, _UTF8 = 0x08, 0x800
_UNIX = 3 << 8  # "made by" Unix, so the permissions below apply when unpacked
_PERMISSIONS = 0o100644 << 16  # a regular file, rw-r--r--


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    chunks: Iterable[bytes]  # closed (if it has ``close``) once written or abandoned
    compress: bool = True
    modified: dt.datetime | None = None


class FileChunks:
    """A file's bytes in chunks; ``close`` closes the file, even if reading never started (a
    generator not yet started would leave it open)."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._fh.read(CHUNK):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._fh.close()


def stream_zip(members: Iterable[Member]) -> Iterator[bytes]:
    """The archive's bytes, member after member. ``members`` is read lazily: a member may be
    made only once the one before it is written. Stopping the stream closes the member being
    written and ``members`` (when they have ``close``)."""
    out = _Buffer()
    writer = ZipWriter(out.write)
    try:
        for member in members:
            try:
                writer.start(member.name, member.compress, member.modified)
                for chunk in member.chunks:
                    writer.write(chunk)
                    if out.pending >= CHUNK:
                        yield out.take()
                writer.end()
            finally:
                _close(member.chunks)
            yield out.take()  # each member whole before the next is asked for
        yield from writer.tail()
    finally:
        writer.discard()
        _close(members)


class ZipWriter:
    """Writes a ZIP through ``write``, never seeking: ``start(name, ...)``, ``write(data)``...,
    ``end()`` for each member, then ``close()`` (or ``tail()``, the bytes still to write; or
    ``discard()`` to drop what is left)."""

    def __init__(self, write, level: int = 6):
        self._write = write
        self._level = level  # of deflate
        self._offset = 0  # bytes written so far
        self._count = 0
        self._central = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close/discard)
        self._member: _Open | None = None

    def start(self, name: str, compress: bool = True, modified: dt.datetime | None = None) -> None:
        encoded, flags = _name(name)
        method = _DEFLATED if compress else _STORED
        when = _dos_time(modified)
        self._write(
            struct.pack(
                "<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, *when, 0, 0, 0, len(encoded), 0
            )
            + encoded
        )
        deflater = zlib.compressobj(self._level, zlib.DEFLATED, -15) if compress else None
        self._member = _Open(encoded, flags, method, when, self._offset, deflater)
        self._offset += 30 + len(encoded)

    def write(self, data: bytes) -> None:
        m = self._member
        m.crc = zlib.crc32(data, m.crc)
        m.size += len(data)
        if m.deflater is not None:
            data = m.deflater.compress(data)
        if data:
            m.compressed += len(data)
            self._write(data)
            self._offset += len(data)

    def end(self) -> None:
        m, self._member = self._member, None
        if m.deflater is not None:
            tail = m.deflater.flush()
            m.compressed += len(tail)
            self._write(tail)
            self._offset += len(tail)
        big_sizes = max(m.size, m.compressed) >= ZIP64_FROM
        sizes = "QQ" if big_sizes else "II"
        descriptor = struct.pack(f"<4sI{sizes}", b"PK\x07\x08", m.crc, m.compressed, m.size)
        self._write(descriptor)
        self._offset += len(descriptor)
        # ZIP64 extra field of the central entry: what the classic fields cannot hold.
        big_offset = m.offset >= ZIP64_FROM
        values = ([m.size, m.compressed] if big_sizes else []) + ([m.offset] if big_offset else [])
        extra = struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values) if values else b""
        self._central.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                _UNIX | (45 if extra else 20),
                45 if extra else 20,
                m.flags,
                m.method,
                *m.when,
                m.crc,
                _LIMIT if big_sizes else m.compressed,
                _LIMIT if big_sizes else m.size,
                len(m.name),
                len(extra),
                0,
                0,
                0,
                _PERMISSIONS,
                _LIMIT if big_offset else m.offset,
            )
            + m.name
            + extra
        )
        self._count += 1

    def close(self) -> None:
        for chunk in self.tail():
            self._write(chunk)

    def tail(self) -> Iterator[bytes]:
        """The central directory and the end records, in chunks."""
        start, count = self._offset, self._count
        size = self._central.tell()
        self._central.seek(0)
        while chunk := self._central.read(CHUNK):
            yield chunk
        self._central.close()
        end = start + size
        records = b""
        if count >= 0xFFFF or size >= ZIP64_FROM or start >= ZIP64_FROM:
            records = struct.pack(
                "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start
            ) + struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
        classic = min(count, 0xFFFF), min(size, _LIMIT), min(start, _LIMIT)
        yield records + struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, classic[0], classic[0], classic[1], classic[2], 0
        )

    def discard(self) -> None:
        self._central.close()


@dataclass(slots=True)
class _Open:
    """The member being written: what its data descriptor and central entry need."""

    name: bytes
    flags: int
    method: int
    when: tuple[int, int]  # DOS time, date
    offset: int
    deflater: object
    crc: int = 0
    size: int = 0
    compressed: int = 0


class _Buffer:
    """Collects the writer's bytes until the generator hands them on."""

    def __init__(self):
        self._parts: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes) -> None:
        self._parts.append(data)
        self.pending += len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return out


def _name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), _DESCRIPTOR
    except UnicodeEncodeError:
        return name.encode("utf-8"), _DESCRIPTOR | _UTF8


def _dos_time(when: dt.datetime | None) -> tuple[int, int]:
    when = when or dt.datetime.now(dt.UTC)
    when = max(when, when.replace(year=1980, month=1, day=1))
    date = (when.year - 1980) << 9 | when.month << 5 | when.day
    return when.hour << 11 | when.minute << 5 | when.second // 2, date


def _close(thing) -> None:
    close = getattr(thing, "close", None)
    if close is not None:
        close()
