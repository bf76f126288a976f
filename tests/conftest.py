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


@pytest.fixture(scope="session")
def app_db(shared, tmp_path_factory) -> Path:
    """The demo warehouse (`python -m pipeline demo`: every real trace set) for the app, the browsing queries and
    export tests. Session-wide: read it, never write to it. Built once per run: under xdist the first worker
    that needs it builds it in the run's shared temporary folder while the others wait for it."""
    import fcntl
    import os

    from pipeline.ingest import demo

    root = tmp_path_factory.getbasetemp()
    folder = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "appdb"
    folder.mkdir(exist_ok=True)
    path = folder / "demo.duckdb"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            demo.build(path, str(shared), workers=1)
            (folder / ".built").touch()
    return path


@pytest.fixture(scope="session")
def sky14(shared, tmp_path_factory) -> Path:
    """One real trace file imported (Sky-T1-math-correct-5K-14B on AIME24: 30 trajectories, long ones with
    answer timelines read by hand in the timeline tests). Session-wide: read it, never write to it."""
    from pipeline.ingest.session import ImportSession

    path = tmp_path_factory.mktemp("sky14") / "sky14.duckdb"
    ImportSession(path, shared).import_path(shared / "traces" / "skythought-aime24" /
                                            "Sky-T1-math-correct-5K-14B.jsonl", "qwen-eval", "aime24")
    return path


# Small real warehouses for the analysis tests (tests/analysis_fixtures.py builds and caches them).
@pytest.fixture(scope="session")
def aime_problems(shared) -> list[dict]:
    """The 30 AIME 2024 problems as problems.jsonl gives them (id, problem, answer, ...)."""
    import json

    return [json.loads(line) for line in open(shared / "aime24" / "problems.jsonl", encoding="utf-8")]


@pytest.fixture(scope="module")
def aime(shared):
    """The 19 skythought AIME24 models, one sample each, as a read-only connection."""
    from analysis_fixtures import cached
    from warehouse import db

    with db.reader(cached("aime", shared)) as con:
        yield con


@pytest.fixture(scope="module")
def maj8(shared):
    """The 8-sample MATH set (qwen25math-maj8), as a read-only connection."""
    from analysis_fixtures import cached
    from warehouse import db

    with db.reader(cached("maj8", shared)) as con:
        yield con


# The tiny warehouse (tests/tiny.py): built by the tests themselves through the real import, no ../shared.
@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    """Its file (session-wide: read it, never write to it)."""
    from tiny import build

    return build(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny(tiny_db):
    """3 models (2 groups, sft_size), 4 questions, 1 to 4 samples each, as a read-only connection."""
    from warehouse import db

    with db.reader(tiny_db) as con:
        yield con


# Tests that need ../shared/data: every test using one of these fixtures (directly or through other
# fixtures) is marked `data`, so `pytest -m "not data"` runs what a checkout alone can run. A test that
# reads ../shared without them carries @pytest.mark.data itself.
DATA_FIXTURES = frozenset({"shared", "app_db", "aime", "maj8"})


@pytest.hookimpl(tryfirst=True)     # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


# `make test` runs the tests in parallel (pytest -n auto --dist loadgroup, pytest-xdist): a worker takes a whole
# group at a time. Each test file is its own group (its module fixtures are built once), and every file with a
# browser test is in BROWSER (a Streamlit server and a Chromium each, timed waits: one after another). The
# groups are made here, by the scheduler: xdist 3.8's own `xdist_group` marks are lost under pytest 9 (it
# renames `item._nodeid`, which pytest 9 no longer reads).
BROWSER = "browser"
TESTS = Path(__file__).resolve().parent


def browser_files() -> frozenset[str]:
    """The test files holding a test marked `browser` (on the test, its class or the module)."""
    return frozenset(p.name for p in TESTS.glob("test_*.py") if "mark.browser" in p.read_text(encoding="utf-8"))


def xdist_group(nodeid: str, browser: frozenset[str]) -> str:
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return BROWSER if name in browser else name


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    browser = browser_files()

    class Groups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid, browser)

    return Groups(config, log)


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Put ``sys.modules["__main__"]`` back after each test: an AppTest run leaves it set to its temporary script,
    and a later test in the same process that starts a worker (multiprocessing's spawn re-imports ``__main__``
    by its file) ran that script there: ``NameError: __args`` (test_presentation's AppTest.from_function, then
    test_report_html's import of hostile traces)."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
