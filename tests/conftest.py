"""Fixtures: a real database (SQLite by default, PostgreSQL when KHUDAN_DATABASE_URL names one),
migrated once per run and emptied after each test; real pyxform forms; real JPEGs; a Collect client.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Before the server is imported: scrypt costs 0.1 s a password hash, and the suite creates and logs
# in users by the thousand. Production keeps scrypt (test_auth checks the default).
os.environ.setdefault("KHUDAN_PASSWORD_HASH", "pbkdf2:sha256:1000")
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from collect import CollectClient, flask_sender
from stored import drop_official, empty, load_official
from system_tools import need
from xlsform import form_md, xlsx_bytes

from khudan.app import create_app
from khudan.config import Settings
from khudan.db import Database
from khudan.services import forms, users
from khudan.storage import LocalStorage

PASSWORD = "correct horse"
VILLAGES_CSV = "name,label\nt1,Thôn Phú Thạnh\nt2,Thôn An Lợi\n".encode()


@pytest.fixture(scope="session", autouse=True)
def _convert_each_xlsform_once():
    """pyxform converts each distinct XLSForm once per run (0.1-0.3 s each, and most tests
    publish the same few forms); the result is real pyxform output, kept by the file's bytes.
    A form that fails to convert is never kept, so its error is raised every time."""
    real = forms.convert_xlsform
    done: dict[tuple, tuple[bytes, list[str]]] = {}

    def convert(data: bytes, filename: str = "form.xlsx", *limits) -> tuple[bytes, list[str]]:
        key = (bytes(data), filename, *limits)
        if key not in done:
            done[key] = real(data, filename, *limits)
        xml, warnings = done[key]
        return xml, list(warnings)

    forms.convert_xlsform = convert
    yield
    forms.convert_xlsform = real


@pytest.fixture(scope="session", autouse=True)
def _build_each_url_rule_once():
    """Werkzeug compiles a URL builder for each of the app's ~180 rules with ``compile()``, two
    thirds of the ~140 ms ``create_app`` costs, and the suite creates an app per test. The
    builder's code depends only on the rule's parts (converters are looked up at call time), so
    rules without defaults share it across apps; rules with defaults (which bake converted
    values into the code) are compiled as usual."""
    from werkzeug.routing.rules import Rule

    real = getattr(Rule, "_compile_builder", None)
    if real is None:  # a Werkzeug that builds differently: nothing to share
        yield
        return
    done: dict[tuple, object] = {}

    def compile_builder(self, append_unknown: bool = True):
        if self.defaults:
            return real(self, append_unknown)
        key = (tuple(self._trace), append_unknown)
        if key not in done:
            done[key] = real(self, append_unknown)
        return done[key]

    Rule._compile_builder = compile_builder
    yield
    Rule._compile_builder = real


@pytest.fixture(scope="session", autouse=True)
def _compile_each_template_once():
    """Jinja parses and compiles each template once per app, and the suite makes an app per
    test: a fifth of the page tests' time. A bytecode cache shared by the run's apps keeps the
    compiled code by template name and source checksum (Jinja's own mechanism: an edited
    template is compiled again), so each page renders from real Jinja output."""
    from flask import Flask
    from jinja2 import BytecodeCache

    class InMemory(BytecodeCache):
        def __init__(self) -> None:
            self.codes: dict[str, bytes] = {}

        def load_bytecode(self, bucket) -> None:
            if bucket.key in self.codes:
                bucket.bytecode_from_string(self.codes[bucket.key])

        def dump_bytecode(self, bucket) -> None:
            self.codes[bucket.key] = bucket.bytecode_to_string()

    shared = InMemory()
    real = Flask.create_jinja_environment

    def create_jinja_environment(self):
        environment = real(self)
        environment.bytecode_cache = shared
        return environment

    Flask.create_jinja_environment = create_jinja_environment
    yield
    Flask.create_jinja_environment = real


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("KHUDAN_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/khudan-test.db"


@pytest.fixture(scope="session")
def database(database_url) -> Database:
    db = Database(database_url)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(autouse=False)
def db(database, request) -> Database:
    """The test database, emptied after the test (tests commit for real, as the server does);
    the official areas kept from the test before are dropped unless this one asks for them."""
    if "official_areas" not in request.fixturenames:
        drop_official(database)
    yield database
    empty(database)


@pytest.fixture
def official_areas(db) -> None:
    """The official provinces and communes (``areas.load_official``), kept between the tests
    that ask for them while no test changes them."""
    load_official(db)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(
        database_url=database_url,
        media_root=tmp_path / "media",
        secret_key="test-secret",
        forms_dir=tmp_path / "forms",
        odk_validate=False,
        instance_dir=tmp_path / "instance",
        process_inline=True,  # checks and facts before the answer, as most tests read them
    )


@pytest.fixture
def storage(settings) -> LocalStorage:
    return LocalStorage(settings.media_root)


@pytest.fixture
def app(settings, db):
    return create_app(settings, db=db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(db):
    def make(
        username: str = "thu",
        role: str = "collector",
        password: str = PASSWORD,
        areas: tuple[str, ...] = (),
    ):
        with db.session() as session:
            user = users.create_user(session, username, role, password, list(areas))
            session.commit()
            return user

    return make


@pytest.fixture
def collector(client, make_user) -> CollectClient:
    """Collect configured with a username and password, against the Flask test client; the
    collector works in Gia Lai (52), where the test households are."""
    make_user("thu", "collector", areas=("52",))
    return CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)


@pytest.fixture
def collector_with(settings, db, make_user):
    """Collect (as user thu) against an app whose settings differ, e.g. a smaller upload limit."""

    def make(**changes) -> CollectClient:
        app = create_app(settings.but(**changes), db=db)
        make_user("thu", "collector")
        return CollectClient(flask_sender(app.test_client()), "http://localhost", "thu", PASSWORD)

    return make


@pytest.fixture
def publish(db, storage):
    """Publish a test form from tests/forms/<name>.md through real pyxform (as .xlsx).

    The household form gets its villages.csv unless ``media`` says otherwise ({} for none), so
    its submissions are checked against a real choice list.
    """

    def do(
        name: str = "household",
        version: str = "1",
        media: dict | None = None,
        validate: bool = False,
    ):
        if media is None and name == "household":
            media = {"villages.csv": VILLAGES_CSV}
        xml, warnings = forms.convert_xlsform(xlsx_bytes(form_md(name, version=version)))
        return forms.publish(
            db, storage, xml=xml, media=media, warnings=warnings, validate=validate
        )

    return do


@pytest.fixture
def registry(db, official_areas):
    """The official provinces and communes, with thôn Bắc (21607.T01, Xã Nhơn Châu) and tổ dân phố
    1 (21553.K01, Phường Quy Nhơn Bắc); modules that need other thôn define their own."""
    from khudan.services import areas

    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ dân phố 1"},
            ],
        )
        s.commit()


SHIPPED_FORMS = Path(__file__).resolve().parents[1] / "forms"


@pytest.fixture
def shipped(db, storage):
    """The three forms khudan ships (forms/*.xlsx), published through real pyxform."""
    for name in ("poverty_review", "cultural_family", "satisfaction_survey"):
        forms.publish_xlsform(db, storage, SHIPPED_FORMS / f"{name}.xlsx", validate=False)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs(*tools): system programs the test needs (java, jdk, chromium)"
    )


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        for tool in mark.args:
            need(tool)
