"""The ``khudan`` command. Exit codes: 0 ok, 1 a user error (one line saying what to do), 2 usage."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib
import json
import logging
import shutil
import signal
import socket
import sys
import threading
from pathlib import Path

import click
from sqlalchemy import func, select

from . import errors, heap
from .config import Settings, from_env
from .db import Database
from .models import Form, FormVersion, ReviewState, Role, Submission, User
from .services.scope import Scope
from .storage import Storage, open_storage


class _Lazy:
    """A module imported when a command first uses it: pyxform, openpyxl, matplotlib and the
    marshmallow schemas cost most of a command's start, and most commands need few of them."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        module = importlib.import_module(self._name)
        self.__dict__.update(vars(module))  # later look-ups no longer come here
        return getattr(module, attr)


areas = _Lazy("khudan.services.areas")
backups = _Lazy("khudan.services.backup")
audit = _Lazy("khudan.services.audit")
sessions = _Lazy("khudan.services.sessions")
charts = _Lazy("khudan.services.charts")
drafts = _Lazy("khudan.services.drafts")
entities = _Lazy("khudan.services.entities")
entity_updates = _Lazy("khudan.services.entity_updates")
jobs = _Lazy("khudan.services.jobs")
exports = _Lazy("khudan.services.exports")
facts = _Lazy("khudan.services.facts")
forms = _Lazy("khudan.services.forms")
photo_checks = _Lazy("khudan.services.photos")
report_files = _Lazy("khudan.services.report_files")
reports = _Lazy("khudan.services.reports")
submission_export = _Lazy("khudan.services.submission_export")
users = _Lazy("khudan.services.users")
collect_qr = _Lazy("khudan.services.collect_qr")
api_schemas = _Lazy("khudan.schemas")
# Choices spelled here so that `--help` imports nothing heavy; a test checks they are the services'.
REPORT_KINDS = ("poverty", "cultural-family", "satisfaction")
REPORT_FORMATS = ("xlsx", "csv")
CHART_KINDS = ("poverty-rate", "deprivation", "change")
DOMAIN_FORMS = ("cultural_family", "poverty_review", "satisfaction_survey")
LABEL_CHOICES = ("values", "vi", "en")
CHART_WIDTHS = (320, 800, 2000)  # smallest, default, largest
OFFICIAL_TABLES = (
    "ket-qua",
    "dien-bien-ho-ngheo",
    "dien-bien-ho-can-ngheo",
    "thieu-hut-ho-ngheo",
    "thieu-hut-ho-ngheo-ty-le",
    "thieu-hut-ho-can-ngheo",
    "thieu-hut-ho-can-ngheo-ty-le",
    "nhom-doi-tuong",
    "dan-toc",
    "nguyen-nhan",
    "nhu-cau-ho-tro",
    "danh-sach-hop-dan",
    "gia-dinh-van-hoa",
    "thon-van-hoa",
)

log = logging.getLogger("khudan")


class Context:
    """Settings and database, opened on first use so ``--help`` needs neither."""

    def __init__(self):
        self._settings: Settings | None = None
        self._db: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = from_env()
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
        return self._settings

    @property
    def db(self) -> Database:
        """The existing database, upgraded; a command other than ``serve`` and ``init`` never
        creates one (run from another folder it would find an empty one and say nobody exists)."""
        return self.open_db(create=False)

    def open_db(self, create: bool) -> Database:
        if self._db is None:
            url = self.settings.database_url
            db = Database(url)
            if not create and not db.initialised():
                db.dispose()
                raise click.ClickException(
                    f"There is no khudan database at {shown_url(url)}. Run `khudan init` (or "
                    "`khudan serve`) to create it here, or run this command where the instance "
                    "folder is, or set KHUDAN_DATABASE_URL (or database_url in the instance "
                    "folder's khudan.toml)."
                )
            db.migrate()
            self._db = db
        return self._db

    @property
    def storage(self) -> Storage:
        return open_storage(self.settings.storage_url, self.settings.media_root)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_ctx = click.make_pass_decorator(Context, ensure=True)


