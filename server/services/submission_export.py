"""Every submission of a form as files people open: an XLSX workbook (the main table and a sheet
per repeat group), a CSV table, or a ZIP with the photos beside them.

Memory stays flat whatever the number of submissions: rows come from the database in batches
(``yield_per``), each submission's XML is read and dropped, the workbook is written row by row
(``khudan.xlsxstream``), CSV is a generator, and the ZIP is streamed member by member, photos read
from storage in chunks. Who sees what follows the submissions list (``submissions.visible``).

CSV with labels (``vi``, ``en``) is for people, who open it in a spreadsheet: a text cell starting
with ``= + - @``, a tab or a carriage return gets a leading ``'`` so it is not run as a formula
(OWASP's advice; plain numbers are left alone). ``labels=values`` is for programs and stays as
the phones sent it, as ODK Central's export does.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import itertools
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .. import errors
from ..db import Database
from ..formulas import csv_writer
from ..models import (
    Attachment,
    Blob,
    FormVersion,
    Submission,
    SubmissionVersion,
    User,
    in_flight,
)
from ..storage import Storage
from ..xforms.safexml import parse_stored
from ..xforms.schema import read_choice_labels
from ..xforms.tables import Column, Table, flatten, pick, tables
from ..xlsxstream import MAX_ROWS, SheetFull, Workbook
from ..zipstream import FileChunks, Member, stream_zip
from . import audit, forms
from .scope import area_clause

log = logging.getLogger(__name__)

LABELS = ("values", "vi", "en")
BATCH = 500  # submissions fetched at a time
_CSV_FLUSH = 200  # rows per CSV chunk
# The columns before the questions: main table, then each repeat table.
MAIN_HEADERS = {
    "values": [
        "submission_id",
        "instance_id",
        "submitter",
        "submitted_at",
        "review_state",
        "province_code",
        "commune_code",
        "area_code",
    ],
    "vi": [
        "Mã phiếu",
        "instanceID",
        "Người gửi",
        "Thời điểm gửi (UTC)",
        "Trạng thái duyệt",
        "Mã tỉnh",
        "Mã xã",
        "Mã thôn",
    ],
    "en": [
        "Submission id",
        "instanceID",
        "Submitted by",
        "Submitted at (UTC)",
        "Review state",
        "Province code",
        "Commune code",
        "Area code",
    ],
}
# The main table's last column, after the questions (as ODK Central puts its own): when the
# submission's checks and facts were done, empty while it is still being processed
# (``models.in_flight``).
LAST_HEADERS = {
    "values": ["processed_at"],
    "vi": ["Xử lý xong lúc (UTC)"],
    "en": ["Processed at (UTC)"],
}
REPEAT_HEADERS = {
    "values": ["PARENT_KEY", "KEY", "index"],
    "vi": ["PARENT_KEY", "KEY", "Thứ tự"],
    "en": ["PARENT_KEY", "KEY", "Position"],
}
STATES = {
    "vi": {
        "received": "Đã nhận",
        "hasIssues": "Có vấn đề",
        "edited": "Đã sửa",
        "approved": "Đã duyệt",
        "rejected": "Bị từ chối",
    },
    "en": {
        "received": "Received",
        "hasIssues": "Has issues",
        "edited": "Edited",
        "approved": "Approved",
        "rejected": "Rejected",
    },
}
# Files that do not shrink: stored as they are in a ZIP.
_COMPRESSED = re.compile(r"^(image|audio|video)/|^application/(zip|pdf)")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
# Answers taken as numbers in a workbook; anything else ("0912345678", "1_000", "nan", "1e5")
# stays the text the phone sent. 15 digits at most: Excel keeps no more.
_INTEGER = re.compile(r"-?(0|[1-9]\d{0,14})")
_DECIMAL = re.compile(r"-?(0|[1-9]\d{0,14})(\.\d{1,15})?")


@dataclass(frozen=True, slots=True)
class Options:
    labels: str = "values"  # or "vi", "en": choice labels and question labels as headers
    period: str | None = None
    area: str | None = None
    state: str | None = None  # a review state


@dataclass(frozen=True, slots=True)
class Export:
    """One export, fixed when it starts: its tables and the submissions it reads."""

    form_id: str
    options: Options
    tables: list[Table]  # the main table first
    total: int  # submissions
    submissions: Select  # the filtered, visible submissions of the form

    @property
    def repeat_paths(self) -> frozenset[str]:
        return frozenset(t.path for t in self.tables[1:])

    def table_index(self, repeat: str | None) -> int:
        """0 for the main table (``repeat`` None), else the index of that repeat's table."""
        if repeat is None:
            return 0
        found = next((i for i, t in enumerate(self.tables) if i and t.name == repeat), None)
        if found is None:
            known = ", ".join(t.name for t in self.tables[1:]) or "none"
            raise errors.FIELDS_INVALID(
                fields="repeat",
                errors={"repeat": [f"No repeat group of that name (known: {known})."]},
            )
        return found

    def file_name(self, extension: str, table: int = 0) -> str:
        stem = self.form_id if table == 0 else f"{self.form_id}-{self.tables[table].name}"
        return f"{_safe(stem)}.{extension}"


