"""Files in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage...), through boto3.

Install with ``pip install khudan[s3]``; choose with ``KHUDAN_STORAGE_URL=s3://bucket/prefix``
(options as query parameters: ``endpoint_url``, ``region``). Credentials come from boto3's usual
places (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``~/.aws``, an instance role), never from
the URL, so the URL can be logged.

Content keys are only known once every byte has been read, so ``put_stream`` reads one part at a
time (memory stays at one part whatever the size): a file that fits in one part is sent with one
PUT straight to its content key; a larger one goes up as a multipart upload under a temporary name,
is copied inside the bucket to its content key, and the temporary object is removed.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import uuid
from typing import BinaryIO

from .base import Stored, check_key, content_key, is_derived

# S3's smallest part (all but the last): about two parts are held in memory during an upload.
PART_SIZE = 5 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        client=None,
        part_size: int = PART_SIZE,
    ):
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:  # pragma: no cover - depends on the installation
                raise RuntimeError(
                    "KHUDAN_STORAGE_URL names S3 storage, but boto3 is not installed: "
                    "pip install 'khudan[s3]'"
                ) from None
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region_name,
                config=Config(retries={"mode": "standard", "max_attempts": 5}),
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self._client = client

    def put_stream(self, stream: BinaryIO) -> Stored:
        sha, md5 = hashlib.sha256(), hashlib.md5()
        part = _read(stream, self.part_size)
        sha.update(part)
        md5.update(part)
        size = len(part)
        if size < self.part_size:  # all of it: one PUT under its content key
            key = content_key(sha.hexdigest())
            if not self.exists(key):
                self._client.put_object(Bucket=self.bucket, Key=self._name(key), Body=part)
            return Stored(key=key, sha256=sha.hexdigest(), md5=md5.hexdigest(), size=size)

        temporary = f"{self.prefix}tmp/{uuid.uuid4().hex}"
        upload = self._client.create_multipart_upload(Bucket=self.bucket, Key=temporary)
        upload_id = upload["UploadId"]
        try:
            parts = []
            while part:
                number = len(parts) + 1
                answer = self._client.upload_part(
                    Bucket=self.bucket,
                    Key=temporary,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=part,
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
                part = _read(stream, self.part_size)
                sha.update(part)
                md5.update(part)
                size += len(part)
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=temporary,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=temporary, UploadId=upload_id
            )
            raise
        key = content_key(sha.hexdigest())
        try:
            if not self.exists(key):
                # boto3's managed copy: CopyObject, or UploadPartCopy beyond 5 GB.
                self._client.copy(
                    {"Bucket": self.bucket, "Key": temporary}, self.bucket, self._name(key)
                )
        finally:
            self._client.delete_object(Bucket=self.bucket, Key=temporary)
        return Stored(key=key, sha256=sha.hexdigest(), md5=md5.hexdigest(), size=size)

    def put_derived(self, key: str, data: bytes) -> None:
        if not is_derived(check_key(key)):
            raise ValueError(f"not a derived key: {key!r}")
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        self._client.put_object(
            Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type
        )

    def open(self, key: str) -> BinaryIO:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self._client.exceptions.ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(key) from None
            raise
        return io.BufferedReader(_Body(answer["Body"], answer.get("ContentLength")))

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._name(key))
        except self._client.exceptions.ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)


class _Body(io.RawIOBase):
    """boto3's streaming body as a file object (``send_file`` and Pillow read it in chunks)."""

    def __init__(self, body, length: int | None):
        self._body = body
        self.length = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _read(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the stream."""
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    pieces = [data]
    got = len(data)
    while got < size and (more := stream.read(size - got)):
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
