"""Scale out, proven: two app nodes (`khudan serve`, no job threads of their own) and two
`khudan worker` processes on one database (PostgreSQL in .ci/run's second pass; the SQLite file
in its first) and one S3-compatible store (moto's server).
Collect-like phones send a few hundred poverty reviews with distinct photos through both nodes,
resend and edit some; one worker is killed with SIGKILL mid-run. Then every 201 is stored once
and processed once, with the right facts and thumbnails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from collect import CollectClient, requests_sender
from factories import noisy_jpeg, poverty_household
from khudan_server import KhudanServer
from s3 import CREDENTIALS, moto_server, new_bucket, object_names
from sqlalchemy import func, select

from khudan.models import (
    Attachment,
    Job,
    PhotoMeta,
    PovertyFact,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
)

FORMS = Path(__file__).resolve().parents[2] / "forms"
KHUDAN = (sys.executable, "-c", "from khudan.cli import main; main()")
HOUSEHOLDS = 240
EDITED = range(0, HOUSEHOLDS, 12)  # 20 edits
RESENT = range(5, HOUSEHOLDS, 10)  # 24 resends


def answers_collect(url: str) -> bool:
    probe = requests.head(f"{url}/submission", timeout=1, headers={"X-OpenRosa-Version": "1.0"})
    return probe.status_code == 401


def review(n: int, edit: bool = False) -> bytes:
    """A poverty review of household NC-T01-<n> with a house photo; an edit names another head."""
    uuid = f"uuid:5ca1e000-0000-4000-8000-{n:012d}"
    if not edit:
        return poverty_household(f"NC-T01-{n:04d}", uuid)
    return poverty_household(
        f"NC-T01-{n:04d}",
        uuid.replace("5ca1e000", "5ca1e0ed"),
        **{
            "</instanceID>": f"</instanceID><deprecatedID>{uuid}</deprecatedID>",
            "Nguyễn Văn Hải</head_name>": "Nguyễn Văn Hà</head_name>",
        },
    )


@pytest.fixture
def cluster(tmp_path, database_url, db, registry, make_user, monkeypatch):
    """On PostgreSQL as in production; on SQLite the same processes share the database file, as
    several processes of one machine may."""
    make_user("thu", "collector", areas=("52",))
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint:
        bucket = new_bucket(endpoint)
        env = {
            **CREDENTIALS,
            "KHUDAN_SECRET_KEY": "shared-by-every-node",
            "KHUDAN_STORAGE_URL": f"s3://{bucket}/khudan?endpoint_url={endpoint}",
            "KHUDAN_ODK_VALIDATE": "0",
            "KHUDAN_JOB_LEASE_SECONDS": "5",
        }
        nodes = []
        for name in ("a", "b"):
            root = tmp_path / name
            node = KhudanServer(
                root,
                database_url,
                answers_collect,
                ("--workers", "2", "--threads", "4", "--job-threads", "0"),
                **env,
            )
            shutil.copy(FORMS / "poverty_review.xlsx", root / "forms")
            nodes.append(node)
        workers = []
        try:
            for node in nodes:
                node.start()
            for i in range(2):
                with (tmp_path / f"worker{i}.log").open("ab") as log:
                    workers.append(
                        subprocess.Popen(
                            [*KHUDAN, "worker", "--threads", "2"],
                            env={**nodes[0].env, "KHUDAN_INSTANCE_DIR": str(tmp_path / f"w{i}")},
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
            yield nodes, workers, endpoint, bucket
        finally:
            for proc in workers:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(30)
            for node in nodes:
                node.stop()


def test_two_app_nodes_and_two_workers_lose_nothing_and_do_nothing_twice(cluster, db):
    nodes, workers, endpoint, bucket = cluster
    photos = {n: noisy_jpeg(480, 360, seed=n, quality=70) for n in range(HOUSEHOLDS)}

    def send(n: int) -> list[int]:
        phone = CollectClient(requests_sender(), nodes[n % 2].url, "thu", "correct horse")
        statuses = [r.status for r in phone.submit(review(n), {"house.jpg": photos[n]})]
        if n in RESENT:  # the phone did not hear the answer and sends it again
            other = CollectClient(requests_sender(), nodes[(n + 1) % 2].url, "thu", "correct horse")
            statuses += [r.status for r in other.submit(review(n), {"house.jpg": photos[n]})]
        if n in EDITED:  # corrected on the phone: the photo is carried forward
            statuses += [r.status for r in phone.submit(review(n, edit=True))]
        return statuses

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send, n) for n in range(HOUSEHOLDS)]
        time.sleep(1.5)
        os.killpg(workers[0].pid, signal.SIGKILL)  # mid-run: its leased jobs go to the other
        replies = [f.result() for f in futures]
    assert all(status == 201 for statuses in replies for status in statuses)

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with db.session() as s:
            if not s.scalar(select(func.count()).select_from(Job)):
                break
        time.sleep(0.5)
    with db.session() as s:
        left = s.execute(
            select(Job.id, Job.state, Job.attempts, Job.error, Job.locked_by, Job.run_after)
        ).all()
        assert not left, f"the queue did not drain: {left}"
        assert s.scalar(select(func.count()).select_from(Submission)) == HOUSEHOLDS
        versions = s.scalar(select(func.count()).select_from(SubmissionVersion))
        assert versions == HOUSEHOLDS + len(EDITED)
        unprocessed = select(func.count()).where(SubmissionVersion.processed_at.is_(None))
        assert s.scalar(unprocessed.select_from(SubmissionVersion)) == 0
        unchecked = select(func.count()).where(
            Attachment.blob_id.is_not(None), Attachment.checked_at.is_(None)
        )
        assert s.scalar(unchecked.select_from(Attachment)) == 0
        # One fact per household, from its current version; edited ones carry the new head.
        facts = dict(s.execute(select(PovertyFact.household_code, PovertyFact.head_name)).all())
        assert len(facts) == HOUSEHOLDS
        for n in EDITED:
            assert facts[f"NC-T01-{n:04d}"] == "Nguyễn Văn Hà"
        assert facts["NC-T01-0001"] == "Nguyễn Văn Hải"
        assert s.scalar(select(func.count()).select_from(PhotoMeta)) == HOUSEHOLDS
        # Nothing was recorded twice by a job that ran again after the kill.
        rows = s.execute(
            select(SubmissionProblem.version_id, SubmissionProblem.rule, SubmissionProblem.path)
        ).all()
        assert len(rows) == len(set(rows))
        shas = s.scalars(select(PhotoMeta.blob_id)).all()
    stored = object_names(endpoint, bucket)
    thumbnails = [k for k in stored if k.endswith(".320.jpg")]
    assert len(thumbnails) == len(shas) == HOUSEHOLDS
