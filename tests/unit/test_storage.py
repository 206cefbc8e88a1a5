"""The Storage contract, checked against every backend: LocalStorage on disk, and S3Storage against
a real S3-compatible server (moto's, in a child process on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc

import pytest
from s3 import CREDENTIALS, moto_server, new_bucket, object_names

from khudan.storage import LocalStorage, content_key, derived_key, open_storage
from khudan.storage.s3 import S3Storage

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_endpoint():
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREDENTIALS.items():
            mp.setenv(name, value)
        with moto_server() as endpoint:
            yield endpoint


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = new_bucket(endpoint)
    return open_storage(f"s3://{bucket}/khudan/media?endpoint_url={endpoint}", tmp_path)


class Trickle(io.RawIOBase):
    """A stream that cannot seek and hands out small pieces, like a request body."""

    def __init__(self, size: int, piece: int = 100_000):
        self.left, self.piece, self.sent = size, piece, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(self.piece, self.left, n if n >= 0 else self.left)
        data = os.urandom(n)
        self.left -= n
        self.sent.update(data)
        return data


def read_all(storage, key: str) -> bytes:
    with storage.open(key) as fh:
        return fh.read()


def test_put_stream_names_the_file_by_its_content(storage):
    data = b"\xff\xd8\xff photo bytes"
    stored = storage.put_stream(io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.md5 == hashlib.md5(data).hexdigest() and stored.size == len(data)
    assert stored.key == content_key(stored.sha256)
    assert storage.exists(stored.key) and read_all(storage, stored.key) == data
    assert storage.put_stream(io.BytesIO(data)) == stored  # the same bytes are one file
    storage.delete(stored.key)
    assert not storage.exists(stored.key)
    storage.delete(stored.key)  # missing is fine


def test_an_empty_file_is_stored(storage):
    stored = storage.put_stream(io.BytesIO(b""))
    assert stored.size == 0 and read_all(storage, stored.key) == b""


def test_a_missing_file_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.open(content_key("0" * 64))
    with pytest.raises(FileNotFoundError):
        storage.open(derived_key("0" * 64, "320.jpg"))


@pytest.mark.parametrize("key", ["../etc/passwd", "ab/cd/../../x", "derived/../../x", ""])
def test_keys_that_are_not_ours_are_refused(storage, key):
    with pytest.raises(ValueError, match="storage key"):
        storage.open(key)


def test_derived_files_live_apart_from_originals_and_can_be_replaced(storage):
    original = storage.put_stream(io.BytesIO(b"original"))
    key = derived_key(original.sha256, "320.jpg")
    assert not storage.exists(key)
    storage.put_derived(key, b"thumb v1")
    storage.put_derived(key, b"thumb v2")
    assert read_all(storage, key) == b"thumb v2"
    storage.delete(key)
    assert not storage.exists(key) and read_all(storage, original.key) == b"original"
    with pytest.raises(ValueError):
        storage.put_derived(original.key, b"never over an original")


def test_a_large_unseekable_stream_is_stored_whole(storage):
    if isinstance(storage, S3Storage):
        storage.part_size = 5 * MiB  # S3's smallest part: 11 MiB go up as three parts
    source = Trickle(11 * MiB + 123)
    stored = storage.put_stream(source)
    assert stored.size == 11 * MiB + 123 and stored.sha256 == source.sent.hexdigest()
    with storage.open(stored.key) as fh:
        digest = hashlib.sha256()
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256


def test_s3_put_stream_holds_one_part_in_memory_whatever_the_size(s3_endpoint, tmp_path):
    bucket = new_bucket(s3_endpoint)
    storage = open_storage(
        f"s3://{bucket}?endpoint_url={s3_endpoint}&part_size={5 * MiB}", tmp_path
    )
    peaks = {}
    for size in (10 * MiB, 40 * MiB):
        tracemalloc.start()
        try:
            stored = storage.put_stream(Trickle(size, piece=1 * MiB))
            peaks[size] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert stored.size == size
    # a part being read, the part being sent, and boto3's own buffers: not the file
    assert peaks[40 * MiB] < 4 * 5 * MiB, f"{peaks[40 * MiB] / MiB:.1f} MiB for 40 MiB"
    assert peaks[40 * MiB] < peaks[10 * MiB] + MiB
    # the multipart uploads went to temporary names, which are gone
    assert len(object_names(s3_endpoint, bucket)) == 2


def test_s3_keys_carry_the_prefix(s3_endpoint, tmp_path):
    bucket = new_bucket(s3_endpoint)
    storage = open_storage(f"s3://{bucket}/a/b/?endpoint_url={s3_endpoint}", tmp_path)
    stored = storage.put_stream(io.BytesIO(b"x"))
    storage.put_derived(derived_key(stored.sha256, "320.jpg"), b"t")
    assert object_names(s3_endpoint, bucket) == [
        f"a/b/{stored.key}",
        f"a/b/derived/{stored.key}.320.jpg",
    ]


def test_open_storage_reads_the_url(tmp_path):
    assert isinstance(open_storage(None, tmp_path / "m"), LocalStorage)
    local = open_storage(f"file://{tmp_path}/elsewhere", tmp_path / "m")
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "elsewhere"
    for bad in ("ftp://host/x", "s3:///prefix", "s3://bucket?colour=red"):
        with pytest.raises(ValueError, match="KHUDAN_STORAGE_URL"):
            open_storage(bad, tmp_path)
