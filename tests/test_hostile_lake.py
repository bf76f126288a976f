"""Hostile Parquet folders (warehouse.lake): each case is a real export of the tiny warehouse, then
tampered with as a careless copy or a hostile hand would: a required column dropped from a table's
files and the manifest, a truncated file, a file with overwritten pages, a file replaced by a link to one outside the folder, two
files swapped between models, a partial folder left by a killed export. The commands run as a user
runs them (`python -m pipeline ...` in a subprocess): one line `error: ...` naming the file, status
2, no traceback; a failed import-parquet leaves the target warehouse as it was."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from warehouse import db, lake

REPO = Path(__file__).resolve().parent.parent


def _export(src: Path, out: Path, partition: str = "") -> Path:
    argv = ["export-parquet", "--db", str(src), "--out", str(out)] + (["--partition", partition] if partition else [])
    assert main(argv) == 0
    return out


def _cli(*argv: str) -> tuple[int, str]:
    """`python -m pipeline ARGV` as a user runs it: (status, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "LADDER_DB"}
    p = subprocess.run([sys.executable, "-m", "pipeline", *argv], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stderr


def _refused(argv: list[str], *needles: str) -> str:
    rc, err = _cli(*argv)
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, (argv, rc, err)
    for needle in needles:
        assert needle in err, (argv, needle, err)
    return err


def _rewrite(file: Path, sql: str) -> None:
    """Replace a Parquet file by ``sql`` over its rows (table ``f``)."""
    tmp = file.with_name("rewritten.tmp")
    con = duckdb.connect()
    con.execute("CREATE TABLE f AS SELECT * FROM read_parquet(?)", [str(file)])
    con.execute(f"COPY ({sql}) TO ? (FORMAT parquet)", [str(tmp)])
    con.close()
    tmp.replace(file)


def _state(path: Path) -> tuple:
    """Every table's rows and the data version of a warehouse file."""
    with db.reader(path) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        rows = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in names}
    return rows, db.data_version(path)


@pytest.fixture
def target(tmp_path) -> Path:
    """A warehouse file holding something of its own, which a failed import must leave as it was."""
    path = tmp_path / "target.duckdb"
    with db.writer(path) as w:
        w.execute("INSERT INTO meta VALUES ('note', 'mine')")
    return path


def test_a_required_column_missing_from_files_and_manifest_is_refused(tiny_db, tmp_path, target):
    out = _export(tiny_db, tmp_path / "lake")
    _rewrite(out / "grades" / "data_0.parquet", "SELECT * EXCLUDE (is_correct) FROM f")
    m = json.loads((out / "manifest.json").read_text())
    m["tables"]["grades"]["columns"].remove("is_correct")
    (out / "manifest.json").write_text(json.dumps(m))
    before = _state(target)
    _refused(["import-parquet", str(out), "--db", str(target)], f"{out}/manifest.json", "'grades'", "'is_correct'")
    assert _state(target) == before
    _refused(["import-parquet", str(out), "--db", str(tmp_path / "new.duckdb")], "'is_correct'")
    assert not (tmp_path / "new.duckdb").exists()          # refused before a warehouse is created
    # a value the warehouse refuses (NULL in a required column the manifest lists) fails in one line too
    out2 = _export(tiny_db, tmp_path / "lake2")
    _rewrite(out2 / "grades" / "data_0.parquet",
             "SELECT * REPLACE (CASE WHEN trajectory_id = (SELECT max(trajectory_id) FROM f) THEN NULL "
             "ELSE is_correct END AS is_correct) FROM f")
    _refused(["import-parquet", str(out2), "--db", str(target)], f"{out2}/grades", "'grades'", "is_correct")
    assert _state(target) == before


