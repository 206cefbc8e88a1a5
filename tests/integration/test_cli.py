"""The khudan command as an admin or designer types it: exit 0 ok, 1 user error, 2 usage."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select
from xlsform import form_md, write_xlsx, xlsx_bytes

from khudan.cli import main
from khudan.models import Form
from khudan.services.collect_qr import collect_settings_payload

BROKEN = form_md("broken")
JAVAROSA_REJECTS = form_md("javarosa_rejects")


@pytest.fixture
def khudan(db, database_url, tmp_path):
    runner = CliRunner()
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "media"),
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "instance"),
        "KHUDAN_SECRET_KEY": "cli-test",
        "KHUDAN_PUBLIC_URL": "",
    }

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return run


def test_users_add_prints_a_generated_password_once(khudan):
    r = khudan("users", "add", "thu", "--role", "collector", "--area", "52.21538.T1")
    assert r.exit_code == 0, r.output
    password = r.output.split("Password: ")[1].strip()
    assert len(password) >= 12
    listing = khudan("users", "list")
    assert listing.exit_code == 0
    assert "thu" in listing.output and "collector" in listing.output
    assert "52.21538.T1" in listing.output and password not in listing.output


def test_users_add_reads_the_password_from_stdin(khudan, db):
    from khudan.services import users

    r = khudan(
        "users", "add", "lan", "--role", "supervisor", "--password-stdin", input="a long secret\n"
    )
    assert r.exit_code == 0 and "Password" not in r.output
    with db.session() as s:
        assert users.check_password(users.get_user(s, "lan"), "a long secret")


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("users", "add", "thu", "--role", "boss"), 2, "Invalid value for '--role'"),
        (("users", "add"), 2, "Missing argument"),
        (("users", "token", "nobody"), 1, "no user named 'nobody'"),
        (("forms", "publish"), 2, "Missing argument"),
    ],
)
def test_errors_exit_with_the_documented_codes(khudan, args, code, words):
    r = khudan(*args)
    assert r.exit_code == code
    assert words in r.output


def test_duplicate_user_is_a_one_line_user_error(khudan):
    khudan("users", "add", "thu", "--role", "collector")
    r = khudan("users", "add", "thu", "--role", "collector")
    assert r.exit_code == 1
    assert r.output.strip() == "Error: User 'thu' already exists."


def test_users_token_prints_the_key_url_and_writes_a_collect_qr(khudan, tmp_path, app):
    khudan("users", "add", "thu", "--role", "collector")
    qr = tmp_path / "thu.png"
    r = khudan("users", "token", "thu", "--url", "http://192.0.2.10:8080/", "--qr", str(qr))
    assert r.exit_code == 0, r.output
    url = r.output.split("Server URL: ")[1].split()[0]
    assert url.startswith("http://192.0.2.10:8080/key/") and len(url.rsplit("/", 1)[1]) == 64
    with Image.open(qr) as image:
        assert image.size[0] == image.size[1] > 100
    token = url.rsplit("/", 1)[1]
    r = app.test_client().head(f"/key/{token}/submission", headers={"X-OpenRosa-Version": "1.0"})
    assert r.status_code == 204


def test_collect_qr_payload_is_zlib_base64_json():
    payload = collect_settings_payload("http://h/key/abc", username="u", password="p")
    settings = json.loads(zlib.decompress(base64.b64decode(payload)))
    assert settings["general"] == {
        "server_url": "http://h/key/abc",
        "username": "u",
        "password": "p",
    }
    assert settings["admin"] == {} and settings["project"]["name"] == "khudan"


@pytest.mark.needs("java")
def test_forms_publish_runs_odk_validate_and_refuses_a_change_without_a_version_bump(
    khudan, tmp_path
):
    path = write_xlsx(form_md("simple", version="2026010101"), tmp_path / "simple.xlsx")
    r = khudan("forms", "publish", str(path))
    assert r.exit_code == 0, r.output
    assert "simple version '2026010101': published" in r.output
    assert khudan("forms", "publish", str(path)).output.strip().endswith("unchanged")
    changed = form_md("simple", version="2026010101").replace("Tuổi", "Tuổi (năm)")
    write_xlsx(changed, path)
    r = khudan("forms", "publish", str(path))
    assert r.exit_code == 1
    assert "Increase 'version'" in r.output
    listing = khudan("forms", "list")
    assert (
        "simple" in listing.output and "2026010101" in listing.output and "open" in listing.output
    )


def test_forms_draft_keeps_phones_on_the_published_version_until_publish_draft(
    khudan, tmp_path, db
):
    first = write_xlsx(form_md("household", version="1"), tmp_path / "household.xlsx")
    assert khudan("forms", "publish", "--skip-validate", str(first)).exit_code == 0
    nxt = write_xlsx(form_md("household_next", version="2"), tmp_path / "household_next.xlsx")
    r = khudan("forms", "draft", "--skip-validate", str(nxt))
    assert r.exit_code == 0, r.output
    assert "household version '2': draft saved (1 added, 1 removed," in r.output
    assert "/test/" in r.output
    with db.session() as s:
        current = s.scalar(select(Form).where(Form.form_id == "household")).current_version
        assert current.version == "1"
    r = khudan("forms", "publish-draft", "household")
    assert r.exit_code == 0 and "household version '2': published" in r.output
    assert "2" in khudan("forms", "list").output.splitlines()[1]
    again = khudan("forms", "publish-draft", "household")
    assert again.exit_code == 1 and "draft" in again.output.lower()


def test_forms_publish_reports_pyxform_errors_with_the_row(khudan, tmp_path):
    path = write_xlsx(BROKEN, tmp_path / "broken.xlsx")
    r = khudan("forms", "publish", str(path))
    assert r.exit_code == 1
    assert "broken.xlsx:" in r.output and "[row : 3]" in r.output and "nosuch" in r.output


def test_forms_publish_reports_what_javarosa_rejects(khudan, tmp_path):
    path = write_xlsx(JAVAROSA_REJECTS, tmp_path / "jr.xlsx")
    r = khudan("forms", "publish", str(path))
    assert r.exit_code == 1
    assert "ODK Validate" in r.output
    assert "not published" in r.output


def test_forms_publish_prints_pyxform_warnings(khudan, tmp_path):
    md = form_md("household", version="1")
    path = write_xlsx(md.replace("max-pixels=1280", ""), tmp_path / "household.xlsx")
    r = khudan("forms", "publish", "--skip-validate", str(path))
    assert r.exit_code == 0
    assert "warning:" in r.output and "max-pixels" in r.output
    assert "media not provided yet: villages.csv" in r.output


def test_lists_print_json_for_scripts(khudan, tmp_path):
    khudan("users", "add", "thu", "--role", "collector", "--area", "52")
    path = write_xlsx(form_md("simple", version="7"), tmp_path / "simple.xlsx")
    khudan("forms", "publish", "--skip-validate", str(path))
    listed = json.loads(khudan("users", "list", "--json").output)
    assert [(u["username"], u["role"], u["areas"], u["enabled"]) for u in listed] == [
        ("thu", "collector", ["52"], True)
    ]
    assert "password" not in json.dumps(listed)
    [form] = json.loads(khudan("forms", "list", "--json").output)
    assert (form["form_id"], form["version"], form["state"]) == ("simple", "7", "open")
    assert form["title"] == "Biểu mẫu đơn giản & thử" and len(form["md5"]) == 32


@pytest.fixture
def no_gunicorn(monkeypatch):
    """``khudan serve`` must stop before it listens; if it got that far the test fails."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("serve started gunicorn")

    monkeypatch.setattr("khudan.wsgi.serve_gunicorn", refuse)