class _Group(click.Group):
    """Turns an expected failure (a Problem) into one line and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except errors.Problem as problem:
            said = " ".join(_messages(problem.details.get("errors") or {}))
            raise click.ClickException(problem.message_en + (f" {said}" if said else "")) from None


def _messages(found) -> list[str]:
    """The texts in marshmallow-shaped errors ({field: [text] or {index: [text]}})."""
    if isinstance(found, dict):
        return [m for value in found.values() for m in _messages(value)]
    if isinstance(found, list | tuple):
        return [m for value in found for m in _messages(value)]
    return [str(found)]


@click.group(cls=_Group)
@click.pass_context
def main(click_ctx: click.Context) -> None:
    """khudan: field-survey server for ODK Collect."""
    click_ctx.call_on_close(click_ctx.ensure_object(Context).close)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option(
    "--job-threads",
    default=None,
    type=int,
    help="Threads per worker process that run the work after each submission "
    "[default: KHUDAN_WORKER_THREADS, else 1; 0: leave it to `khudan worker`].",
)
@pass_ctx
def serve(
    ctx: Context, host: str, port: int, workers: int, threads: int, job_threads: int | None
) -> None:
    """Create or migrate the database, publish forms/, create an admin if none, and serve."""
    db = ctx.open_db(create=True)
    if ctx.settings.odk_validate and shutil.which("java") is None:
        raise click.ClickException(
            "Java was not found, so ODK Validate cannot check the forms in "
            f"{ctx.settings.forms_dir} and phones would see an empty form list. Install Java 17 "
            "(apt-get install default-jre-headless), or set KHUDAN_ODK_VALIDATE=0 to publish "
            "without that check."
        )
    failed = _publish_all(ctx, forms.xlsforms_in(ctx.settings.forms_dir))
    if failed:
        with db.session() as session:
            open_forms = forms.open_forms(session)
        if not open_forms:
            raise click.ClickException(
                f"No form in {ctx.settings.forms_dir} could be published (see above), so phones "
                "would see an empty form list. Fix the forms and start again."
            )
        log.warning("%d form(s) in %s were not published", failed, ctx.settings.forms_dir)
    with db.session() as session:
        password = users.ensure_admin(session)
        session.commit()
    if password:
        click.echo(f"Created user 'admin' with password: {password}  (shown once; change it)")
    ctx.close()  # workers open their own connections after the fork
    from .hosts import listening_hosts
    from .wsgi import serve_gunicorn

    settings = ctx.settings
    if job_threads is not None:
        settings = settings.but(worker_threads=job_threads)
    if settings.allowed_hosts is None:
        settings = settings.but(allowed_hosts=listening_hosts(host, settings.public_url))
    click.echo(f"khudan listening on http://{host}:{port}  (ODK Collect server URL)")
    click.echo(f"Host names answered: {', '.join(settings.allowed_hosts)}  (KHUDAN_ALLOWED_HOSTS)")
    serve_gunicorn(settings, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--threads", default=2, show_default=True, type=int, help="Jobs run at once.")
@click.option("--drain", is_flag=True, help="Run the waiting jobs, then exit.")
@click.option("--retry-parked", is_flag=True, help="Give parked jobs another round first.")
@pass_ctx
def worker(ctx: Context, threads: int, drain: bool, retry_parked: bool) -> None:
    """Run the work after each submission (photos, checks, facts) until stopped (Ctrl+C or
    SIGTERM). Any number of these, on any machine sharing the database and the storage."""
    db = ctx.db
    if retry_parked:
        again = jobs.retry_parked(db, None)
        click.echo(f"{again} parked job(s) will be tried again")
    work = jobs.Context.of(ctx.settings, db, ctx.storage)
    if drain:
        with db.session() as session:
            waiting = jobs.status(session).pending
        with _bar("Processing") as progress:
            done = jobs.drain(work, progress=lambda n: progress(n, max(waiting, n)))
        click.echo(f"{done} job(s) done")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    heap.settle()
    workers = jobs.Workers(work, threads).start()
    click.echo(f"khudan worker: {threads} thread(s) on {shown_url(ctx.settings.database_url)}")
    stop.wait()
    click.echo("stopping: finishing the jobs in hand")
    workers.stop()


@main.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create the database here (or upgrade it) and an admin user, without serving."""
    db = ctx.open_db(create=True)
    with db.session() as session:
        password = users.ensure_admin(session)
        session.commit()
    click.echo(f"Database ready: {shown_url(ctx.settings.database_url)}")
    if password:
        click.echo(f"Created user 'admin' with password: {password}  (shown once; change it)")


@main.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Which database, files and settings file this folder uses, and what they hold."""
    settings = ctx.settings
    config = settings.config_file or (settings.instance_dir / "khudan.toml")
    click.echo(f"Database:      {shown_url(settings.database_url)}")
    click.echo(
        f"Settings file: {config.resolve()}"
        + ("" if settings.config_file else "  (none; optional)")
    )
    click.echo(f"Media:         {settings.storage_url or settings.media_root.resolve()}")
    click.echo(f"Forms folder:  {settings.forms_dir.resolve()}")
    db = Database(settings.database_url)
    try:
        if not db.initialised():
            click.echo(
                "The database does not exist yet: `khudan init` or `khudan serve` creates it."
            )
            return
        with db.session() as session:
            counts = {
                "users": session.scalar(select(func.count()).select_from(User)),
                "forms": session.scalar(select(func.count()).select_from(Form)),
                "submissions": session.scalar(select(func.count()).select_from(Submission)),
            }
            queue = jobs.status(session)
            stuck = jobs.parked(session, limit=PARKED_SHOWN) if queue.parked else []
        click.echo("Holds:         " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        click.echo(f"Queue:         {_queue_line(queue)}")
        for job in stuck:  # what failed, so that its cause can be fixed before a retry
            click.echo(f"  parked: {job.instance_name or job.instance_id}: {job.error or '?'}")
        if queue.parked > len(stuck):
            click.echo(f"  … and {queue.parked - len(stuck)} more (Hàng đợi, GET /api/v1/queue)")
    finally:
        db.dispose()


PARKED_SHOWN = 5  # parked jobs `khudan status` names


def _queue_line(queue) -> str:
    """Jobs waiting, the oldest one's age, and parked jobs (see `khudan worker`)."""
    line = f"{queue.pending} job(s) waiting"
    if queue.oldest_seconds is not None:
        line += f", the oldest for {queue.oldest_seconds} s"
    if queue.parked:
        line += f"; {queue.parked} parked after repeated failures (khudan worker --retry-parked)"
    return line


