"""A household sent in several submissions of one period is one group, listed on each member's
detail as far as the reader may open the others (issue 12)."""

from __future__ import annotations

from pathlib import Path

from factories import domain_sample

from khudan.services import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
FIRST = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"  # pov1.xml's instanceID


def test_each_member_shows_its_group(client, db, storage, registry, collector, login):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    for n in ("g1", "g2", "g3"):
        replies = collector.submit(domain_sample("pov1.xml", **{FIRST: f"uuid:{n}"}))
        assert [r.status for r in replies] == [201]
    admin = login()
    listed = client.get("/api/v1/submissions?sort=id", headers=admin).json["items"]
    ids = [item["id"] for item in listed]
    body = client.get(f"/api/v1/submissions/{ids[1]}", headers=admin).json
    group = body["same_household"]
    assert group["total"] == 2 and [m["id"] for m in group["submissions"]] == [ids[0], ids[2]]
    assert [p["related_submission_id"] for p in body["problems"]] == [ids[0]]
    # A supervisor of the commune sees the group; one of another commune not the submission.
    own = login("lan", "supervisor", areas=("21607",))
    assert (
        client.get(f"/api/v1/submissions/{ids[1]}", headers=own).json["same_household"]["total"]
        == 2
    )
    ward = login("hoa", "supervisor", areas=("21553",))
    assert client.get(f"/api/v1/submissions/{ids[1]}", headers=ward).status_code == 404
