"""Who may replace a submission with ``meta/deprecatedID`` (an edit from Collect or Web Forms).

Tries: a collector of another commune who learned the instanceID, a supervisor of another
commune; each must get 403 with an OpenRosa message and leave the submission as it was.
The submitter, a collector of the same area, a supervisor of that area and an admin may edit.
"""

from __future__ import annotations

import pytest
from collect import CollectClient, flask_sender
from factories import domain_sample
from sqlalchemy import select

from khudan.models import Submission, SubmissionVersion

PASSWORD = "correct horse"  # make_user's default
FIRST = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"


@pytest.fixture
def as_user(client, make_user):
    def make(username: str, role: str, *codes: str) -> CollectClient:
        make_user(username, role, areas=codes)
        return CollectClient(flask_sender(client), "http://localhost", username, PASSWORD)

    return make


def edit_of(previous: str, new: str, head: str) -> bytes:
    """pov1.xml (household NC-T01-017 in thôn 21607.T01) as an edit of ``previous``."""
    return domain_sample(
        "pov1.xml",
        **{
            FIRST: new,
            "</instanceID>": f"</instanceID><deprecatedID>{previous}</deprecatedID>",
            "Nguyễn Văn Hải</head_name>": f"{head}</head_name>",
        },
    )


def current(db) -> tuple[str, int]:
    with db.session() as s:
        sub = s.scalar(select(Submission))
        return sub.current_version.instance_id, s.query(SubmissionVersion).count()


def test_only_the_submitter_or_someone_of_that_area_may_edit(
    collector, as_user, registry, shipped, db
):
    assert [r.status for r in collector.submit(domain_sample("pov1.xml"))] == [201]

    for who in (
        as_user("lan", "collector", "21553"),  # another commune of the same province
        as_user("son", "supervisor", "21553"),
    ):
        reply = who.submit(edit_of(FIRST, f"uuid:0000000{len(who.username)}-x", "Kẻ Gian"))[0]
        assert reply.status == 403, who.username
        assert "may not edit" in reply.message and FIRST in reply.message
        assert current(db) == (FIRST, 1)

    steps = [
        (collector, "uuid:e-1"),  # the submitter
        (as_user("hoa", "collector", "21607"), "uuid:e-2"),  # a collector of that commune
        (as_user("tam", "supervisor", "21607.T01"), "uuid:e-3"),  # a supervisor of that thôn
        (as_user("boss", "admin"), "uuid:e-4"),
    ]
    previous = FIRST
    for n, (who, new) in enumerate(steps, start=2):
        assert who.submit(edit_of(previous, new, f"Người sửa {n}"))[0].status == 201, who.username
        assert current(db) == (new, n)
        previous = new


def test_a_collector_whose_area_was_taken_away_may_still_fix_their_own(
    collector, registry, shipped, db, make_user
):
    assert collector.submit(domain_sample("pov1.xml"))[0].status == 201
    # thu's areas change to another commune: the version thu sent is still thu's to correct.
    with db.session() as s:
        from khudan.services import users

        users.update_user(s, users.get_user(s, "thu"), areas=["21553"])
        s.commit()
    assert collector.submit(edit_of(FIRST, "uuid:own-fix", "Nguyễn Văn Hải"))[0].status == 201
