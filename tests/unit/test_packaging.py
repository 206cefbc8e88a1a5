"""khudan installs under one import name: server/ is the package khudan, schemas/ is
khudan.schemas (setup.cfg's package_dir), so no top-level "server" or "schemas" can clash with
another distribution's."""

from __future__ import annotations

import configparser
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def declared() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg["options"]["packages"].split()


def test_every_package_folder_is_installed_under_khudan():
    found = {
        "khudan" + ("." + ".".join(p.parent.relative_to(ROOT / "server").parts)).rstrip(".")
        for p in (ROOT / "server").rglob("__init__.py")
    } | {"khudan.schemas"}
    assert set(declared()) == found


def test_khudan_imports_from_elsewhere_and_server_does_not(tmp_path):
    """From another folder (not the repository root) only the unique name exists."""
    code = (
        "import importlib.util, khudan, khudan.schemas.common, khudan.services.reports;"
        "print(importlib.util.find_spec('server') is None, importlib.util.find_spec('schemas') is None)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True"]
    assert importlib.util.find_spec("khudan.schemas").origin.startswith(str(ROOT / "schemas"))
