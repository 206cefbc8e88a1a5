"""The admins' work queue in Chromium: a job that kept failing is shown with its error and its
submission, and "try again" lets the live server's workers finish it. Saves the README's
screenshot of the page."""

from __future__ import annotations

import uuid

from collect import CollectClient, requests_sender
from factories import household_xml
from playwright.sync_api import expect
from sqlalchemy import select

from khudan.models import Job, JobState, SubmissionVersion
from khudan.models.base import utcnow

from .conftest import PASSWORD, screenshot

ERROR = "OSError: [Errno 5] Input/output error: 'media/blobs/3f/…'"


def parked_job_for(live, instance_id: str) -> None:
    """A job of the submission that failed on every try (as a storage fault leaves it)."""
    with live.db.session() as s:
        version_id = s.scalar(
            select(SubmissionVersion.id).where(SubmissionVersion.instance_id == instance_id)
        )
        s.add(
            Job(
                version_id=version_id,
                state=JobState.PARKED.value,
                attempts=8,
                run_after=utcnow(),
                error=ERROR,
            )
        )
        s.commit()


def test_an_admin_sees_a_parked_job_and_has_it_tried_again(live, page_as):
    instance_id = f"uuid:{uuid.uuid4()}"
    phone = CollectClient(requests_sender(), live.url, "thu", PASSWORD)
    assert [r.status for r in phone.submit(household_xml(instance_id, code="HH-Q1"))] == [201]
    live.wait_processed()
    parked_job_for(live, instance_id)

    page = page_as("admin")
    page.get_by_role("link", name="Hàng đợi").click()
    expect(page.locator("#queue-parked .value")).to_have_text("1")
    expect(page.locator("#queue-oldest .value")).to_have_text("—")  # nothing else waits
    row = page.locator("table.parked tbody tr")
    expect(row).to_contain_text(ERROR)
    expect(row.get_by_role("link", name="HH-Q1 - Nguyễn Văn An")).to_be_visible()
    screenshot(page, "queue-desktop")

    page.get_by_role("button", name="Sửa xong nguyên nhân: thử lại tất cả").click()
    expect(page.get_by_text("Đã cho 1 việc thử lại.")).to_be_visible()
    live.wait_processed()  # the server's worker threads ran it
    page.reload()
    expect(page.locator("#queue-parked .value")).to_have_text("0")
    expect(page.locator("table.parked")).to_have_count(0)
