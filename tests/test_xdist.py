"""`make test` runs pytest -n auto --dist loadgroup: tests/conftest.py's scheduler gives a worker a whole group at a
time: a test file, or BROWSER (every file with a browser test, one after another)."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BROWSER, browser_files, xdist_group

ROOT = Path(__file__).resolve().parent.parent


class _Items:
    def pytest_collection_finish(self, session):
        self.items = list(session.items)


def test_every_browser_test_is_in_the_browser_group():
    browser = browser_files()
    assert {"test_e2e_browser.py", "test_export.py", "test_upload.py"} <= browser and "test_docs.py" not in browser
    got = _Items()
    assert pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-m", "browser", "tests"],
                       plugins=[got]) == 0
    assert got.items and {xdist_group(i.nodeid, browser) for i in got.items} == {BROWSER}
    assert xdist_group("tests/test_docs.py::test_x[a::b]", browser) == "test_docs.py"


def test_each_group_runs_on_one_worker():
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
                        "-v", "tests/test_docs.py", "tests/test_records.py"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    workers = {}
    for line in r.stdout.splitlines():
        if " PASSED " in line and line.startswith("[gw"):     # [gw0] [ 5%] PASSED tests/test_docs.py::test_x
            workers.setdefault(line.split()[-1].split("::")[0], set()).add(line.split()[0])
    assert set(workers) == {"tests/test_docs.py", "tests/test_records.py"}
    assert all(len(w) == 1 for w in workers.values()), workers
