"""The area registry and the areas.csv each phone receives, limited to its collector's areas."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from collect import CollectClient, flask_sender

from khudan.services import areas

CASCADE = """
| survey |
| | type | name | label | choice_filter |
| | select_one_from_file areas.csv | province | Tỉnh | level='province' |
| | select_one_from_file areas.csv | commune | Xã | level='commune' and parent=${province} |
| | select_one_from_file areas.csv | area_code | Thôn | level='area' and parent=${commune} |
| settings |
| | form_id | version |
| | cascade | 1 |
"""

THON = [
    {
        "commune_code": "21553",
        "code": "TDP01",
        "name": "Tổ dân phố 1",
        "kind": "to_dan_pho",
        "households_total": "312",
    },
    {"commune_code": "21553", "code": "TDP02", "name": "Tổ dân phố 2", "kind": "to_dan_pho"},
    {"commune_code": "00004", "code": "TDP01", "name": "Tổ 1 Ba Đình", "kind": "to_dan_pho"},
]


@pytest.fixture
def registry(db):
    with db.session() as s:
        official = areas.load_official(s)
        report = areas.import_areas(s, THON)
        s.commit()
    assert official.added == 34 + 3321
    assert report.added == 3 and report.rejected == []


@pytest.fixture
def cascade_form(db, storage):
    from xlsform import xlsx_bytes

    from khudan.services import forms

    xml, _ = forms.convert_xlsform(xlsx_bytes(CASCADE))
    forms.publish(db, storage, xml=xml, validate=False)


def rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def test_a_collector_gets_only_their_subtree_and_the_way_up(
    client, make_user, registry, cascade_form
):
    make_user("thu", "collector", areas=("21553.TDP01",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", "correct horse")
    _, listed = phone.form_list()
    _, files = phone.manifest(listed[0]["manifestUrl"])
    assert [f["filename"] for f in files] == ["areas.csv"]
    media = phone.request("GET", files[0]["downloadUrl"])
    assert media.status == 200
    assert files[0]["hash"] == "md5:" + hashlib.md5(media.body).hexdigest()
    assert rows(media.body) == [
        {"name": "52", "label": "Tỉnh Gia Lai", "level": "province", "parent": "", "kind": ""},
        {
            "name": "21553",
            "label": "Phường Quy Nhơn Bắc",
            "level": "commune",
            "parent": "52",
            "kind": "phuong",
        },
        {
            "name": "21553.TDP01",
            "label": "Tổ dân phố 1",
            "level": "area",
            "parent": "21553",
            "kind": "to_dan_pho",
        },
    ]
    again = phone.request(
        "GET", files[0]["downloadUrl"], headers={"If-None-Match": media.headers["etag"]}
    )
    assert again.status == 304


def test_a_commune_scope_brings_all_its_residential_areas(db, make_user, registry):
    user = make_user("lan", "supervisor", areas=("21553",))
    with db.session() as s:
        body = areas.areas_csv(s, s.merge(user))
    assert [r["name"] for r in rows(body)] == ["52", "21553", "21553.TDP01", "21553.TDP02"]


def test_no_areas_means_nothing_except_for_an_admin(db, make_user, registry):
    with db.session() as s:
        nobody = s.merge(make_user("thu", "collector"))
        admin = s.merge(make_user("boss", "admin"))
        assert rows(areas.areas_csv(s, nobody)) == []
        assert len(rows(areas.areas_csv(s, admin))) == 34 + 3321 + 3


def test_import_reports_rejected_rows_and_keeps_the_rest(db, registry):
    with db.session() as s:
        report = areas.import_areas(
            s,
            [
                {"commune_code": "99999", "code": "X", "name": "Không có"},
                {"commune_code": "21553", "code": "a/b", "name": "Sai mã"},
                {"commune_code": "21553", "code": "TDP03", "name": ""},
                {"commune_code": "21553", "code": "TDP04", "name": "Tổ 4", "households_total": "x"},
                {
                    "commune_code": "21553",
                    "code": "TDP01",
                    "name": "Tổ dân phố Một",
                    "households_total": "320",
                },
                {"commune_code": "21553", "code": "TDP05", "name": "Tổ 5"},
                {"commune_code": "21553", "code": "Đông", "name": "Thôn Đông"},  # URLs, headers
            ],
        )
        s.commit()
    assert (report.added, report.updated) == (1, 1)
    assert [line for line, _ in report.rejected] == [2, 3, 4, 5, 8]
    assert "không có mã xã '99999'" in report.rejected[0][1]
    assert "chữ cái ASCII" in report.rejected[4][1]


def test_cli_load_official_and_import(tmp_path, db, database_url):
    from click.testing import CliRunner

    from khudan.cli import main

    path = tmp_path / "thon.csv"
    path.write_text(
        "commune_code,code,name,kind,households_total\n"
        "21553,TDP01,Tổ dân phố 1,to_dan_pho,312\n99999,X,Sai,,\n",
        encoding="utf-8",
    )
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    runner = CliRunner()
    r = runner.invoke(main, ["areas", "load-official"], env=env)
    assert r.exit_code == 0 and "3355 added" in r.output
    r = runner.invoke(main, ["areas", "import", str(path)], env=env)
    assert r.exit_code == 1
    assert "1 added" in r.output and "line 3: không có mã xã '99999'" in r.output


def test_a_plan_writes_nothing_and_a_code_given_twice_is_rejected(db, registry):
    rows = [
        {"commune_code": "21553", "code": "TDP09", "name": "Tổ 9"},
        {"commune_code": "21553", "code": "TDP01", "name": "Tổ dân phố 1", "kind": "to_dan_pho"},
        {"commune_code": "21553", "code": "TDP09", "name": "Tổ chín"},
    ]
    with db.session() as s:
        plan = areas.plan_import(s, rows)
        assert not s.new and not s.dirty
        s.commit()
    assert [(c.line, c.code) for c in plan.added] == [(2, "21553.TDP09")]
    assert [(c.code, c.before) for c in plan.updated] == [
        ("21553.TDP01", {"households_total": 312})
    ]
    assert plan.rejected == [(4, "mã '21553.TDP09' đã có ở dòng 2")]
    with db.session() as s:
        assert s.get(areas.Area, "21553.TDP09") is None
        report = areas.apply_import(s, areas.plan_import(s, rows))
        s.commit()
        assert s.get(areas.Area, "21553.TDP09").name == "Tổ 9"
        assert s.get(areas.Area, "21553.TDP01").households_total is None
    assert (report.added, report.updated, len(report.rejected)) == (1, 1, 1)
