"""A private copy of the packaged rule files, for tests that add or break a rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from khudan.domain.ruledata import RULES_DIR


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    return Path(shutil.copytree(RULES_DIR, tmp_path / "rules"))
