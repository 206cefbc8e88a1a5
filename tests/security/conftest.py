"""The security tests log in through the real pages as the page tests do."""

from web.conftest import csrf_of, web_login  # noqa: F401 (fixtures shared with tests/web)
