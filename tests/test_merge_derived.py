"""A merge copies what a shard derived already (grade, steps, rules annotations and flags, answer timeline)
instead of deriving it again (issue 17: ingest where derivation can be skipped): the merged warehouse
holds exactly the rows a fresh derivation writes, and the full-text index follows the merge."""
from __future__ import annotations

from pipeline.ingest import shards
from pipeline.ingest.session import ImportSession
from warehouse import db, derived, search, textindex
from warehouse.filters import Selection

TABLES = {"grades": "trajectory_id, grader, grader_version, extracted_answer, is_correct, reason",
          "steps": "*", "step_annotations": "*", "trajectory_flags": "*", "step_answers": "*",
          "trajectory_timelines": "*", "run_question_stats": "*"}


def _rows(path) -> dict:
    with db.reader(path) as con:
        return {t: sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall())) for t, cols in TABLES.items()}


def test_merge_copies_derived_rows_identical_to_deriving_them(shared, tmp_path, monkeypatch):
    shard = tmp_path / "shard.duckdb"
    files = sorted((shared / "traces" / "skythought-aime24").glob("Sky-T1-math-*-14B.jsonl"))
    for f in files:
        ImportSession(shard, shared).import_path(f, "qwen-eval", "aime24")
    copied = shards.merge([shard], tmp_path / "copied.duckdb")
    assert copied.trajectories_new == copied.derived_copied == 30 * len(files)
    assert shards.merge([shard], tmp_path / "copied.duckdb").trajectories_new == 0      # idempotent

    monkeypatch.setattr(derived, "stored_rows", lambda *a, **k: derived.Stored())   # as before: derive all
    rederived = shards.merge([shard], tmp_path / "rederived.duckdb")
    assert rederived.derived_copied == 0 and rederived.trajectories_new == copied.trajectories_new
    a, b = _rows(tmp_path / "copied.duckdb"), _rows(tmp_path / "rederived.duckdb")
    for t in TABLES:
        assert a[t] and a[t] == b[t], t

    with db.reader(tmp_path / "copied.duckdb") as con:              # the index followed the merge
        found = search.find(con, Selection("aime24"), "Aya walks", 100)
        assert found.mode == "index" and not found.hits.is_empty()
    assert textindex.sync(tmp_path / "copied.duckdb").indexed == 0


def test_stale_derived_rows_are_derived_again(shared, tmp_path):
    shard = tmp_path / "shard.duckdb"
    ImportSession(shard, shared).import_path(
        shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl", "qwen-eval", "aime24")
    with db.reader(shard) as con:
        ids = [r[0] for r in con.execute("SELECT trajectory_id FROM trajectories").fetchall()]
        assert len(derived.stored_rows(con, ids, "ladder", "no-such-version", "x").ids) == 0
        from derivation import grade
        from derivation import answer_timeline
        assert derived.stored_rows(con, ids, grade.GRADER, grade.GRADER_VERSION, answer_timeline.version()).ids \
            == set(ids)