def prepare(session: Session, visible: Select, form_id: str, options: Options) -> Export:
    """Look the form up (404 when unknown) and fix what the export reads. ``visible``: the
    submissions the caller may see (``submissions.visible``; everything for the CLI)."""
    form = forms.get_form(session, form_id)
    versions = sorted(
        session.scalars(select(FormVersion).where(FormVersion.form_pk == form.id)),
        key=lambda v: (v.id != form.current_version_id, -v.id),
    )
    labels: dict[str, dict] = {}
    for version in reversed(versions):  # the current version's labels win
        labels.update(read_choice_labels(version.xml))
    query = visible.where(Submission.form_pk == form.id)
    if options.period:
        query = query.where(Submission.period == options.period)
    if options.area:
        query = query.where(area_clause(session, Submission, options.area))
    if options.state:
        query = query.where(Submission.review_state == options.state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return Export(form_id, options, tables([v.fields for v in versions], labels), total, query)


def check_repeat(repeat: str | None, kind: str, attachments: bool) -> None:
    """``repeat`` picks one table, so it is only for a plain CSV file (FIELDS_INVALID else)."""
    if repeat is not None and (kind != "csv" or attachments):
        reason = "a ZIP already holds every table" if attachments else "a workbook has every table"
        raise errors.FIELDS_INVALID(
            fields="repeat", errors={"repeat": [f"Only for a plain CSV file ({reason})."]}
        )


def record(
    session: Session,
    actor_id: int | None,
    export: Export,
    kind: str,
    attachments: bool,
    repeat: str | None = None,
) -> None:
    """The audit row of an export: who took which submissions, in what form. Written once the
    file is made (a workbook) or starts streaming (CSV, ZIP), so a refused export leaves none."""
    o = export.options
    chosen = {"labels": o.labels, "period": o.period, "area": o.area, "state": o.state}
    audit.record(
        session,
        actor_id,
        "submission.export",
        f"form:{export.form_id}",
        format=kind,
        submissions=export.total,
        attachments=attachments,
        **{k: v for k, v in {**chosen, "repeat": repeat}.items() if v and v != "values"},
    )


def headers(export: Export, table: int) -> list[str]:
    language = export.options.labels
    fixed = (MAIN_HEADERS if table == 0 else REPEAT_HEADERS)[language]
    columns = export.tables[table].columns
    names = [c.name if language == "values" else pick(c.label, language) or c.name for c in columns]
    # A header twice (two questions labelled alike, or one named like a fixed column) would
    # make the columns ambiguous: such questions get their name in brackets.
    last = LAST_HEADERS[language] if table == 0 else []
    seen = Counter(names) + Counter(fixed) + Counter(last)
    return [
        *fixed,
        *(f"{n} ({c.name})" if seen[n] > 1 else n for n, c in zip(names, columns, strict=True)),
        *last,
    ]


def rows(
    db: Database,
    export: Export,
    typed: bool,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, list]]:
    """(table index, row) for every submission: its main row, then its repeat rows. ``typed``:
    integer and decimal answers as numbers and the time of submission as a datetime (XLSX),
    else text (CSV). Other answers, dates and times among them, are the text the phone sent."""
    language = export.options.labels if export.options.labels != "values" else None
    states = STATES.get(language or "", {})
    index = {t.path: i for i, t in enumerate(export.tables)}
    converters = [
        [(c.path, _converter(c, language, typed)) for c in t.columns] for t in export.tables
    ]
    main = converters[0]
    repeat_paths = export.repeat_paths
    query = (
        export.submissions.with_only_columns(
            Submission.id,
            Submission.instance_id,
            User.username,
            Submission.created_at,
            Submission.review_state,
            SubmissionVersion.processed_at,
            in_flight(Submission.current_version_id),
            Submission.province_code,
            Submission.commune_code,
            Submission.area_code,
            SubmissionVersion.xml,
        )
        .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
        .outerjoin(User, User.id == Submission.submitter_id)
        .order_by(Submission.id)
        .execution_options(yield_per=BATCH)
    )
    # Closed (and PostgreSQL's server-side cursor with it) even when the reader stops early.
    with db.session() as session, closing(session.execute(query)) as result:
        for done, row in enumerate(result, start=1):
            sid, key, who, at, state, checked, processing, province, commune, area, xml = row
            answers, repeats = flatten(parse_stored(xml), key, repeat_paths)
            checked = None if processing else checked  # a later photo's check still to run
            when, checked = (at, checked) if typed else (_iso(at), _iso(checked))
            state = states.get(state, state)
            fixed = [sid, key, who, when, state, province, commune, area]
            values = [conv(v) if (v := answers.get(p)) else None for p, conv in main]
            yield 0, [*fixed, *values, checked]
            for r in repeats:
                table = index[r.table]
                values = r.values
                yield (
                    table,
                    [r.parent_key, r.key, r.index]
                    + [conv(v) if (v := values.get(p)) else None for p, conv in converters[table]],
                )
            if progress is not None and (done % BATCH == 0 or done == export.total):
                progress(done, export.total)