def shown_url(url: str) -> str:
    """A database URL as a person may read it: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@pass_ctx
def backup(ctx: Context, dest: Path) -> None:
    """Write a verified backup (database and media) into the new folder DEST, while serving."""
    ctx.db  # noqa: B018  (refuses, with a hint, when there is no database here)
    with _bar("Backing up") as progress:
        done = backups.backup(ctx.settings, dest, progress)
    click.echo(
        f"Backup of the {done.database} database and {done.media_files} media file(s) "
        f"({done.media_bytes:,} bytes) written and verified in {done.path}"
    )


@main.command()
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
@pass_ctx
def restore(ctx: Context, src: Path) -> None:
    """Restore the backup in SRC into this instance, whose database must be empty."""
    with _bar("Restoring") as progress:
        done = backups.restore(ctx.settings, src, progress)
    click.echo(
        f"Restored into {shown_url(ctx.settings.database_url)}: {done.media_files} media file(s)"
    )


@main.command("migrate-db")
@click.option("--to", "target", required=True, help="The empty database to copy into (URL).")
@pass_ctx
def migrate_db(ctx: Context, target: str) -> None:
    """Copy this instance's database into another, e.g. from SQLite to PostgreSQL."""
    ctx.db  # noqa: B018
    ctx.close()
    with _bar("Copying tables") as progress:
        counts = backups.migrate_db(ctx.settings.database_url, target, progress)
    click.echo(
        f"Copied {sum(counts.values()):,} rows of {len(counts)} tables to {shown_url(target)}"
    )
    click.echo("Set KHUDAN_DATABASE_URL (or database_url in khudan.toml) to it and restart.")


