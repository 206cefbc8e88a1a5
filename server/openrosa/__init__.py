"""OpenRosa for ODK Collect: form list, form and media download, manifest, submission."""

from flask import Flask

from . import draft_test
from .routes import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The same endpoints behind an app-user token, for phones configured by QR code.
    app.register_blueprint(bp, url_prefix="/key/<token>", name="openrosa_key")
    # A draft's test link: the draft only, test submissions kept apart.
    app.register_blueprint(draft_test.bp)