def write_xlsx(
    export: Export, table_rows: Generator[tuple[int, list], None, None], out: BinaryIO
) -> None:
    """The workbook: the main sheet (named after the form), then a sheet per repeat."""
    names = [export.form_id, *(t.name for t in export.tables[1:])]
    book = Workbook(out, names)
    try:
        for table in range(len(export.tables)):
            book.append(table, headers(export, table), bold=True)
        for table, row in table_rows:
            book.append(table, row)
    except SheetFull as full:
        book.abort()  # the caller throws the file away
        raise errors.EXPORT_TOO_MANY_ROWS(sheet=full.args[0], limit=f"{MAX_ROWS:,}") from None
    except BaseException:
        book.abort()
        raise
    finally:
        table_rows.close()  # the query, at once, when the workbook stops early
    book.close()


def workbook_file(export: Export, table_rows: Generator[tuple[int, list], None, None]) -> BinaryIO:
    """The workbook in a temporary file, read from its start; the file disappears once closed."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the caller sends it, then closes it)
    try:
        write_xlsx(export, table_rows, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def workbook_member(workbook: BinaryIO, export: Export) -> Member:
    """A workbook file as a ZIP member (STORED: an XLSX is compressed already)."""
    return Member(export.file_name("xlsx"), FileChunks(workbook), compress=False)


def zip_chunks(
    db: Database, storage: Storage, export: Export, files: Iterable[Member]
) -> Iterator[bytes]:
    """A ZIP of the export's file(s), then the photos, streamed."""
    return stream_zip(itertools.chain(files, media_members(db, storage, export)))


