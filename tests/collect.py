"""A client that speaks to khudan the way ODK Collect does (see shared/protocol: Collect's
OpenRosaClient, OkHttpConnection and OpenRosaServerInstanceUploader).

- Every request carries ``X-OpenRosa-Version: 1.0``, a Collect ``User-Agent`` and ``?deviceID=``.
- Credentials are sent only in answer to a Digest challenge, then pre-emptively with a counting
  ``nc``; no cookies are kept.
- Submissions are multipart: ``xml_submission_file`` first, then one part per file, split into
  several POSTs when the server's ``X-OpenRosa-Accept-Content-Length`` would be exceeded, every POST
  but the last marked ``*isIncomplete*=yes``.

It runs over Flask's test client or over real HTTP (``requests``), through a ``send`` function.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

USER_AGENT = "org.odk.collect.android/v2026.2.0 Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7)"
NS_LIST = "{http://openrosa.org/xforms/xformsList}"
NS_MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    all_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.all_headers if k.lower() == name.lower()]

    @property
    def message(self) -> str | None:
        """The first OpenRosaResponse message, as Collect shows it."""
        match = re.search(rb"<message[^>]*>(.*?)</message>", self.body, re.S)
        return match.group(1).decode() if match else None


Send = Callable[[str, str, dict, bytes | None], Reply]


def flask_sender(client) -> Send:
    def send(method: str, url: str, headers: dict, body: bytes | None) -> Reply:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost"
        r = client.open(path, method=method, headers=headers, data=body, base_url=base)
        data = r.get_data()
        r.close()
        return Reply(
            r.status_code,
            {k.lower(): v for k, v in r.headers.items()},
            data,
            list(r.headers.items()),
        )

    return send


def requests_sender(session=None) -> Send:
    import requests

    s = session or requests.Session()

    def send(method: str, url: str, headers: dict, body: bytes | None) -> Reply:
        r = s.request(method, url, headers=headers, data=body, allow_redirects=True, timeout=60)
        pairs = list(r.raw.headers.items()) if r.raw is not None else list(r.headers.items())
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content, pairs)

    return send


def multipart(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
    """(name, filename, content type, bytes) parts -> (body, Content-Type), as okhttp writes them."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, filename, ctype, data in parts:
        out += f"--{boundary}\r\n".encode()
        disp = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += disp.encode("utf-8") + b"\r\n"
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class CollectClient:
    def __init__(
        self, send: Send, server_url: str, username: str | None = None, password: str | None = None
    ):
        self.send = send
        self.server_url = server_url.rstrip("/")
        self.username = username
        self.password = password
        self.device_id = "collect:" + uuid.uuid4().hex[:16]
        self._challenge: dict[str, str] | None = None
        self._nc = 0
        self.requests: list[tuple[str, str, int]] = []

    # -- HTTP with Collect's auth behaviour ------------------------------------------------------
    def request(
        self, method: str, url: str, body: bytes | None = None, headers: dict | None = None
    ) -> Reply:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}deviceID={self.device_id}"
        base = {
            "X-OpenRosa-Version": "1.0",
            "User-Agent": USER_AGENT,
            "Date": "Sun, 29 Nov 2026 03:19:19 GMT",
        }
        base.update(headers or {})
        reply = self._send(method, url, base, body)
        if reply.status == 401 and self.username is not None:
            challenge = parse_digest_challenge(reply.header_values("WWW-Authenticate"))
            if challenge is not None:
                self._challenge, self._nc = challenge, 0
                reply = self._send(method, url, base, body)
        return reply

    def _send(self, method: str, url: str, headers: dict, body: bytes | None) -> Reply:
        headers = dict(headers)
        if self._challenge is not None:
            self._nc += 1
            headers["Authorization"] = digest_header(
                self._challenge, self.username, self.password, method, url, self._nc
            )
        reply = self.send(method, url, headers, body)
        self.requests.append((method, urlsplit(url).path, reply.status))
        return reply

    # -- OpenRosa -------------------------------------------------------------------------------
    def form_list(self) -> tuple[Reply, list[dict]]:
        reply = self.request("GET", f"{self.server_url}/formList")
        forms = []
        if reply.status == 200:
            root = ElementTree.fromstring(reply.body)
            assert root.tag == f"{NS_LIST}xforms", root.tag
            for x in root.findall(f"{NS_LIST}xform"):
                entry = {c.tag.removeprefix(NS_LIST): (c.text or "") for c in x}
                # Collect rejects the whole list if any of these is empty.
                assert entry.get("formID") and entry.get("name") and entry.get("downloadUrl")
                forms.append(entry)
        return reply, forms

    def manifest(self, url: str) -> tuple[Reply, list[dict]]:
        reply = self.request("GET", url)
        files = []
        if reply.status == 200:
            root = ElementTree.fromstring(reply.body)
            assert root.tag == f"{NS_MANIFEST}manifest", root.tag
            for m in root.findall(f"{NS_MANIFEST}mediaFile"):
                files.append({c.tag.removeprefix(NS_MANIFEST): (c.text or "") for c in m})
        return reply, files

    def preflight(self) -> Reply:
        return self.request("HEAD", f"{self.server_url}/submission")

    def submit(
        self,
        xml: bytes,
        files: dict[str, bytes] | None = None,
        content_types: dict[str, str] | None = None,
    ) -> list[Reply]:
        """HEAD, then as many POSTs as Collect would make; stops at the first non-201/202."""
        head = self.preflight()
        limit = 10_000_000
        if head.status == 204:
            limit = int(head.headers.get("x-openrosa-accept-content-length") or limit)
        files = files or {}
        batches: list[list[str]] = [[]]
        size = len(xml)
        for name, data in files.items():
            if batches[-1] and (size + len(data) > limit or len(batches[-1]) >= 100):
                batches.append([])
                size = len(xml)
            batches[-1].append(name)
            size += len(data)
        replies = []
        for i, names in enumerate(batches):
            parts = [("xml_submission_file", "instance.xml", "text/xml", xml)]
            for name in names:
                ctype = (content_types or {}).get(name) or guess_type(name)
                parts.append((name, name, ctype, files[name]))
            if i < len(batches) - 1:
                parts.append(("*isIncomplete*", None, None, b"yes"))
            body, ctype = multipart(parts)
            reply = self.request(
                "POST", f"{self.server_url}/submission", body, {"Content-Type": ctype}
            )
            replies.append(reply)
            if reply.status not in (201, 202):
                break
        return replies


def guess_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return {
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
        ".mp4": "video/mp4",
        ".csv": "text/csv",
    }.get(ext, "application/octet-stream")


def parse_digest_challenge(values: list[str]) -> dict[str, str] | None:
    for value in values:
        if value.lower().startswith("digest "):
            return dict(re.findall(r'(\w+)="?([^",]*)"?', value[7:]))
    return None


def digest_header(ch: dict, username: str, password: str, method: str, url: str, nc: int) -> str:
    parts = urlsplit(url)
    uri = parts.path + (f"?{parts.query}" if parts.query else "")
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1 = md5(f"{username}:{ch['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    cnonce = uuid.uuid4().hex[:16]
    ncs = f"{nc:08x}"
    response = md5(f"{ha1}:{ch['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{username}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", '
        f'uri="{uri}", response="{response}", qop=auth, nc={ncs}, cnonce="{cnonce}", '
        f'algorithm=MD5, opaque="{ch.get("opaque", "")}"'
    )
