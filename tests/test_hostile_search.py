"""Hostile input to the search (issue 23): a full-text index damaged under a running process, bad
command-line text and limits, words too long for tantivy's patterns. Every case either answers with
the scan's own hits or is one line with status 2; no process dies, no traceback.

The warehouse is the tiny one (tests/tiny.py) copied with its index, plus one model whose responses
hold 20,000-character words, imported through the real command."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli
from warehouse import db, search, textindex
from warehouse.filters import Selection

REPO = Path(__file__).resolve().parent.parent
SEL = Selection("tiny")
LONG = ["A run " + "ab" * 10_000 + " ends here, so \\boxed{5}",
        "i" * 20_000 + " \\boxed{5}",
        "digits " + "1234567890" * 2_000 + "77 end \\boxed{5}"]
LONG_QUERIES = ["ab" * 10_000, "b" + "ab" * 9_998 + "a", "run " + "ab" * 10_000 + " ends", "i" * 20_000,
                "I" * 20_000, "67890" + "1234567890" * 1_999 + "77 end", "x" * 20_000]
TEXTS = ["step by step", "sample 1 of q1", "work it out", "Therefore the final", "boxed{5}"]


def _copy(tiny_db: Path, folder: Path) -> Path:
    """A writable copy of the tiny warehouse and its full-text index."""
    path = folder / "w.duckdb"
    shutil.copy(tiny_db, path)
    shutil.copytree(textindex.index_dir(tiny_db), textindex.index_dir(path))
    return path


@pytest.fixture
def wh(tiny_db, tmp_path) -> Path:
    """A copy of tiny with its index, never opened by this process yet."""
    path = _copy(tiny_db, tmp_path)
    assert json.loads((textindex.index_dir(path) / "ladder.json").read_text())["version"] == textindex.INDEX_VERSION
    return path


@pytest.fixture(scope="module")
def long_db(tiny_db, tmp_path_factory) -> Path:
    """Tiny plus a model whose responses hold 20,000-character words (the import indexes them)."""
    from tiny import QUESTIONS

    folder = tmp_path_factory.mktemp("long")
    path = _copy(tiny_db, folder)
    f = folder / "long.jsonl"
    f.write_text("".join(json.dumps({"model": "long-words", "question_id": q, "problem": QUESTIONS[q][0],
                                     "answer": QUESTIONS[q][1], "sample_idx": 0, "response": r}) + "\n"
                         for q, r in zip(QUESTIONS, LONG)), encoding="utf-8")
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "tiny", "--data-dir", str(folder),
                     "--db", str(path), str(f)]) == 0
    return path


def _ids(found) -> list[int]:
    return [] if found.hits.is_empty() else found.hits["trajectory_id"].to_list()


def _pipeline(*args, db_path: Path) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS --db PATH` in a fresh process; ARGS may be bytes (argv as the shell passes it)."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--db", str(db_path)], cwd=REPO,
                          capture_output=True, text=True, errors="replace", timeout=300)


def _one_line_error(proc, *words) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and all(w in proc.stderr for w in words), proc.stderr


# ---- the command line --------------------------------------------------------------------------

def test_text_that_is_not_utf8_is_one_line(wh):
    _one_line_error(_pipeline("search", b"\xff\xfe", db_path=wh), "not valid UTF-8", "0xff", "character 1")
    _one_line_error(_pipeline("search", b"step \xe9", db_path=wh), "0xe9", "character 6")
    with db.reader(wh) as con:                       # the function itself: the same error, not DuckDB's
        with pytest.raises(search.SearchError, match="U\\+D800"):
            search.find(con, SEL, "step \ud800", 10)


@pytest.mark.parametrize("limit", ["99999999999999999999", "1000001", "0", "-3"])
def test_limit_out_of_range_is_one_line(wh, limit):
    _one_line_error(_pipeline("search", "step", "--limit", limit, db_path=wh), f"--limit {limit}", "1,000,000")


def test_a_limit_at_the_cap_works(wh):
    proc = _pipeline("search", "step by step", "--limit", "1000000", "--json", db_path=wh)
    assert proc.returncode == 0, proc.stderr
    with db.reader(wh) as con:
        want = _ids(search.find(con, SEL, "step by step", 1_000_000, use_index=False))
    assert [h["trajectory_id"] for h in json.loads(proc.stdout)["hits"]] == want and len(want) > 20


def test_words_of_20000_characters_are_looked_up_like_the_scan(long_db):
    """tantivy compiles a pattern into at most 1,000 states: a long word is looked up by a part of
    it, and the hits are the scan's (found: the responses that hold the word)."""
    with db.reader(long_db) as con:
        for text in LONG_QUERIES:
            got, want = search.find(con, SEL, text, 50), search.find(con, SEL, text, 50, use_index=False)
            assert got.mode == "index", (text[:20], got.note)
            assert got.hits.equals(want.hits), text[:20]
        assert len(_ids(search.find(con, SEL, "ab" * 10_000, 50))) == 1
        assert len(_ids(search.find(con, SEL, "i" * 20_000, 50))) == 1
    proc = _pipeline("search", "b" + "ab" * 9_998 + "a", "--json", db_path=long_db)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert [h["model_id"] for h in json.loads(proc.stdout)["hits"]] == ["long-words"]
    proc = _pipeline("search", "x" * 20_000, db_path=long_db)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert proc.stdout.startswith("no response contains 'xxxx") and len(proc.stdout) < 200


