"""khudan.central.odata against ODK Central's own test vectors (central-backend
test/unit/formats/odata.js, forms and instances from test/data/xml.js): the same rows, row ids,
parent ids and links, so a client switching from Central sees the same keys."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from khudan.central import odata
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission

DOUBLE_REPEAT_FORM = b"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
 xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head><h:title>doubleRepeat</h:title>
    <model>
      <instance>
        <data id="doubleRepeat" orx:version="1.0">
          <orx:meta><orx:instanceID/></orx:meta>
          <name/>
          <children><child><name/><toys><toy><name/></toy></toys></child></children>
        </data>
      </instance>
      <bind nodeset="/data/orx:meta/orx:instanceID" preload="uid" type="string"/>
      <bind nodeset="/data/name" type="string"/>
      <bind nodeset="/data/children/child/name" type="string"/>
      <bind nodeset="/data/children/child/toys/toy/name" type="string"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/name"><label>What is your name?</label></input>
    <group ref="/data/children/child"><label>Child</label>
      <repeat nodeset="/data/children/child">
        <input ref="/data/children/child/name"><label>Name?</label></input>
        <group ref="/data/children/child/toys"><label>Toys</label>
          <repeat nodeset="/data/children/child/toys/toy">
            <input ref="/data/children/child/toys/toy/name"><label>Toy?</label></input>
          </repeat>
        </group>
      </repeat>
    </group>
  </h:body>
</h:html>"""

DOUBLE = b"""<data id="doubleRepeat" version="1.0">
    <orx:meta xmlns:orx="http://openrosa.org/xforms"><orx:instanceID>double</orx:instanceID></orx:meta>
    <name>Vick</name>
    <children>
      <child><name>Alice</name></child>
      <child><name>Bob</name><toys>
          <toy><name>Twilight Sparkle</name></toy><toy><name>Pinkie Pie</name></toy>
          <toy><name>Applejack</name></toy><toy><name>Spike</name></toy></toys></child>
      <child><name>Chelsea</name><toys>
          <toy><name>Rainbow Dash</name></toy><toy><name>Rarity</name></toy>
          <toy><name>Fluttershy</name></toy><toy><name>Princess Luna</name></toy></toys></child>
    </children>
  </data>"""

TOYS = "Submissions.children.child.toys.toy"
BOB = "b6e93a81a53eed0566e65e472d4a4b9ae383ee6d"  # Central's id of the second child


def schema() -> odata.Schema:
    info = read_xform(DOUBLE_REPEAT_FORM)
    return odata.Schema.of(info.form_id, info.fields)


def rows(table: str) -> list[dict]:
    found = odata.rows_of(schema(), table, "double", read_submission(DOUBLE).root, None)
    return [odata.render(r, odata.Options()) for r in found]


def test_the_root_row_nests_groups_and_links_repeats_as_central_does():
    (row,) = rows("Submissions")
    assert row == {
        "__id": "double",
        "meta": {"instanceID": "double"},
        "name": "Vick",
        "children": {"child@odata.navigationLink": "Submissions('double')/children/child"},
    }


def test_nested_repeat_rows_have_centrals_ids_and_parent_ids():
    bob_toys = [r for r in rows(TOYS) if r["__Submissions-children-child-id"] == BOB]
    assert bob_toys == [
        {
            "__id": "a9058d7b2ed9557205ae53f5b1dc4224043eca2a",
            "__Submissions-children-child-id": BOB,
            "name": "Twilight Sparkle",
        },
        {
            "__id": "8d2dc7bd3e97a690c0813e646658e51038eb4144",
            "__Submissions-children-child-id": BOB,
            "name": "Pinkie Pie",
        },
        {
            "__id": "b716dd8b79a4c9369d6b1e7a9c9d55ac18da1319",
            "__Submissions-children-child-id": BOB,
            "name": "Applejack",
        },
        {
            "__id": "52fbd613acc151ee1187026890f6246b35f69144",
            "__Submissions-children-child-id": BOB,
            "name": "Spike",
        },
    ]
    children = rows("Submissions.children.child")
    assert [c["__id"] for c in children][1] == BOB
    assert children[1]["toys"] == {
        "toy@odata.navigationLink": f"Submissions('double')/children/child('{BOB}')/toys/toy"
    }
    assert {c["__Submissions-id"] for c in children} == {"double"}


def test_service_document_and_metadata_name_tables_and_join_ids_as_central():
    s = schema()
    doc = odata.service_document(s, "http://localhost:8989/forms/doubleRepeat.svc")
    assert [t["name"] for t in doc["value"]] == ["Submissions", "Submissions.children.child", TOYS]
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    root = ET.fromstring(odata.metadata_document(s))
    types = {t.get("Name"): t for t in root.iter(f"{edm}EntityType")}
    toy = [p.get("Name") for p in types[TOYS].iter(f"{edm}Property")]
    assert toy == ["__id", "__Submissions-children-child-id", "name"]
    complex_types = [t.get("Name") for t in root.iter(f"{edm}ComplexType")]
    assert complex_types == ["metadata", "meta", "children", "children.child.toys"]


def test_identifiers_are_sanitized_like_centrals():
    assert odata.sanitize("1st-name") == "_1st_name"
    assert odata.sanitize("tên hộ") == "t_n_h_"
    assert odata.sanitize("ok_name2") == "ok_name2"
