"""Hostile Parquet / Arrow files and upload names. Each file is generated here with pyarrow; the import runs as
`python -m pipeline import` in a subprocess under RLIMIT_AS and a timeout: it must finish in seconds, keep the
good rows and name the bad row and field in one line.

The bomb: a 4 KB zstd Parquet file whose ten middle rows hold a 100 MB response each (one dictionary value
repeated, as a real file compresses it): read whole it is 1 GB of text and 4 GB of memory (it ran past 120 s).
A row over the JSON-lines limit (``base.MAX_LINE_BYTES``, 16 MiB) is skipped, measured before it becomes a
Python object.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app_pages.upload import _safe_name
from pipeline.cli import main
from pipeline.ingest.session import ImportSession
from test_hostile_manifest import run_cli
from warehouse import db

MEM = 3 << 30          # a normal import of a small parquet file needs about 2.5 GiB of address space (DuckDB)
BIG = 100 << 20


def _bomb_table() -> pa.Table:
    """Rows 1 and 12 good (n_tokens 12.0 and 1234.0: integral floats), rows 2-11 a 100 MB response each."""
    big = pa.array(["x" * BIG], pa.large_string())
    values = pa.concat_arrays([pa.array(["\\boxed{2}"], pa.large_string()), big])
    resp = pa.DictionaryArray.from_arrays(pa.array([0] + [1] * 10 + [0], pa.int32()), values)
    return pa.table({"problem": [f"What is {i} + {i}?" for i in range(12)], "answer": [str(2 * i) for i in range(12)],
                     "response": resp, "n_tokens": [12.0] * 11 + [1234.0]})


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bombs")
    t = _bomb_table()
    # store_schema=False: the reader sees a plain string column, as in a file written by any other tool
    pq.write_table(t, d / "bomb.parquet", compression="zstd", store_schema=False, write_statistics=False,
                   dictionary_pagesize_limit=1 << 30)
    with pa.ipc.new_stream(d / "bomb.arrow", t.schema,
                           options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        w.write_table(t)
    return {"parquet": d / "bomb.parquet", "arrow": d / "bomb.arrow"}


@pytest.mark.parametrize("kind, fmt", [("parquet", "hf"), ("parquet", "auto"), ("arrow", "auto")])
def test_rows_over_the_limit_are_skipped_in_seconds_and_good_rows_kept(bombs, tmp_path, kind, fmt):
    f = bombs[kind]
    assert f.stat().st_size < 64 * 1024
    r, took = run_cli("import", "--format", fmt, "--benchmark", "bombs", "--db", str(tmp_path / "w.duckdb"), str(f),
                      timeout=300, mem=MEM)
    assert r.returncode == 1, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {f}:{row}: response: row is 100.0 MiB (100.0 MiB in this column), over the 16 MiB "
                      "limit; skipped" for row in range(2, 12)], r.stderr[-3000:]
    assert "warning" not in r.stderr            # the integral floats of n_tokens are integers
    assert "2 new trajectories" in r.stdout and "10 lines rejected" in r.stdout
    with db.reader(tmp_path / "w.duckdb") as con:
        got = con.execute("SELECT q.problem, t.n_tokens, t.response FROM trajectories t "
                          "JOIN questions q USING (benchmark, question_id) ORDER BY 2").fetchall()
    assert got == [("What is 0 + 0?", 12, "\\boxed{2}"), ("What is 11 + 11?", 1234, "\\boxed{2}")]
    assert took < 120


def test_a_repeated_column_name_is_one_line_naming_the_column(tmp_path):
    f = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(["What is 1 + 1?"]), pa.array(["2"]), pa.array(["a"]),
                                         pa.array(["b"])], names=["problem", "answer", "response", "response"]), f)
    for fmt in ("hf", "auto"):
        r, _ = run_cli("import", "--format", fmt, "--benchmark", "dup", "--db", str(tmp_path / "w.duckdb"), str(f),
                       mem=MEM)
        assert r.returncode == 1
        assert r.stderr.splitlines() == [f"error: {f}:0: response: column name given twice; the file is not read"]


def test_integral_floats_are_integers_and_other_floats_name_row_and_field(tmp_path, tmp_db, capsys):
    """pandas writes an integer column with gaps as float64: 1234.0 is 1234; 2.5 is not an integer."""
    f = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"problem": [f"What is {i} + {i}?" for i in range(4)], "answer": ["0", "2", "4", "6"],
                             "response": ["0", "2", "4", "6"], "sample_idx": [0.0, 3.0, 2.5, None],
                             "n_tokens": [1234.0, 12.5, 7.0, None]}), f)
    assert main(["import", "--format", "hf", "--benchmark", "floats", "--db", str(tmp_db), str(f)]) == 1
    err = capsys.readouterr().err
    assert f"warning: {f}:2: n_tokens: expected a non-negative integer (at most 2147483647), got 12.5; ignored" in err
    assert f"error: {f}:3: sample_idx: expected a non-negative integer (at most 2147483647), got 2.5" in err
    with db.reader(tmp_db) as con:
        got = con.execute("SELECT response, sample_idx, n_tokens FROM trajectories ORDER BY 1").fetchall()
    assert got == [("0", 0, 1234), ("2", 3, None), ("6", 0, None)]


@pytest.mark.parametrize("name, stored", [
    ("<script>x</script>.jsonl", "<script>x<_script>.jsonl"),
    ("C:\\Users\\me\\runs\\model-a.jsonl", "C:_Users_me_runs_model-a.jsonl"),
    ("a/b\x00c.jsonl", "a_b_c.jsonl"),
    ("..", "upload-3.jsonl"),
])
def test_an_upload_name_becomes_a_whole_model_name(name, stored):
    assert _safe_name(name, 3) == stored


def test_an_uploaded_file_keeps_its_whole_name_as_model(tmp_path, tmp_db):
    p = tmp_path / _safe_name("<script>x</script>.jsonl", 0)
    p.write_text('{"problem": "What is 1 + 1?", "answer": "2", "response": "2"}\n')
    assert ImportSession(tmp_db, None).import_path(p, "auto", "up")[0].new == 1
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT model_id FROM models").fetchall() == [("<script>x<_script>",)]
