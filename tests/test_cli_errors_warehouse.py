"""`warehouse.db.connect` on what is not a warehouse: one `LadderError` each, never a DuckDB traceback,
and the lock protocol untouched (a lock is waited for; a broken file is not)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from pipeline import cli
from pipeline.generation.backends import vllm_backend
from warehouse import db
from warehouse.errors import LadderError


def test_the_user_errors_share_one_base():
    for cls in (db.WarehouseMissing, db.WarehouseBusy, db.WarehouseUnreadable, cli.CLIError, vllm_backend.VLLMError):
        assert issubclass(cls, LadderError)
    assert issubclass(db.WarehouseMissing, FileNotFoundError) and issubclass(db.WarehouseBusy, TimeoutError)
    assert issubclass(vllm_backend.VLLMError, RuntimeError)


@pytest.mark.parametrize("read_only", [True, False])
def test_files_that_are_not_warehouses(tmp_path, read_only):
    text = tmp_path / "text.duckdb"
    text.write_text("hello\n")
    lite = tmp_path / "lite.duckdb"
    sqlite3.connect(lite).execute("CREATE TABLE t (a)").connection.commit()
    (tmp_path / "folder").mkdir()
    cases = {text: "not a DuckDB warehouse file", lite: "is an SQLite database", tmp_path / "folder": "is a folder",
             text / "w.duckdb": f"{text} is a file, not a folder"}
    for path, msg in cases.items():
        with pytest.raises(db.WarehouseUnreadable, match=msg) as err:
            db.connect(path, read_only=read_only)
        assert "\n" not in str(err.value)
    assert text.read_text() == "hello\n"                      # never overwritten


def test_a_zero_byte_file(tmp_path):
    empty = tmp_path / "w.duckdb"
    empty.touch()
    with pytest.raises(db.WarehouseUnreadable, match=r"is empty \(0 bytes\)"):
        with db.reader(empty):
            pass
    with db.writer(empty) as con:                             # writing starts a new warehouse there
        assert db.get_meta(con, "schema_version") == db.SCHEMA_VERSION
    with db.reader(empty) as con:
        assert db.get_meta(con, "data_version") == "1"


def test_a_damaged_warehouse_is_not_mistaken_for_a_locked_one(tmp_path):
    """DuckDB's checksum error says "in block at location ...": not a lock, so no waiting."""
    path = tmp_path / "w.duckdb"
    db.connect(path).close()
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"x" * (len(data) - 4096))
    t = time.monotonic()
    with pytest.raises(db.WarehouseUnreadable, match="cannot open the warehouse"):
        db.connect(path, read_only=True, timeout=30)
    assert time.monotonic() - t < 10


def test_a_duckdb_file_of_another_program(tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE x (a INTEGER)").close()
    with pytest.raises(db.WarehouseUnreadable, match="not a ladder warehouse"):
        with db.reader(path):
            pass


def test_a_locked_warehouse_is_still_waited_for(tmp_db):
    db.connect(tmp_db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from warehouse import db\n"
         f"con = db.connect({str(tmp_db)!r}); print('locked', flush=True); time.sleep(1.0)"],
        stdout=subprocess.PIPE, text=True, cwd=str(db.REPO_ROOT))
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(db.WarehouseBusy):
            db.connect(tmp_db, read_only=True, timeout=0.2)
        with db.reader(tmp_db) as con:                         # waits for the holder, then reads
            assert db.get_meta(con, "schema_version") == db.SCHEMA_VERSION
    finally:
        holder.wait(timeout=30)


def test_vllm_engine_failures_are_one_error(monkeypatch):
    """vLLM itself cannot run here: a stand-in module whose engine fails the ways a real one does."""
    import types

    class LLM:
        def __init__(self, model, **kw):
            if model == "no/such-model":
                raise OSError("no/such-model is not a local folder and is not a valid model identifier\nmore")
            self.model = model

        def get_tokenizer(self):
            return None

        def generate(self, texts, sps, use_tqdm=False):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", fake)
    with pytest.raises(vllm_backend.VLLMError, match=r"could not load no/such-model \(OSError: no/such-model is "
                                                     r"not a local folder and is not a valid model identifier\)"):
        vllm_backend.VLLMBackend("no/such-model")
    from pipeline.generation.backends import SamplingParams

    b = vllm_backend.VLLMBackend("some/model")
    with pytest.raises(vllm_backend.VLLMError, match="failed while generating with some/model .*out of memory"):
        b.generate(["1+1?"], SamplingParams(n=1))


def test_a_reader_in_this_process_is_waited_for_by_a_writer(tmp_db):
    """The app's readers and an upload's writer live in one process: DuckDB refuses the writer ("different
    configuration") while a reader is open, which is as transient as another process's lock."""
    import threading

    db.connect(tmp_db).close()
    con = db.connect(tmp_db, read_only=True)
    with pytest.raises(db.WarehouseBusy):
        db.connect(tmp_db, timeout=0.2)
    threading.Timer(0.3, con.close).start()              # the page's script run ends
    with db.writer(tmp_db) as w:                           # waits for it, then writes
        db.set_meta(w, "probe", "1")
