"""System programs some tests need, and the Debian package that brings each.

Without one, such tests skip with a reason that names the package; ``.ci/run`` sets
``KHUDAN_REQUIRE_SYSTEM_TOOLS=1``, which makes a missing program a failure, so CI runs everything.
Mark a test ``@pytest.mark.needs("java")`` (tests/conftest.py reads the mark), or call ``need``.
"""

from __future__ import annotations

import os
import shutil

import pytest

SYSTEM_TOOLS = {
    "java": ("java", "default-jre-headless"),  # ODK Validate (JavaRosa) in pyxform's wheel
    "jdk": ("javac", "default-jdk-headless"),  # the JavaRosa test driver tests/clients/JrFill.java
    "chromium": ("/usr/bin/chromium", "chromium"),  # the browser tests (Playwright)
}


def need(tool: str) -> None:
    """Skip (or, with KHUDAN_REQUIRE_SYSTEM_TOOLS=1, fail) unless ``tool`` is installed."""
    command, package = SYSTEM_TOOLS[tool]
    if shutil.which(command) or os.path.exists(command):
        return
    message = f"{command} is not installed: apt-get install {package}"
    if os.environ.get("KHUDAN_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{message} (KHUDAN_REQUIRE_SYSTEM_TOOLS=1 makes it required)")
    pytest.skip(message)