# ---- a damaged index ---------------------------------------------------------------------------

_CHILD = """
import json, os, sys
from warehouse import db, search, textindex
from warehouse.filters import Selection
path, texts, damage = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
sel, out = Selection("tiny"), {}
ids = lambda f: [] if f.hits.is_empty() else f.hits["trajectory_id"].to_list()
with db.reader(path) as con:
    first = search.find(con, sel, "step by step", 100)
    out["first"] = first.mode
    d = textindex.index_dir(path)
    for f in sorted(d.iterdir()):         # every segment file, in place, while this process has it mapped
        if len(f.name.split(".")[0]) == 32:
            if damage == "truncate":
                os.truncate(f, 0)
            else:
                data = bytearray(f.read_bytes())
                data[len(data) // 2:] = bytes(b ^ 0x5A for b in data[len(data) // 2:])
                with open(f, "r+b") as h:
                    h.write(data)
    print("damaged", file=sys.stderr, flush=True)
    for t in texts:
        got, want = search.find(con, sel, t, 100), search.find(con, sel, t, 100, use_index=False)
        out[t] = [got.mode, ids(got), ids(want)]
print(json.dumps(out))
"""


def _damage_in_a_running_process(path: Path, damage: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), json.dumps(TEXTS), damage], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    # a process killed by a signal (SIGBUS: a mapped file truncated) has a negative status
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    assert "damaged" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_an_index_damaged_under_a_running_process(wh, damage):
    """Segment files truncated (or overwritten) while a process has the index open: the process lives
    on and its searches return the scan's hits. A process started afterwards finds the damage (the
    written sizes and checksums) and scans; a sync rebuilds the index."""
    out = _damage_in_a_running_process(wh, damage)
    assert out.pop("first") == "index"
    for text, (mode, got, want) in out.items():
        assert got == want, (text, mode)
    assert len(out["step by step"][2]) > 20 and len(out["sample 1 of q1"][2]) == 2

    with db.reader(wh) as con:                       # this process opens it after the damage (a new process)
        for text in TEXTS:
            found = search.find(con, SEL, text, 100)
            assert found.mode == "scan" and "damaged" in found.note, found.note
            assert found.hits.equals(search.find(con, SEL, text, 100, use_index=False).hits)
        assert not textindex.status(con).fresh
    rep = textindex.sync(wh)                          # the writer finds the damage too: rebuilt, not reused
    assert rep.rebuilt and rep.total == 27
    with db.reader(wh) as con:
        found = search.find(con, SEL, "sample 1 of q1", 100)
        assert found.mode == "index" and len(_ids(found)) == 2