def test_serve_without_java_stops_with_one_clear_line(khudan, monkeypatch, no_gunicorn, tmp_path):
    monkeypatch.setattr("khudan.cli.shutil.which", lambda name: None)
    monkeypatch.setenv("KHUDAN_FORMS_DIR", str(tmp_path / "forms"))
    r = khudan("serve")
    assert r.exit_code == 1
    assert "Java was not found" in r.output and "KHUDAN_ODK_VALIDATE=0" in r.output


def test_serve_stops_when_no_form_could_be_published(khudan, monkeypatch, no_gunicorn, tmp_path):
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    (forms_dir / "broken.xlsx").write_bytes(xlsx_bytes(form_md("broken")))
    monkeypatch.setenv("KHUDAN_FORMS_DIR", str(forms_dir))
    monkeypatch.setenv("KHUDAN_ODK_VALIDATE", "0")
    r = khudan("serve")
    assert r.exit_code == 1
    assert "broken.xlsx" in r.output and "empty form list" in r.output


def test_a_command_run_elsewhere_refuses_instead_of_making_an_empty_database(tmp_path):
    """Only `khudan init` and `khudan serve` create a database; `users list` from another folder
    says which database it looked for and how to make one, and leaves no file behind."""
    runner = CliRunner()
    target = tmp_path / "elsewhere" / "khudan.db"
    env = {
        "KHUDAN_DATABASE_URL": f"sqlite:///{target}",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "instance"),
        "KHUDAN_SECRET_KEY": "cli-test",
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "media"),
    }
    r = runner.invoke(main, ["users", "list"], env=env)
    assert r.exit_code == 1
    assert str(target) in r.output and "khudan init" in r.output
    assert not target.exists()
    r = runner.invoke(main, ["status"], env=env)
    assert r.exit_code == 0 and "does not exist yet" in r.output and not target.exists()
    r = runner.invoke(main, ["init"], env=env)
    assert r.exit_code == 0 and "Created user 'admin'" in r.output and target.exists()
    r = runner.invoke(main, ["users", "list"], env=env)
    assert r.exit_code == 0 and "admin" in r.output


