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


def build_aime24_traces_db(path: Path, shared_dir: Path, models: list[str] | None = None) -> Path:
    """A warehouse with the AIME24 question table and the real skythought-aime24 traces
    (one greedy sample per question per model, verdicts from the source harness)."""
    import json

    from pipeline import benchmarks
    from warehouse import db, ingest, stats
    from warehouse.records import Model, Run, Trajectory, normalize_problem

    data = benchmarks.load("aime24", shared_dir)
    by_text = {q.problem_norm: q.question_id for q in data.questions}
    with db.writer(path) as con:
        benchmarks.install(con, data)
        for f in sorted((shared_dir / "traces" / "skythought-aime24").glob("*.jsonl")):
            if models and f.stem not in models:
                continue
            group = "base" if not f.stem.startswith("Sky-T1") else "small_sft"
            step = int(f.stem.rsplit("step", 1)[1]) if "-step" in f.stem else None
            ingest.upsert_model(con, Model(f.stem, group=group, train_step=step))
            run_id = f"skythought:{f.stem}:aime24"
            ingest.upsert_run(con, Run(run_id, f.stem, "aime24", "imported", "qwen-eval", str(f),
                                       temperature=0.0, samples_per_question=1))
            trajs = []
            for line in f.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                trajs.append(Trajectory(run_id, "aime24", by_text[normalize_problem(r["question"])], 0,
                                        r["code"][0], source_correct=bool(r["score"][0]),
                                        source_pred=str(r["pred"][0])))
            ingest.insert_trajectories(con, trajs)
        stats.refresh_run_stats(con)
    return path


@pytest.fixture(scope="session")
def app_db(shared, tmp_path_factory) -> Path:
    """A session-wide real-data warehouse for the app, browse and export tests (read it, never write)."""
    return build_aime24_traces_db(tmp_path_factory.mktemp("appdb") / "w.duckdb", shared)
