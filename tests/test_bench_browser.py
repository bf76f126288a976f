"""The browser benchmark (bench/browser.py) as a smoke test on the tiny warehouse: it serves the app, drives
Chromium through its whole script and prints every action (no timing is asserted: CI machines vary). And
the 10x build's copies (bench/synth.py scale_up): renamed copies merged by import-parquet hold what the
source holds, once per copy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The script's fixed actions (the page visits are named after the navigation's pages)
ACTIONS = ["open the app (first page)", "tier filter", "category filter", "category filter cleared",
           "tier filter cleared", "overlay toggle (Figure 1)", "PNG download", "tab change", "question change",
           "open a trajectory", "next page of steps", "jump to a marked step", "search"]


@pytest.mark.slow
@pytest.mark.browser
def test_browser_benchmark_runs_every_action_on_tiny(tiny_db):
    res = subprocess.run([sys.executable, "-m", "bench.browser", "--db", str(tiny_db), "--repeat", "1", "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    rows = {r["action"]: r for r in out["actions"]}
    assert set(ACTIONS) <= set(rows), set(ACTIONS) - set(rows)
    visits = [a for a in rows if a.startswith("visit ")]
    assert len(visits) >= 7 and any(a.startswith("filter change on ") for a in rows)
    for name, r in rows.items():
        # every action was timed, or says why not; none broke
        assert (r["n"] == 1 and r["median_s"] is not None) or r["note"].startswith("skipped:"), (name, r)
        assert "failed:" not in r["note"], (name, r)
    # what tiny has is timed: its pages, a group filter, a question, a trajectory, a search, a chart download
    for name in ["open the app (first page)", "question change", "open a trajectory", "search", "PNG download",
                 "tab change", *visits]:
        assert rows[name]["median_s"] is not None and rows[name]["cpu_median_s"] is not None, rows[name]
    # what it lacks is skipped with the reason, not crashed on: no tiers, no categories
    for name in ["tier filter", "category filter", "category filter cleared", "tier filter cleared"]:
        assert rows[name]["note"].startswith("skipped:"), rows[name]
    assert out["load_before"] and out["server_rss_mb"] > 0
    table = subprocess.run([sys.executable, "-c", "import json, sys; from bench import browser; "
                            "print(browser.table(json.load(sys.stdin)))"], input=res.stdout, cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert all(f"| {a} |" in table.stdout for a in rows), table.stdout


def test_scale_up_copies_merge_as_distinct_models(shared, tmp_path):
    """Copy k of a synthetic warehouse, merged by import-parquet beside copy 0, is the source under new model
    names: new ids, and per question the same correct counts."""
    sys.path.insert(0, str(REPO))
    from bench import synth
    from bench.__main__ import build
    from warehouse import db, lake_import

    src, _, info = build("tiny", 1500, lambda m: None, cache=tmp_path / "cache", index=False)
    target = tmp_path / "x.duckdb"
    for k in range(2):
        synth.scale_up(src, tmp_path / f"lake{k}", k, 4)
        lake_import.merge(tmp_path / f"lake{k}", target)
    with db.reader(src) as a, db.reader(target) as b:
        n = a.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
        assert n == info["trajectories"]
        ids = b.execute("SELECT count(*), count(DISTINCT trajectory_id) FROM trajectories").fetchall()
        assert ids == [(2 * n, 2 * n)]
        for table in ("grades", "steps", "step_annotations", "trajectory_flags", "step_answers"):
            assert (b.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                    == 2 * a.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]), table
        q = ("SELECT regexp_replace(model_id, 'm0*(\\d+)-', 'm' || (CAST(regexp_extract(model_id, 'm(\\d+)-', 1) "
             "AS INT) % 4) || '-') AS m, question_id, n_correct FROM run_question_stats ORDER BY ALL")
        per_copy = b.execute(q).fetchall()
        assert per_copy[::2] == per_copy[1::2] == a.execute(q).fetchall()
        assert {r[0] for r in b.execute("SELECT model_id FROM models").fetchall()} == {
            synth.copy_model(f"SYNTHETIC-m{m:03d}-s0", k, 4) for m in range(4) for k in range(2)}
    assert os.path.exists(target)


@pytest.mark.slow
def test_import_parquet_takes_a_table_with_over_2_gib_of_text(tiny_db, tmp_path):
    """The 10x build's first copy failed here: a folder whose trajectories hold over 2 GiB of text in one Arrow
    batch ("maximum total string size for regular string buffers"; 57,600 responses of 40,000 characters do).
    Regression: import-parquet merges it (warehouse/lake_import.py: 64-bit string offsets)."""
    import duckdb

    from warehouse import db, lake, lake_import

    folder = tmp_path / "lake"
    with db.reader(tiny_db) as con:
        lake.export(con, folder)
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{folder}/trajectories/*.parquet')").fetchall()[0][0]
    each = 2**31 // n + 1_000_000           # one word per response, over 2 GiB in all
    part = folder / "trajectories" / "data_0.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (repeat('a', {each}) AS response, {each} AS n_chars) "
               f"FROM read_parquet('{part}')) TO '{tmp_path / 'big.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    os.replace(tmp_path / "big.parquet", part)
    target = tmp_path / "w.duckdb"
    (tmp_path / "w.duckdb.search").write_text("")    # no full-text index (minutes for 2 GiB): a warning line
    res = lake_import.merge(folder, target)
    assert res.tables["trajectories"] == (n, n)
    with db.reader(target) as con:
        assert con.execute("SELECT count(*), min(length(response)) FROM trajectories").fetchall() == [(n, each)]