@contextlib.contextmanager
def _bar(label: str):
    """A progress bar on stderr, and the ``progress(done, total)`` the services call."""
    with click.progressbar(length=1, label=label, show_pos=True, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        try:
            yield progress
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from None


@main.group("users")
def users_group() -> None:
    """People: collectors, supervisors, designers, admins."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--area", "areas", multiple=True, metavar="CODE", help="Area subtree (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def users_add(
    ctx: Context, name: str, role: str, areas: tuple[str, ...], password_stdin: bool
) -> None:
    """Create a user; without --password-stdin a password is generated and printed."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else users.generate_password()
    with ctx.db.session() as session:
        users.create_user(session, name, role, password, list(areas))
        session.commit()
    click.echo(f"Created {role} '{name}'" + (f" for areas {', '.join(areas)}" if areas else ""))
    if not password_stdin:
        click.echo(f"Password: {password}")


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@pass_ctx
def users_password(ctx: Context, name: str, password_stdin: bool) -> None:
    """Reset a password (generated unless given on stdin) and end the user's sessions."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else users.generate_password()
    with ctx.db.session() as session:
        user = _user(session, name)
        users.set_password(user, password)
        ended = sessions.end_sessions(session, user)
        audit.record(session, None, "user.password", f"user:{name}", cli=True, sessions_ended=ended)
        session.commit()
    click.echo(f"Password of '{name}' reset; {ended} session(s) ended")
    if not password_stdin:
        click.echo(f"Password: {password}")


@users_group.command("disable")
@click.argument("name")
@pass_ctx
def users_disable(ctx: Context, name: str) -> None:
    """Stop a user: log-in, sessions, API tokens and phone token URLs end at once."""
    _change_user(ctx, name, enabled=False)


@users_group.command("enable")
@click.argument("name")
@pass_ctx
def users_enable(ctx: Context, name: str) -> None:
    """Let a disabled user log in again (old sessions and token URLs stay ended)."""
    _change_user(ctx, name, enabled=True)


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="The new role.")
@click.option(
    "--area", "areas", multiple=True, metavar="CODE", help="Area subtree; replaces the list."
)
@pass_ctx
def users_set(ctx: Context, name: str, role: str | None, areas: tuple[str, ...]) -> None:
    """Change a user's role and/or areas (the areas given replace the old list)."""
    if role is None and not areas:
        raise click.UsageError("give --role and/or --area")
    _change_user(ctx, name, role=role, areas=list(areas) if areas else None)


def _user(session, name: str):
    user = users.get_user(session, name)
    if user is None:
        raise click.ClickException(f"There is no user '{name}' (khudan users list shows them)")
    return user


def _change_user(ctx: Context, name: str, **wanted) -> None:
    with ctx.db.session() as session:
        user = _user(session, name)
        if wanted.get("areas"):
            users.check_area_codes(session, wanted["areas"])
        changes = users.update_user(session, user, **wanted)
        if changes:
            audit.record(session, None, "user.update", f"user:{name}", cli=True, **changes)
        session.commit()
    said = "; ".join(f"{k}: {old} → {new}" for k, (old, new) in changes.items())
    click.echo(f"'{name}': {said or 'nothing to change'}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    """List users with their role, state and areas."""
    with ctx.db.session() as session:
        if as_json:
            click.echo(
                json.dumps(
                    api_schemas.UserSchema(many=True).dump(users.list_users(session)), indent=2
                )
            )
            return
        rows = [
            (
                u.username,
                u.role,
                "enabled" if u.enabled else "disabled",
                ",".join(u.area_codes) or "-",
            )
            for u in users.list_users(session)
        ]
    _table(("USERNAME", "ROLE", "STATE", "AREAS"), rows)


@users_group.command("token")
@click.argument("name")
@click.option("--url", help="Server URL phones use (default: KHUDAN_PUBLIC_URL, else this host).")
@click.option(
    "--qr",
    "qr_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the QR code PNG (default: NAME-collect-qr.png).",
)
@pass_ctx
def users_token(ctx: Context, name: str, url: str | None, qr_path: Path | None) -> None:
    """Issue an app-user token: print the phone's server URL and write an ODK Collect QR code."""
    base = (url or ctx.settings.public_url or _default_url()).rstrip("/")
    with ctx.db.session() as session:
        user = users.get_user(session, name)
        if user is None:
            raise click.ClickException(f"no user named {name!r}; see 'khudan users list'")
        token = users.issue_token(session, user)
        session.commit()
    server_url = f"{base}/key/{token}"
    qr_path = qr_path or Path(f"{name}-collect-qr.png")
    collect_qr.write_collect_qr(qr_path, server_url, project_name=f"khudan ({name})")
    click.echo(f"Server URL: {server_url}")
    click.echo(f"QR code for ODK Collect (Project settings > Reconfigure with QR code): {qr_path}")


@main.group("areas")
def areas_group() -> None:
    """The area tree: provinces, communes, residential areas."""


@areas_group.command("load-official")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Official list (default: the 2025 list shipped with khudan).",
)
@pass_ctx
def areas_load_official(ctx: Context, path: Path | None) -> None:
    """Load Vietnam's provinces and communes (after the 1 July 2025 reform)."""
    with ctx.db.session() as session:
        report = areas.load_official(session, path or areas.OFFICIAL_CSV)
        session.commit()
    click.echo(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged")


@areas_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def areas_import(ctx: Context, path: Path) -> None:
    """Import residential areas (thôn, tổ dân phố) from CSV:
    commune_code,code,name[,kind,households_total]."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with ctx.db.session() as session:
        report = areas.import_areas(session, rows)
        session.commit()
    click.echo(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected"
    )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {reason}", err=True)
    if report.rejected:
        raise SystemExit(1)


@main.group("entities")
def entities_group() -> None:
    """Entity lists (ODK Entities): the household registry on the phones."""


@entities_group.command("list")
@pass_ctx
def entities_list(ctx: Context) -> None:
    """The entity lists, their properties and sizes."""
    with ctx.db.session() as session:
        admin = _admin(session)
        for lst in entities.lists(session):
            count, conflicts = entities.summary(session, admin, lst)
            when = "on approval" if lst.approval_required else "on receipt"
            click.echo(
                f"{lst.name}: {count} entities, {conflicts} in conflict, "
                f"{entities.held_count(session, lst)} held; changed {when}; "
                f"properties: {', '.join(lst.properties or [])}"
            )


@entities_group.command("import")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as", "username", help="Import as this user, within their areas (default: an admin)."
)
@pass_ctx
def entities_import(ctx: Context, name: str, path: Path, username: str | None) -> None:
    """Create or update entities from CSV: label[,name][,property...] (e.g. last year's
    household list of a commune)."""
    with ctx.db.session() as session:
        user = _admin(session) if username is None else users.get_user(session, username)
        if user is None:
            raise click.ClickException(f"no user named {username!r}; see 'khudan users list'")
        report = entities.import_file(
            session, entities.get_list(session, name), path.read_bytes(), user
        )
        session.commit()
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected"
    )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {reason}", err=True)
    if report.rejected:
        raise SystemExit(1)


@entities_group.command("seed")
@click.argument("name")
@click.option("--period", required=True, help="The period reviewed, e.g. 2025.")
@click.option("--approved-only", is_flag=True, help="Only households whose review was approved.")
@pass_ctx
def entities_seed(ctx: Context, name: str, period: str, approved_only: bool) -> None:
    """Fill a list with the households reviewed in a period (their poverty facts): the phones
    then offer last year's households. Existing households are updated, never duplicated."""
    with ctx.db.session() as session:
        report = entities.seed_from_facts(
            session,
            entities.get_list(session, name),
            period,
            _admin(session),
            approved_only=approved_only,
        )
        session.commit()
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged")


@entities_group.command("export")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def entities_export(ctx: Context, name: str, path: Path) -> None:
    """Write a list's entities to a CSV file (UTF-8 with BOM, for spreadsheets)."""
    with ctx.db.session() as session:
        path.write_bytes(
            entities.export_csv(session, _admin(session), entities.get_list(session, name))
        )
    click.echo(f"written: {path}")


@entities_group.command("force-held")
@click.option("--all", "everything", is_flag=True, help="Also those held for less than the wait.")
@pass_ctx
def entities_force_held(ctx: Context, everything: bool) -> None:
    """Apply offline updates still waiting for their predecessor (the workers do it by themselves
    after KHUDAN_ENTITY_BACKLOG_DAYS)."""
    wait = dt.timedelta(0) if everything else dt.timedelta(days=ctx.settings.entity_backlog_days)
    with ctx.db.write_lock(), ctx.db.session() as session:
        forced = entity_updates.process_backlog(session, wait)
        session.commit()
    click.echo(f"{forced} held update(s) applied")


def _admin(session):
    """Any enabled admin: the CLI runs with the machine's rights, as an admin would."""
    found = session.scalar(
        select(User).where(User.role == Role.ADMIN, User.enabled.is_(True)).order_by(User.id)
    )
    if found is None:
        raise click.ClickException("no admin user yet: run 'khudan users create' first")
    return found


@main.group("facts")
def facts_group() -> None:
    """Per-household facts derived from the domain forms."""


@facts_group.command("rebuild")
@click.option(
    "--form",
    "form_id",
    type=click.Choice(DOMAIN_FORMS),
    help="Only this form (default: all domain forms).",
)
@click.option("--period", help="Only this period, e.g. 2026.")
@pass_ctx
def facts_rebuild(ctx: Context, form_id: str | None, period: str | None) -> None:
    """Recompute facts from the stored submissions after a rule or registry change."""
    with click.progressbar(length=1, label="Rebuilding facts", show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        derived = facts.rebuild(ctx.db, form_id=form_id, period=period, progress=progress)
    click.echo(f"{derived} household fact(s) derived")


@main.group("reports")
def reports_group() -> None:
    """Results per area and period."""


PERIOD_OPTION = click.option(
    "--period", required=True, help="A year (2026) or a half-year (2026-H1)."
)
AREA_OPTION = click.option("--area", "area_code", help="An area code (default: every province).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
COUNTS_OPTION = click.option(
    "--counts",
    type=click.Choice(["all", "approved"]),
    default="all",
    show_default=True,
    help="All non-rejected submissions, or approved ones only.",
)
DIALECT_OPTION = click.option(
    "--dialect",
    type=click.Choice(("standard", "excel-vn")),
    default="standard",
    show_default=True,
    help="For CSV: excel-vn writes semicolons and decimal commas, as Excel set to Vietnamese opens.",
)


def output_option(what: str = "The file to write."):
    return click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help=what,
    )


@reports_group.command("poverty")
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@JSON_OPTION
@pass_ctx
def reports_poverty(
    ctx: Context, period: str, area_code: str | None, counts: str, as_json: bool
) -> None:
    """Poor, near-poor, medium and not-poor households per area, with the areas below."""
    # On a terminal only: a province of a million households takes most of a second.
    bar = click.progressbar(
        length=reports.POVERTY_STEPS,
        label="Đang tổng hợp",
        file=sys.stderr,
        hidden=not sys.stderr.isatty(),
    )
    with ctx.db.session() as session, bar:
        body = reports.poverty_summary(
            session,
            Scope(everything=True),
            period,
            area_code,
            depth=1,
            progress=lambda done, _total: bar.update(done - bar.pos),
        )
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    rows = []
    for node in body["areas"]:
        for item, indent in [(node, ""), *((c, "  ") for c in node.get("children", []))]:
            f = item[counts]
            rows.append(
                (
                    indent + item["code"],
                    item["name"],
                    str(f["reviewed"]),
                    *(str(f["classes"][c]) for c in reports.CLASSES),
                    _percent(f["rates"]["poor"]),
                    str(f["rate_base"]["households"] or "-"),
                    str(f["rate_base"]["units_left_out"]),
                )
            )
    click.echo(f"Kỳ {period} ({'đã duyệt' if counts == 'approved' else 'không bị từ chối'})")
    _table(
        (
            "AREA",
            "NAME",
            "REVIEWED",
            "POOR",
            "NEAR_POOR",
            "MEDIUM",
            "NOT_POOR",
            "POOR %",
            "OF HOUSEHOLDS",
            "UNITS LEFT OUT",
        ),
        rows,
    )
    click.echo(
        "POOR % is of the registry's households of the units that have a count (OF HOUSEHOLDS); "
        "UNITS LEFT OUT have none and are not in the rate."
    )


@reports_group.command("transitions")
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@JSON_OPTION
@click.option("--households", is_flag=True, help="List the households behind each number.")
@pass_ctx
def reports_transitions(
    ctx: Context, period: str, area_code: str | None, counts: str, as_json: bool, households: bool
) -> None:
    """Household by household against the previous period, in the official categories."""
    with ctx.db.session() as session:
        body = reports.transitions(
            session, Scope(everything=True), period, area_code, counts, households
        )
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    click.echo(f"Kỳ {body['previous_period']} → {body['period']}")
    for cls, moves in reports.TRANSITIONS.items():
        _table(
            ({"poor": "HỘ NGHÈO", "near_poor": "HỘ CẬN NGHÈO"}[cls], "SỐ HỘ"),
            [(f"{sign} {vi}".strip(), str(body[cls][key])) for key, vi, _en, sign in moves],
        )
        if households:
            for key, vi, _en, _sign in moves:
                for h in body["households"][cls][key]:
                    click.echo(
                        f"  {vi}: {h['household_code']} {h['head_name'] or ''} ({h['area_code']})"
                    )


@reports_group.command("cultural-family")
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@JSON_OPTION
@pass_ctx
def reports_cultural_family(
    ctx: Context, period: str, area_code: str | None, counts: str, as_json: bool
) -> None:
    """ "Gia đình văn hóa" per thôn under its commune: assessed, earned, rate, the thôn's title."""
    with ctx.db.session() as session:
        body = reports.cultural_family_summary(
            session, Scope(everything=True), period, area_code, 4
        )
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    click.echo(f"Kỳ {period}")
    _table(
        ("AREA", "NAME", "ASSESSED", "EARNED", "RATE %", "DISQUALIFIED", "THON TITLE"),
        [
            (code, name, assessed, earned, _blank(rate), dq, _blank(title))
            for code, name, _lvl, _total, assessed, earned, rate, _f, dq, _why, _share, title in (
                exports.cultural_family_rows(body, counts)
            )
        ],
    )


@reports_group.command("satisfaction")
@PERIOD_OPTION
@AREA_OPTION
@JSON_OPTION
@pass_ctx
def reports_satisfaction(ctx: Context, period: str, area_code: str | None, as_json: bool) -> None:
    """Per criteria set and thôn: respondents, agreement, participation, pass or not."""
    with ctx.db.session() as session:
        body = reports.satisfaction_summary(session, Scope(everything=True), period, area_code, 4)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    sets = exports.satisfaction_sets(body)
    if not sets:
        click.echo(f"Kỳ {period}: chưa có phiếu khảo sát / no survey answered")
    for criteria_set in sets:
        click.echo(f"Kỳ {period} — {criteria_set.name_vi}")
        _table(
            ("AREA", "NAME", "RESPONDENTS", "AGREE", "AGREE %", "PARTICIPATION %", "RESULT"),
            [
                (row[0], row[1], *(_blank(v) for v in row[4:8]), _blank(row[9]))
                for row in exports.satisfaction_rows(body, criteria_set)
            ],
        )


@reports_group.command("file")
@click.argument("kind", type=click.Choice(REPORT_KINDS))
@PERIOD_OPTION
@AREA_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="xlsx", show_default=True
)
@COUNTS_OPTION
@DIALECT_OPTION
@output_option()
@pass_ctx
def reports_file(
    ctx: Context,
    kind: str,
    period: str,
    area_code: str | None,
    fmt: str,
    counts: str,
    dialect: str,
    output: Path,
) -> None:
    """The table of KIND as the API's XLSX or CSV file: a row per thôn, subtotals, totals."""
    with ctx.db.session() as session:
        made = report_files.report_file(
            session, None, kind, fmt, period, area_code, counts, dialect
        )
        session.commit()
    body = made.body.encode() if isinstance(made.body, str) else made.body
    output.write_bytes(body)
    click.echo(f"{output}: {len(body)} bytes")


def _blank(value) -> str:
    return "-" if value is None else str(value)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}"


@reports_group.command("official")
@click.argument("table", type=click.Choice(OFFICIAL_TABLES))
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(("xlsx", "csv", "json")), default="xlsx", show_default=True
)
@DIALECT_OPTION
@output_option("The file to write.")
@pass_ctx
def reports_official(
    ctx: Context,
    table: str,
    period: str,
    area_code: str | None,
    counts: str,
    fmt: str,
    dialect: str,
    output,
) -> None:
    """One official table (biểu số N) as an officer files it."""
    _write_official(ctx, table, fmt, period, area_code, counts, output, dialect)


