"""The app factory: the one place the application is assembled."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, central, headers, health, hosts, messages, openrosa, web
from .config import Settings, from_env
from .db import Database
from .request import Request
from .runtime import Runtime
from .services import charts, jobs
from .storage import Storage, open_storage


def create_app(
    settings: Settings | None = None, db: Database | None = None, storage: Storage | None = None
) -> Flask:
    settings = settings or from_env()
    app = Flask(__name__, static_folder=None)
    app.request_class = Request
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    hosts.init_app(app, settings.allowed_hosts)
    headers.init_app(app)
    charts.use_config_dir(settings.instance_dir / "matplotlib")
    storage = storage or open_storage(settings.storage_url, settings.media_root)
    db = db or Database(settings.database_url)
    queue = jobs.Queue(jobs.Context.of(settings, db, storage), inline=settings.process_inline)
    Runtime(settings, db, storage, queue).init_app(app)
    if settings.worker_threads:
        queue.start(settings.worker_threads)
        app.wsgi_app = queue.requests.middleware(app.wsgi_app)
    openrosa.init_app(app)
    api.init_app(app)
    central.init_app(app)
    web.init_app(app)
    messages.init_app(app)
    health.init_app(app)
    if settings.bench_endpoint:
        from . import bench_endpoint

        app.register_blueprint(bench_endpoint.bp)
    return app