def test_settings_come_from_khudan_toml_in_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    target = tmp_path / "from-toml.db"
    (instance / "khudan.toml").write_text(
        f'database_url = "sqlite:///{target}"\nodk_validate = false\nsecret_key = "toml"\n'
    )
    runner = CliRunner()
    env = {"KHUDAN_INSTANCE_DIR": str(instance), "KHUDAN_DATABASE_URL": ""}
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    assert target.exists()
    r = runner.invoke(main, ["status"], env=env)
    assert f"Database:      sqlite:///{target}" in r.output
    assert f"Settings file: {(instance / 'khudan.toml').resolve()}" in r.output
    assert "1 users, 0 forms, 0 submissions" in r.output
    (instance / "khudan.toml").write_text('databse_url = "typo"\n')
    r = runner.invoke(main, ["status"], env=env)
    assert r.exit_code == 1 and "unknown setting 'databse_url'" in r.output


def test_the_cli_spells_the_services_choices_and_starts_without_the_heavy_modules():
    import subprocess
    import sys

    from khudan import cli
    from khudan.services import charts, facts, official, report_files, submission_export

    assert cli.REPORT_KINDS == report_files.KINDS and cli.REPORT_FORMATS == report_files.FORMATS
    assert cli.CHART_KINDS == charts.KINDS and cli.LABEL_CHOICES == submission_export.LABELS
    assert cli.CHART_WIDTHS == (charts.MIN_WIDTH, charts.WIDTH, charts.MAX_WIDTH)
    assert tuple(official.TABLES) == cli.OFFICIAL_TABLES
    assert tuple(sorted(facts.DOMAIN_OF_FORM)) == cli.DOMAIN_FORMS
    code = (
        "import sys, khudan.cli\n"
        "print(sorted(m for m in ('pyxform', 'openpyxl', 'matplotlib', 'PIL') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
    # A serving process (each gunicorn worker) converts no form and writes no workbook until
    # asked: pyxform and openpyxl load then, not at its start.
    code = (
        "import sys, khudan.app\n"
        "khudan.app.create_app\n"
        "print(sorted(m for m in ('pyxform', 'openpyxl', 'matplotlib') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_user_administration_from_the_command_line(khudan, db, client):
    """Reset a password, disable and enable, change role and areas; each audited."""
    from khudan.models import AuditEvent
    from khudan.services import areas

    with db.session() as s:
        areas.load_official(s)
        s.commit()
    assert khudan("users", "add", "lan", "--role", "collector", "--area", "21607").exit_code == 0
    r = khudan("users", "password", "lan")
    assert r.exit_code == 0 and "reset" in r.output
    password = r.output.rsplit("Password: ", 1)[1].strip()
    login = {"username": "lan", "password": password}
    assert client.post("/api/v1/sessions", json=login).status_code == 201

    assert "enabled: True → False" in khudan("users", "disable", "lan").output
    assert client.post("/api/v1/sessions", json=login).status_code == 401
    assert "enabled: False → True" in khudan("users", "enable", "lan").output
    assert client.post("/api/v1/sessions", json=login).status_code == 201

    r = khudan("users", "set", "lan", "--role", "supervisor", "--area", "21553")
    assert r.exit_code == 0 and "role: collector → supervisor" in r.output
    assert "lan       supervisor  enabled  21553" in khudan("users", "list").output
    r = khudan("users", "set", "lan", "--area", "99999")
    assert r.exit_code == 1 and "99999" in r.output
    assert khudan("users", "disable", "nobody").exit_code == 1
    with db.session() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions.count("user.update") == 3 and "user.password" in actions


def test_entities_import_list_export(khudan, registry, shipped, make_user, tmp_path):
    make_user("adm", "admin")
    make_user("lan", "supervisor", areas=("21607",))
    source = tmp_path / "households.csv"
    source.write_text(
        "label,household_code,commune,area_code\n"
        "NC-1 - An,NC-1,21607,21607.T01\n"
        "QN-1 - Tám,QN-1,21553,21553.K01\n",
        encoding="utf-8",
    )
    r = khudan("entities", "import", "households", str(source), "--as", "lan")
    assert r.exit_code == 1 and "1 created" in r.output and "line 3: outside your areas" in r.output
    r = khudan("entities", "import", "households", str(source))  # as an admin: both
    assert r.exit_code == 0 and "1 created, 0 updated, 1 unchanged" in r.output  # NC-1 again
    listing = khudan("entities", "list")
    assert "households: 2 entities, 0 in conflict, 0 held; changed on approval" in listing.output
    out = tmp_path / "out.csv"
    assert khudan("entities", "export", "households", str(out)).exit_code == 0
    assert "QN-1 - Tám" in out.read_text(encoding="utf-8-sig")
    assert "0 held update(s) applied" in khudan("entities", "force-held", "--all").output


def test_entities_seed_from_a_periods_reviews(khudan, registry, shipped, make_user, collector):
    from factories import domain_sample

    make_user("adm", "admin")
    assert [r.status for r in collector.submit(domain_sample("pov1.xml"))] == [201]
    r = khudan("entities", "seed", "households", "--period", "2025")
    assert r.exit_code == 0 and "1 created, 0 updated, 0 unchanged" in r.output
    r = khudan("entities", "seed", "households", "--period", "2025")
    assert "0 created, 0 updated, 1 unchanged" in r.output