@reports_group.command("pack")
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@output_option("The workbook to write.")
@pass_ctx
def reports_pack(ctx: Context, period: str, area_code: str | None, counts: str, output) -> None:
    """Every official table in one workbook, a sheet per table."""
    _write_official(ctx, "pack", "xlsx", period, area_code, counts, output)


def _write_official(ctx, table, fmt, period, area_code, counts, output, dialect="standard"):
    with ctx.db.session() as session:
        file = report_files.official_file(
            session, None, table, fmt, period, area_code, counts, dialect
        )
        session.commit()
    body = file.body.encode("utf-8") if isinstance(file.body, str) else file.body
    output.write_bytes(body)
    click.echo(f"Wrote {output} ({len(body):,} bytes)")


@reports_group.command("chart")
@click.argument("kind", type=click.Choice(CHART_KINDS))
@PERIOD_OPTION
@AREA_OPTION
@COUNTS_OPTION
@click.option(
    "--width",
    type=click.IntRange(CHART_WIDTHS[0], CHART_WIDTHS[2]),
    default=CHART_WIDTHS[1],
    show_default=True,
    help="Image width in pixels.",
)
@output_option("The PNG file to write.")
@pass_ctx
def reports_chart(
    ctx: Context,
    kind: str,
    period: str,
    area_code: str | None,
    counts: str,
    width: int,
    output: Path,
) -> None:
    """A PNG chart: poverty-rate (per area below), deprivation, or change over periods."""
    charts.use_config_dir(ctx.settings.instance_dir / "matplotlib")
    with ctx.db.session() as session:
        png = charts.chart_png(
            session, Scope(everything=True), kind, period, area_code, counts, width
        )
    output.write_bytes(png)
    click.echo(f"{output}: {len(png)} bytes")