def test_a_changed_index_is_reopened(wh, tiny_db, tmp_path):
    """A process that holds the index sees a rebuilt one (a new state file), never a mix."""
    with db.reader(wh) as con:
        first = textindex.status(con).index
        assert textindex.status(con).index is first             # reused while the state file is unchanged
    textindex.rebuild(wh)
    with db.reader(wh) as con:
        st = textindex.status(con)
        assert st.fresh and st.index is not first
        assert _ids(search.find(con, SEL, "sample 1 of q1", 100)) == _ids(
            search.find(con, SEL, "sample 1 of q1", 100, use_index=False))


def test_a_state_file_cannot_name_files_outside_the_index(wh):
    d = textindex.index_dir(wh)
    state = json.loads((d / "ladder.json").read_text())
    state["files"]["../w.duckdb"] = [1, 0]
    (d / "ladder.json").write_text(json.dumps(state))
    with db.reader(wh) as con:
        found = search.find(con, SEL, "step by step", 100)
    assert found.mode == "scan" and "not a file of the full-text index" in found.note


# ---- the app -----------------------------------------------------------------------------------

def _shown_hits(page, url: str, text: str) -> list[tuple[str, str, int]]:
    """(model, question, sample) of the hits the Trajectories page lists for ``text``, read from its
    table as a user downloads it (the table's "Download as CSV")."""
    import csv
    import io
    import urllib.parse

    from test_e2e_browser import _idle

    page.goto(f"{url}/trajectories?s={urllib.parse.quote(text)}")
    page.get_by_role("heading", name="Trajectories").first.wait_for(timeout=90_000)
    _idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    tables = page.locator('[data-testid="stDataFrame"]')
    for _ in range(5):            # a table may still be filling when first downloaded
        for i in range(tables.count()):
            tables.nth(i).hover()
            with page.expect_download(timeout=30_000) as dl:
                tables.nth(i).get_by_role("button", name="Download as CSV").click()
            rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
            if rows and ("match" in rows[0] or "snippet" in rows[0]):
                return [(r.get("model") or r["model_id"], r.get("question") or r["question_id"],
                         int(r.get("sample") or r["sample_idx"])) for r in rows]
        page.wait_for_timeout(2000)
    captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    raise AssertionError(f"no table of hits on the page for {text!r}: {captions}")


@pytest.mark.slow
@pytest.mark.browser
def test_the_app_survives_an_index_damaged_mid_session(wh):
    """`streamlit run` over a warehouse, searched in Chromium; every segment file of the index is
    truncated while the server has it open; the server still answers and every next search lists
    the scan's hits."""
    import urllib.request

    from playwright.sync_api import sync_playwright
    from test_e2e_browser import ARGS, CHROMIUM, start_server

    def scan(text):
        with db.reader(wh) as con:
            h = search.find(con, SEL, text, 50, use_index=False).hits
        return [(r["model_id"], r["question_id"], r["sample_idx"]) for r in h.iter_rows(named=True)]

    with start_server(wh) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        ctx.add_init_script("delete window.showSaveFilePicker;")      # the table's CSV comes as a download
        page = ctx.new_page()
        assert _shown_hits(page, url, "sample 0 of q3") == scan("sample 0 of q3") != []
        assert page.get_by_text("Searched without the full-text index").count() == 0     # through the index
        for f in textindex.index_dir(wh).iterdir():
            if len(f.name.split(".")[0]) == 32:
                os.truncate(f, 0)
        for text in ("sample 1 of q1", "work it out", "Therefore the final answer is $\\boxed{5}$"):
            assert _shown_hits(page, url, text) == scan(text) != [], text
        with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
            assert r.status == 200
        browser.close()
