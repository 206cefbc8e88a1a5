"""JavaRosa, the form engine inside ODK Collect, filling in forms for tests (tests/clients/JrFill.java).

The JavaRosa used is the one pyxform ships in ODK_Validate.jar. ``compile_jrfill`` runs ``javac``
once per session (a JDK is required); ``fill`` then answers a form's
questions through JavaRosa and returns the submission XML exactly as JavaRosa serialises it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pyxform.validators.odk_validate import ODK_VALIDATE_PATH

JAR = Path(ODK_VALIDATE_PATH)
SOURCE = Path(__file__).with_name("JrFill.java")

_classes: Path | None = None


class JavaRosaRefused(Exception):
    """JrFill exited non-zero: JavaRosa refused an answer (2) or to finalize the form (3)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"JrFill exited {status}: {message}")
        self.status = status


def compile_jrfill(out_dir: Path) -> Path:
    """Compile JrFill.java into ``out_dir``, once per session; the directory of its classes."""
    global _classes
    if _classes is None:
        javac = shutil.which("javac")
        # No skip: a test suite that silently stops checking JavaRosa would pass while proving less.
        assert javac is not None, "javac not found: install a Java 17+ JDK (default-jdk-headless)"
        done = subprocess.run(
            [javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(out_dir), str(SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        _classes = out_dir
    return _classes


def fill(form_xml: bytes, answers: dict[str, object], media_dir: Path | str | None = None) -> bytes:
    """Fill ``form_xml`` with ``answers`` (``{"member#": 2, "member[1]/m_name": "An"}``) in JavaRosa.

    ``media_dir`` holds the form's media (e.g. the CSV of a select_one_from_file). Returns the
    submission XML; raises JavaRosaRefused when JavaRosa refuses an answer or to finalize.
    """
    assert _classes is not None, "call compile_jrfill(tmp dir) first"
    with tempfile.TemporaryDirectory(prefix="jrfill-") as tmp:
        form = Path(tmp) / "form.xml"
        form.write_bytes(form_xml)
        args = ["java", "-cp", os.pathsep.join([str(JAR), str(_classes)]), "JrFill"]
        if media_dir is not None:
            args += ["--media", str(media_dir)]
        args.append(str(form))
        args += [f"{path}={value}" for path, value in answers.items()]
        # The JVM decodes its arguments with the locale's charset: make it UTF-8.
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        done = subprocess.run(args, capture_output=True, env=env, timeout=60, check=False)
    if done.returncode != 0:
        raise JavaRosaRefused(done.returncode, done.stderr.decode("utf-8", "replace").strip())
    return done.stdout