@main.group("export")
def export_group() -> None:
    """Files people use: every submission of a form as XLSX, CSV or a ZIP with the photos."""


@export_group.command("submissions")
@click.argument("form_id")
@click.option(
    "--format", "kind", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True
)
@click.option(
    "--labels",
    type=click.Choice(LABEL_CHOICES),
    default="values",
    show_default=True,
    help="values: choice values and column names; vi or en: labels and question headers.",
)
@click.option("--period", help="Only this period, e.g. 2026.")
@click.option("--area", help="Only inside this area (province, commune or thôn code).")
@click.option(
    "--state", type=click.Choice([s.value for s in ReviewState]), help="Only this review state."
)
@click.option("--repeat", help="CSV: the table of this repeat group instead of the main one.")
@click.option("--attachments", is_flag=True, help="A ZIP of the file(s) and the photos.")
@output_option("The file to write (written beside it first, then renamed).")
@pass_ctx
def export_submissions(
    ctx: Context,
    form_id: str,
    kind: str,
    labels: str,
    period: str | None,
    area: str | None,
    state: str | None,
    repeat: str | None,
    attachments: bool,
    output: Path,
) -> None:
    """Export the submissions of FORM_ID (all areas), as the REST API does for an admin."""
    try:
        submission_export.check_repeat(repeat, kind, attachments)
    except errors.Problem as problem:
        raise click.UsageError(f"--repeat: {problem.details['errors']['repeat'][0]}") from None
    options = submission_export.Options(labels, period, area, state)
    db = ctx.db
    with db.session() as session:
        export = submission_export.prepare(session, select(Submission), form_id, options)
        table = export.table_index(repeat)
    partial = output.with_name(output.name + ".part")
    progress_bar = click.progressbar(
        length=max(export.total, 1),
        label=f"Exporting {export.total} submission(s)",
        show_pos=True,
        file=sys.stderr,
    )
    try:
        with progress_bar as bar, partial.open("wb") as out:

            def progress(done: int, total: int) -> None:
                bar.update(done - bar.pos)

            rows = submission_export.rows(db, export, typed=kind == "xlsx", progress=progress)
            if kind == "xlsx" and not attachments:
                submission_export.write_xlsx(export, rows, out)
            elif kind == "csv" and not attachments:
                out.writelines(submission_export.csv_chunks(export, rows, table))
            else:
                if kind == "csv":
                    files = submission_export.csv_members(export, rows)
                else:
                    workbook = submission_export.workbook_file(export, rows)
                    files = [submission_export.workbook_member(workbook, export)]
                out.writelines(submission_export.zip_chunks(db, ctx.storage, export, files))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    with db.session() as session:
        submission_export.record(session, None, export, kind, attachments, repeat)
        session.commit()
    click.echo(f"{output}: {export.total} submission(s), {output.stat().st_size} bytes")


