"""khudan.zipstream: a ZIP written to a stream that cannot seek, in chunks, as an export sends
it, in flat memory whatever the number of members."""

from __future__ import annotations

import io
import struct
import tempfile
import tracemalloc
import zipfile

from factories import noisy_jpeg

from khudan import zipstream
from khudan.zipstream import CHUNK, FileChunks, Member, stream_zip


def test_members_are_streamed_in_chunks_and_unzip_byte_for_byte():
    photo = noisy_jpeg(400, 300)  # about 100 kB that do not compress
    table = "instance_id,Họ tên\r\nuuid:1,Nguyễn Văn Hải\r\n".encode() * 2000
    chunks = list(
        stream_zip(
            [
                Member("ho-ngheo.csv", iter([table[:1000], table[1000:]])),
                Member(
                    "media/uuid_1/nhà.jpg",
                    FileChunks(io.BytesIO(photo)),
                    compress=False,
                ),
            ]
        )
    )
    assert len(chunks) > 2 and max(map(len, chunks)) < 2 * CHUNK + len(table)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert archive.namelist() == ["ho-ngheo.csv", "media/uuid_1/nhà.jpg"]
    assert archive.read("media/uuid_1/nhà.jpg") == photo and archive.read("ho-ngheo.csv") == table
    assert archive.getinfo("media/uuid_1/nhà.jpg").compress_type == zipfile.ZIP_STORED
    csv_info = archive.getinfo("ho-ngheo.csv")
    assert (
        csv_info.compress_type == zipfile.ZIP_DEFLATED and csv_info.compress_size < len(table) / 10
    )


def test_a_member_is_made_only_once_the_one_before_is_written():
    written = []

    def members():
        yield Member("a.txt", iter([b"a" * 10]))
        written.append("a")
        yield Member("b.txt", iter([b"b"]))

    stream = stream_zip(members())
    next(stream)
    assert written == []
    assert b"".join(stream) and written == ["a"]


def test_memory_stays_flat_with_many_members_and_names_are_utf8():
    """zipfile keeps about 1.2 KB per member until the end (24 MB for these 20,000)."""
    count = 20_000
    members = (
        Member(f"media/uuid_{i}/ảnh-{i}.jpg", iter([b"%d" % i]), compress=False)
        for i in range(count)
    )
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            for chunk in stream_zip(members):
                out.write(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000
        out.seek(0)
        archive = zipfile.ZipFile(out)
        infos = archive.infolist()
        assert (
            len(infos) == count
            and infos[-1].filename == f"media/uuid_{count - 1}/ảnh-{count - 1}.jpg"
        )
        assert archive.read(infos[12_345]) == b"12345"
        assert (
            all(i.flag_bits & 0x800 for i in infos) and infos[0].compress_type == zipfile.ZIP_STORED
        )


def test_zip64_fields_only_where_needed(monkeypatch):
    """Small members: classic headers only. Past the limit (lowered here from 4 GiB), sizes and
    offsets go in ZIP64 fields that zipfile reads back."""
    members = [Member("a.csv", iter([b"x" * 5000])), Member("b.bin", iter([b"y" * 3000]), False)]
    small = b"".join(stream_zip(members[:1]))
    assert (
        b"PK\x06\x06" not in small
        and zipfile.ZipFile(io.BytesIO(small)).getinfo("a.csv").extra == b""
    )

    monkeypatch.setattr(zipstream, "ZIP64_FROM", 2000)
    members = [
        Member("a.csv", iter([b"x" * 5000]), False),
        Member("b.bin", iter([b"y" * 3000]), False),
    ]
    data = b"".join(stream_zip(members))
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # ZIP64 end records
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("a.csv") == b"x" * 5000 and archive.read("b.bin") == b"y" * 3000
    a, b = archive.infolist()
    assert a.extra[:4] == struct.pack("<HH", 1, 16)  # its sizes
    assert b.extra[:4] == struct.pack("<HH", 1, 24) and b.header_offset > 2000  # and its offset
    assert b.file_size == 3000 and not a.flag_bits & 0x800


def test_stopping_the_stream_closes_the_open_files_and_the_members():
    files = [io.BytesIO(b"a" * 3 * CHUNK), io.BytesIO(b"b")]
    closed = []

    def members():
        try:
            for i, fh in enumerate(files):
                yield Member(f"{i}.bin", FileChunks(fh), compress=False)
        finally:
            closed.append("members")

    stream = stream_zip(members())
    next(stream), next(stream)  # the first member is being written
    stream.close()
    assert files[0].closed and closed == ["members"]
    assert FileChunks(files[1]).close() is None and files[1].closed  # never read, still closable
