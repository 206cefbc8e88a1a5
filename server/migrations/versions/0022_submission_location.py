"""submissions keep the current version's first geopoint, for the map page

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 05:10:00.000000
"""

import json
from xml.etree import ElementTree

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))
    # Existing submissions: the first answered geopoint of their current version (what the job
    # writes from now on). The XML was checked when it was received; it is read plainly here.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT s.id, v.xml, f.fields FROM submissions s "
            "JOIN submission_versions v ON v.id = s.current_version_id "
            "JOIN form_versions f ON f.id = v.form_version_id"
        )
    )
    found = []
    for sid, xml, fields in rows:
        if isinstance(fields, str):
            fields = json.loads(fields)
        paths = [f["path"] for f in fields or [] if f.get("type") == "geopoint"]
        if paths:
            point = _first_point(bytes(xml), paths)
            if point:
                found.append({"id": sid, "lat": point[0], "lon": point[1]})
    if found:
        bind.execute(
            sa.text("UPDATE submissions SET latitude = :lat, longitude = :lon WHERE id = :id"),
            found,
        )


def _first_point(xml: bytes, paths: list[str]):
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    for path in paths:
        node = root.find("/".join(f"{{*}}{step}" for step in path.strip("/").split("/")[1:]))
        parts = (node.text or "").split() if node is not None else []
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return None


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