def csv_chunks(export: Export, table_rows: Generator[tuple[int, list], None, None], table: int = 0):
    """One table as CSV bytes (UTF-8 with a BOM, so Excel shows Vietnamese right)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(headers(export, table))
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    buffer.seek(0), buffer.truncate()
    pending = 0
    with closing(table_rows):  # the query too when the client goes away
        for index, row in table_rows:
            if index != table:
                continue
            writer.writerow(row)
            pending += 1
            if pending >= _CSV_FLUSH:
                yield buffer.getvalue().encode()
                buffer.seek(0), buffer.truncate()
                pending = 0
    if pending:
        yield buffer.getvalue().encode()


def csv_members(
    export: Export, table_rows: Generator[tuple[int, list], None, None]
) -> Iterator[Member]:
    """Every table as a CSV member of a ZIP, in one pass over the submissions: the main table is
    streamed while the repeat tables wait in temporary files, which become members after it."""
    spools = [tempfile.TemporaryFile() for _ in export.tables[1:]]  # noqa: SIM115 (closed below)
    try:
        texts = [
            io.TextIOWrapper(s, encoding="utf-8", newline="", write_through=False) for s in spools
        ]
        writers = [csv_writer(t) for t in texts]
        for table, (text, writer) in enumerate(zip(texts, writers, strict=True), start=1):
            text.write("\ufeff")
            writer.writerow(headers(export, table))

        def main() -> Iterator[tuple[int, list]]:
            for table, row in table_rows:
                if table == 0:
                    yield table, row
                else:
                    writers[table - 1].writerow(row)

        yield Member(export.file_name("csv"), csv_chunks(export, main()))
        for table, (spool, text) in enumerate(zip(spools, texts, strict=True), start=1):
            text.flush()
            spool.seek(0)
            yield Member(export.file_name("csv", table), FileChunks(text.detach()))
    finally:
        table_rows.close()
        for spool in spools:
            spool.close()


def media_members(db: Database, storage: Storage, export: Export) -> Iterator[Member]:
    """Each file of the submissions' current versions as ``media/<instanceID>/<name>``. A file
    missing from storage is left out (and logged), so one lost photo does not end the archive."""
    query = (
        export.submissions.with_only_columns(
            Submission.instance_id,
            Submission.created_at,
            Attachment.name,
            Blob.storage_key,
            Blob.content_type,
        )
        .join(Attachment, Attachment.version_id == Submission.current_version_id)
        .join(Blob, Blob.id == Attachment.blob_id)
        .order_by(Submission.id, Attachment.name)
        .execution_options(yield_per=BATCH)
    )
    with db.session() as session, closing(session.execute(query)) as result:
        for instance_id, created, name, key, content_type in result:
            try:
                fh = storage.open(key)
            except FileNotFoundError:
                log.error("export: %s of %s is missing from storage (%s)", name, instance_id, key)
                continue
            yield Member(
                f"media/{_safe(instance_id)}/{_safe(name)}",
                FileChunks(fh),
                compress=not _COMPRESSED.match(content_type or ""),
                modified=created,
            )


def _converter(column: Column, language: str | None, typed: bool) -> Callable[[str], object]:
    if language and column.choices:
        names = {v: pick(texts, language) or v for v, texts in column.choices.items()}
        if column.multiple:
            return lambda text: ", ".join(names.get(v, v) for v in text.split())
        return lambda text: names.get(text, text)
    if typed and column.type == "int":
        return _number(_INTEGER, int)
    if typed and column.type == "decimal":
        return _number(_DECIMAL, float)
    return str


def _number(pattern: re.Pattern, kind) -> Callable[[str], object]:
    return lambda text: kind(text) if pattern.fullmatch(text) else text


def _iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.isoformat(timespec="milliseconds") + "Z"


def _safe(name: str) -> str:
    """A file or folder name every system accepts (instanceIDs hold a colon: ``uuid_…``)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned or "_"
