"""Shared fixtures. Real data comes from ../shared/data (never copied into the repo)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"real data missing: expected ../shared/data at {SHARED}")
    return SHARED


@pytest.fixture
def tmp_db(tmp_path) -> Path:
    """A path for a fresh warehouse file (created on first write)."""
    return tmp_path / "w.duckdb"