def test_a_truncated_file_is_one_line_naming_it(tiny_db, tmp_path, target):
    out = _export(tiny_db, tmp_path / "lake", "benchmark,model")
    bad = out / "trajectories" / "benchmark=tiny" / "model_id=tiny-sft-b" / "data_0.parquet"
    os.truncate(bad, bad.stat().st_size // 2)      # the last file: DuckDB binds the view on the first
    before = _state(target)
    for argv in (["search", "boxed"], ["stats"], ["models", "list"]):
        _refused([*argv, "--db", str(out)], str(bad), "not a readable Parquet file")
    _refused(["import-parquet", str(out), "--db", str(target)], str(bad))
    assert _state(target) == before
    # pages overwritten, the footer intact: the open's checks pass, the query fails, in one line too
    out2 = _export(tiny_db, tmp_path / "lake2")
    bad = out2 / "trajectories" / "data_0.parquet"
    data = bytearray(bad.read_bytes())
    data[200:len(data) // 2] = b"\xff" * (len(data) // 2 - 200)
    bad.write_bytes(bytes(data))
    _refused(["search", "boxed", "--db", str(out2)], f"{out2}: cannot read the Parquet folder", "damaged")
    _refused(["import-parquet", str(out2), "--db", str(target)], f"{out2}/trajectories: cannot import table")
    assert _state(target) == before


def test_links_that_leave_the_folder_are_refused(tiny_db, tmp_path, target):
    out = _export(tiny_db, tmp_path / "lake")
    other = _export(tiny_db, tmp_path / "elsewhere")
    link = out / "steps" / "data_0.parquet"
    link.unlink()
    link.symlink_to(other / "steps" / "data_0.parquet")
    before = _state(target)
    _refused(["import-parquet", str(out), "--db", str(target)], str(link), "outside the Parquet folder")
    assert _state(target) == before
    _refused(["stats", "--db", str(out)], str(link), "outside the Parquet folder")
    # a table's folder linked out, and the manifest linked out
    shutil.rmtree(out / "steps")
    shutil.copytree(other / "steps", out / "steps")
    shutil.rmtree(out / "grades")
    (out / "grades").symlink_to(other / "grades")
    _refused(["stats", "--db", str(out)], f"{out}/grades", "outside the Parquet folder")
    (out / "grades").unlink()
    shutil.copytree(other / "grades", out / "grades")
    assert _cli("stats", "--db", str(out))[0] == 0
    (out / "manifest.json").unlink()
    (out / "manifest.json").symlink_to(other / "manifest.json")
    _refused(["stats", "--db", str(out)], f"{out}/manifest.json", "outside the Parquet folder")
    # a link that stays inside the folder is read
    (out / "manifest.json").unlink()
    shutil.copy(other / "manifest.json", out / "manifest.json")
    (out / "_kept").mkdir()
    shutil.move(out / "runs" / "data_0.parquet", out / "_kept" / "runs.parquet")
    (out / "runs" / "data_0.parquet").symlink_to(Path("..") / "_kept" / "runs.parquet")
    assert _cli("stats", "--db", str(out))[0] == 0


def test_swapped_or_lost_files_are_caught_on_a_read_only_folder(tiny_db, tmp_path):
    out = _export(tiny_db, tmp_path / "lake", "model")
    a = out / "trajectories" / "model_id=tiny-base" / "data_0.parquet"
    b = out / "trajectories" / "model_id=tiny-sft-a" / "data_0.parquet"
    tmp = tmp_path / "swap.parquet"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    _refused(["stats", "--db", str(out)], str(a), "model_id 'tiny-sft-a'", "model_id='tiny-base'")
    b.rename(tmp)                        # undo the swap: the folder reads again
    a.rename(b)
    tmp.rename(a)
    assert _cli("stats", "--db", str(out))[0] == 0
    # a lost file: the table holds fewer rows than the manifest says (read-only, not only on import)
    out2 = _export(tiny_db, tmp_path / "lake2", "model")
    (out2 / "grades" / "model_id=tiny-sft-b" / "data_0.parquet").unlink()
    _refused(["stats", "--db", str(out2)], f"{out2}/grades: 23 rows in the Parquet files",
             "'tables.grades.rows' says 27")


_KILLED_EXPORT = """
import os, signal, sys
import duckdb
from warehouse import lake

class DiesAfterItsFirstTable:
    # DuckDB's connection, and the process is killed (SIGKILL) right after the first table's COPY
    def __init__(self, con):
        self.con = con

    def execute(self, sql, *args):
        res = self.con.execute(sql, *args)
        if sql.startswith("COPY"):
            os.kill(os.getpid(), signal.SIGKILL)
        return res

lake.export(DiesAfterItsFirstTable(duckdb.connect(sys.argv[1], read_only=True)), sys.argv[2])
"""


def test_a_killed_exports_partial_folder_is_cleaned_by_the_next_export(tiny_db, tmp_path):
    out = tmp_path / "lake"
    p = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(tiny_db), str(out)], cwd=REPO, timeout=120)
    assert p.returncode == -9
    left = [q for q in tmp_path.iterdir() if q.name.startswith(".lake.partial-")]
    assert len(left) == 1 and list(left[0].rglob("*.parquet")) and not out.exists()
    # what the next export must keep: a running export's folder (this process: alive), a partial of
    # another folder, a folder that is not ours; an old ladder's partial (no pid) is kept while fresh
    running = tmp_path / f".lake.partial-{lake._HOST}-{os.getpid()}-0123abcd"
    fresh_unknown = tmp_path / ".lake.partial-89abcdef"
    keep = [running, fresh_unknown, tmp_path / ".other.partial-host-1-0123abcd", tmp_path / ".lake.partial-notes"]
    stale_unknown = tmp_path / ".lake.partial-fedcba98"
    for q in [*keep, stale_unknown]:
        (q / "runs").mkdir(parents=True)
        (q / "runs" / "data_0.parquet").write_bytes(b"PAR1")
    old = time.time() - lake.STALE_AFTER - 60
    for q in (stale_unknown, stale_unknown / "runs", stale_unknown / "runs" / "data_0.parquet"):
        os.utime(q, (old, old))
    _export(tiny_db, out)
    assert not left[0].exists() and not stale_unknown.exists()
    assert all(q.exists() for q in keep)
    assert json.loads((out / "manifest.json").read_text())["tables"]["trajectories"]["rows"] > 0