@main.group("photos")
def photos_group() -> None:
    """Photo checks and thumbnails of submission files."""


@photos_group.command("backfill")
@pass_ctx
def photos_backfill(ctx: Context) -> None:
    """Check files stored before photo checks existed (what they are, EXIF, thumbnails)."""
    policy = photo_checks.Policy.from_settings(ctx.settings)
    done = photo_checks.backfill(ctx.db, ctx.storage, policy)
    click.echo(f"Checked {done} file(s)")


@main.group("forms")
def forms_group() -> None:
    """XLSForms: save drafts, publish and list."""


@forms_group.command("publish")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--skip-validate", is_flag=True, help="Do not run ODK Validate (JavaRosa).")
@pass_ctx
def forms_publish(ctx: Context, files: tuple[Path, ...], skip_validate: bool) -> None:
    """Convert XLSForms with pyxform, check them with ODK Validate and publish new versions."""
    failed = _publish_all(ctx, list(files), skip_validate=skip_validate)
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} form(s) were not published")


@forms_group.command("draft")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--skip-validate", is_flag=True, help="Do not run ODK Validate (JavaRosa).")
@pass_ctx
def forms_draft(ctx: Context, files: tuple[Path, ...], skip_validate: bool) -> None:
    """Save XLSForms as their forms' drafts: phones keep the published version until
    `khudan forms publish-draft FORM_ID`; the draft's page and test link show what changes."""
    validate = ctx.settings.odk_validate and not skip_validate
    failed = 0
    for path in files:
        try:
            xml, warnings, data, media = forms.read_xlsform(path, ctx.settings.xlsx_limits)
            draft = drafts.save(
                ctx.db,
                ctx.storage,
                xml=xml,
                xlsx=data,
                media=media,
                warnings=warnings,
                validate=validate,
            )
        except errors.Problem as problem:
            failed += 1
            click.echo(f"{path.name}: {problem.message_en}", err=True)
            continue
        for warning in draft.findings:
            click.echo(f"{path.name}: warning: {warning}", err=True)
        with ctx.db.session() as session:
            changes = drafts.summary(session, drafts.get(session, draft.form_id)).changes
        click.echo(
            f"{path.name}: {draft.form_id} version {draft.version!r}: draft saved "
            f"({len(changes.added)} added, {len(changes.removed)} removed, "
            f"{len(changes.changed)} changed); test link path /test/{draft.token}"
        )
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} draft(s) were not saved")


