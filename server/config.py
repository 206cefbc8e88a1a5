"""Settings, read from ``KHUDAN_*`` environment variables in one place, or from ``khudan.toml`` in
the instance folder (the environment wins).

Defaults make ``khudan serve`` work with no setup: an SQLite file under ``instance/`` and media under
``media/``, both relative to the directory the server is started from.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .xforms.safexml import XmlLimits
from .xforms.xlsx_limits import XlsxLimits

DEFAULT_MAX_REQUEST_BYTES = 100_000_000
DEFAULT_PHOTO_MAX_PIXELS = 89_478_485  # Pillow's own default for Image.MAX_IMAGE_PIXELS


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    media_root: Path
    secret_key: str
    public_url: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    forms_dir: Path = Path("forms")
    trusted_proxies: int = 0
    odk_validate: bool = True
    bench_endpoint: bool = False
    # Where files go: empty for local disk under media_root, else file:///path or s3://bucket/prefix.
    storage_url: str | None = None
    # Photo checks: a larger image is refused as a decompression bomb; a photo whose EXIF GPS is
    # farther than this from the submission's geopoint, or whose EXIF time is this much older than
    # the visit, is flagged (never rejected).
    photo_max_pixels: int = DEFAULT_PHOTO_MAX_PIXELS
    photo_max_distance_m: int = 500
    photo_max_age_days: int = 30
    # Rows per page of the OData feed (/v1/.../*.svc): clients follow @odata.nextLink for more.
    odata_page_size: int = 1000
    # The server's own files: the secret key, the default SQLite database, matplotlib's cache.
    instance_dir: Path = Path("instance")
    # What `khudan serve`'s front lets a client do before a thread serves it (server/front.py).
    header_timeout: float = 20.0
    body_idle_timeout: float = 30.0
    body_min_rate: int = 256
    max_connections_per_address: int = 64
    # What one submission's XML may hold (a phone sends tens of members, not thousands).
    xml_max_depth: int = 100
    submission_max_nodes: int = 100_000
    repeat_max_members: int = 2_000
    # What an uploaded XLSForm may unzip to, before pyxform opens it (server/xforms/xlsx_limits.py).
    xlsform_max_unzipped_bytes: int = 50_000_000
    xlsform_max_ratio: int = 200
    form_max_questions: int = 5_000
    # Host names answered (server/hosts.py); None: any (khudan serve fills in what it listens on).
    allowed_hosts: tuple[str, ...] | None = None
    # Work after the 201 (photos, checks, facts): threads of each app process that run jobs (1
    # unless KHUDAN_WORKER_THREADS says; 0: only `khudan worker` processes do; a Settings made in
    # code, as the tests', starts none), or run at once in the request
    # (KHUDAN_PROCESS_INLINE=1: tests, and tools that want results before the answer).
    worker_threads: int = 0
    process_inline: bool = False
    # A job's lease: a worker that dies mid-job leaves it to others after this long.
    job_lease_seconds: int = 300
    # An offline entity update whose predecessor never arrives is applied anyway after this long
    # (ODK Central waits five days).
    entity_backlog_days: float = 5
    # Map tiles the browser loads for the map pages ({z}/{x}/{y}); their attribution.
    map_tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© OpenStreetMap contributors"
    # The instance folder's khudan.toml, when one was read (``khudan status`` shows it).
    config_file: Path | None = None

    @property
    def submission_limits(self) -> XmlLimits:
        return XmlLimits(self.xml_max_depth, self.submission_max_nodes, self.repeat_max_members)

    @property
    def xlsx_limits(self) -> XlsxLimits:
        return XlsxLimits(
            self.xlsform_max_unzipped_bytes,
            self.xlsform_max_ratio,
            self.form_max_questions,
            self.xml_max_depth,
        )

    def but(self, **changes) -> Settings:
        """A copy with some values changed (tests and the CLI use this)."""
        return replace(self, **changes)


def _secret_key(instance_dir: Path) -> str:
    """The secret signs Digest nonces, so every worker and every restart must share it.

    Without ``KHUDAN_SECRET_KEY`` one is generated once and kept in ``instance/secret_key``.
    """
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def _names(raw: str | None) -> tuple[str, ...] | None:
    names = tuple(n.strip().lower() for n in (raw or "").split(",") if n.strip())
    return names or None


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None


def from_env(env: dict | None = None) -> Settings:
    """Build the settings from the environment (``os.environ`` unless another mapping is given)."""
    env = dict(os.environ if env is None else env)
    instance_dir = Path(env.get("KHUDAN_INSTANCE_DIR", "instance"))
    config_file = instance_dir / CONFIG_FILE
    if config_file.is_file():
        for key, value in read_config(config_file).items():
            if not env.get(key):  # a variable that is set (not empty) wins over the file
                env[key] = value
    else:
        config_file = None
    database_url = env.get("KHUDAN_DATABASE_URL") or f"sqlite:///{instance_dir.resolve()}/khudan.db"
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    public_url = (env.get("KHUDAN_PUBLIC_URL") or "").rstrip("/") or None
    return Settings(
        database_url=database_url,
        media_root=Path(env.get("KHUDAN_MEDIA_ROOT") or "media"),
        secret_key=env.get("KHUDAN_SECRET_KEY") or _secret_key(instance_dir),
        public_url=public_url,
        max_request_bytes=_int(env, "KHUDAN_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        forms_dir=Path(env.get("KHUDAN_FORMS_DIR") or "forms"),
        trusted_proxies=_int(env, "KHUDAN_TRUSTED_PROXIES", 0),
        odk_validate=env.get("KHUDAN_ODK_VALIDATE", "1") not in ("0", "false", "no"),
        bench_endpoint=env.get("KHUDAN_BENCH_ENDPOINT", "0") in ("1", "true", "yes"),
        storage_url=env.get("KHUDAN_STORAGE_URL") or None,
        photo_max_pixels=_int(env, "KHUDAN_PHOTO_MAX_PIXELS", DEFAULT_PHOTO_MAX_PIXELS),
        photo_max_distance_m=_int(env, "KHUDAN_PHOTO_MAX_DISTANCE_M", 500),
        photo_max_age_days=_int(env, "KHUDAN_PHOTO_MAX_AGE_DAYS", 30),
        odata_page_size=max(1, _int(env, "KHUDAN_ODATA_PAGE_SIZE", 1000)),
        instance_dir=instance_dir,
        header_timeout=_float(env, "KHUDAN_HEADER_TIMEOUT", 20.0),
        body_idle_timeout=_float(env, "KHUDAN_BODY_IDLE_TIMEOUT", 30.0),
        body_min_rate=_int(env, "KHUDAN_BODY_MIN_RATE", 256),
        max_connections_per_address=_int(env, "KHUDAN_MAX_CONNECTIONS_PER_ADDRESS", 64),
        xml_max_depth=_int(env, "KHUDAN_XML_MAX_DEPTH", 100),
        submission_max_nodes=_int(env, "KHUDAN_SUBMISSION_MAX_NODES", 100_000),
        repeat_max_members=_int(env, "KHUDAN_REPEAT_MAX_MEMBERS", 2_000),
        xlsform_max_unzipped_bytes=_int(env, "KHUDAN_XLSFORM_MAX_UNZIPPED_BYTES", 50_000_000),
        xlsform_max_ratio=_int(env, "KHUDAN_XLSFORM_MAX_RATIO", 200),
        form_max_questions=_int(env, "KHUDAN_FORM_MAX_QUESTIONS", 5_000),
        allowed_hosts=_names(env.get("KHUDAN_ALLOWED_HOSTS")),
        worker_threads=max(0, _int(env, "KHUDAN_WORKER_THREADS", 1)),
        process_inline=env.get("KHUDAN_PROCESS_INLINE", "0") in ("1", "true", "yes"),
        job_lease_seconds=max(1, _int(env, "KHUDAN_JOB_LEASE_SECONDS", 300)),
        entity_backlog_days=max(0.0, float(env.get("KHUDAN_ENTITY_BACKLOG_DAYS") or 5)),
        map_tiles=env.get("KHUDAN_MAP_TILES") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        map_attribution=env.get("KHUDAN_MAP_ATTRIBUTION") or "© OpenStreetMap contributors",
        config_file=config_file,
    )


CONFIG_FILE = "khudan.toml"


def read_config(path: Path) -> dict[str, str]:
    """``khudan.toml``: the same settings as the KHUDAN_* variables, named without the prefix in
    lower case (``database_url = "postgresql+psycopg://..."``, ``odk_validate = false``); returned
    as the environment variables they stand for."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    known = {f"KHUDAN_{f.name.upper()}" for f in fields(Settings)} - {"KHUDAN_CONFIG_FILE"}
    out = {}
    for key, value in data.items():
        name = f"KHUDAN_{key.upper()}"
        if name not in known:
            raise ValueError(f"{path}: unknown setting {key!r}")
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, list):
            value = ",".join(map(str, value))
        out[name] = str(value)
    return out