@forms_group.command("publish-draft")
@click.argument("form_id")
@pass_ctx
def forms_publish_draft(ctx: Context, form_id: str) -> None:
    """Publish a form's draft: phones get it, its test submissions are deleted."""
    try:
        result = drafts.publish(ctx.db, ctx.storage, form_id, None)
    except errors.Problem as problem:
        raise click.ClickException(problem.message_en) from None
    for name in result.missing_media:
        click.echo(f"{form_id}: media not provided yet: {name}", err=True)
    click.echo(f"{form_id} version {result.version!r}: published")


@forms_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def forms_list(ctx: Context, as_json: bool) -> None:
    """List forms with their current version, state and number of submissions."""
    with ctx.db.session() as session:
        if as_json:
            click.echo(
                json.dumps(
                    api_schemas.FormSchema(many=True).dump(forms.list_forms(session)), indent=2
                )
            )
            return
        counts = dict(
            session.execute(
                select(Submission.form_pk, func.count()).group_by(Submission.form_pk)
            ).all()
        )
        nversions = dict(
            session.execute(
                select(FormVersion.form_pk, func.count()).group_by(FormVersion.form_pk)
            ).all()
        )
        rows = []
        for form in session.scalars(select(Form).order_by(Form.form_id)):
            current = form.current_version
            rows.append(
                (
                    form.form_id,
                    current.version if current else "-",
                    form.state,
                    str(nversions.get(form.id, 0)),
                    str(counts.get(form.id, 0)),
                    current.title if current else "",
                )
            )
    _table(("FORM", "VERSION", "STATE", "VERSIONS", "SUBMISSIONS", "TITLE"), rows)


def _publish_all(ctx: Context, paths: list[Path], skip_validate: bool = False) -> int:
    """Publish each file, printing warnings and errors; return how many failed."""
    failed = 0
    validate = ctx.settings.odk_validate and not skip_validate
    for path in paths:
        try:
            result = forms.publish_xlsform(
                ctx.db, ctx.storage, path, validate=validate, limits=ctx.settings.xlsx_limits
            )
        except errors.Problem as problem:
            failed += 1
            click.echo(f"{path.name}: {problem.message_en}", err=True)
            continue
        for warning in result.warnings:
            click.echo(f"{path.name}: warning: {warning}", err=True)
        if result.missing_media:
            click.echo(
                f"{path.name}: media not provided yet: {', '.join(result.missing_media)}", err=True
            )
        click.echo(f"{path.name}: {result.form_id} version {result.version!r}: {result.status}")
    return failed


def _table(header: tuple[str, ...], rows: list[tuple]) -> None:
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    for row in (header, *rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _default_url() -> str:
    try:
        host = socket.gethostbyname(socket.gethostname())
    except OSError:
        host = "127.0.0.1"
    return f"http://{host}:8080"
