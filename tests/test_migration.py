"""Tier migration along a training series, on the real 11-checkpoint Sky-T1-math-correct-5K-32B series
(one greedy sample per question at steps 21 … 140), against the verdicts read from the files."""
import json

import pytest

from analysis import migration
from analysis_fixtures import aime_model, aime_truth
from warehouse.errors import UsageError
from warehouse.filters import Selection
from warehouse.frames import factor_table, per_question


def _inputs(con, sel=Selection("aime24")):
    return per_question(con, sel), factor_table(con, sel, migration.NUMERIC_FACTORS)


def _by_hand(truth, threshold=0.5):
    """question -> (solved_at, regressed, first_solved), from the files' per-checkpoint verdicts."""
    steps = sorted((aime_model(m).train_step, m) for m in truth if aime_model(m).train_step is not None)
    out = {}
    for q in truth[steps[0][1]]:
        ok = [float(truth[m][q]) >= threshold for _, m in steps]
        xs = [s for s, _ in steps]
        tail = [i for i in range(len(ok)) if all(ok[i:])]
        out[q] = (xs[tail[0]] if tail else None,
                  any(ok[i] and not ok[j] for i in range(len(ok)) for j in range(i + 1, len(ok))),
                  next((x for x, o in zip(xs, ok) if o), None))
    return out


def test_the_sky_t1_series_as_read_from_the_files(aime, shared):
    m = migration.migration(*_inputs(aime), "train_step")
    got = {r["question_id"]: (r["solved_at"], r["regressed"], r["first_solved"]) for r in m.iter_rows(named=True)}
    assert got == _by_hand(aime_truth(shared))
    assert m.height == 30
    assert got["60"] == (21, False, 21)                      # Easy: solved from the first checkpoint on
    assert {q for q, (s, _, _) in got.items() if s is None} >= {"62", "63", "81", "89"}   # Exh: never
    tiers = m["tier"].to_list()
    assert tiers == sorted(tiers, key=["Easy", "Medium", "Hard", "Exh"].index)


def test_records_are_the_report_shape(aime):
    rec = migration.records(migration.migration(*_inputs(aime), "train_step"))[0]
    assert list(rec) == ["question_id", "tier", "solved_at", "regressed", "accuracy"]
    assert list(rec["accuracy"]) == ["21", "35", "49", "63", "70", "84", "98", "105", "119", "133", "140"]
    json.dumps(rec)


@pytest.mark.parametrize("accs, solved_at, regressed, first", [
    ([0, 0, 1, 1], 3, False, 3),            # learned at the third value, kept
    ([1, 0, 1, 1], 3, True, 1),             # solved, lost, solved for good later
    ([0, 1, 1, 0], None, True, 2),          # lost at the end: never solved for good
    ([0, 0, 0, 0], None, False, None),
    ([0.5, 0.5, 0.5, 0.5], 1, False, 1),    # the threshold is inclusive
])
def test_walk(accs, solved_at, regressed, first):
    assert migration._walk([1, 2, 3, 4], accs, 0.5) == (solved_at, regressed, first)


def test_one_value_is_no_series(aime):
    sel = Selection("aime24", models=("Sky-T1-math-correct-5K-32B-step21",))
    with pytest.raises(UsageError, match="a series needs at least 2"):
        migration.migration(*_inputs(aime, sel), "train_step")
    with pytest.raises(UsageError, match="--factor"):
        migration.series(*_inputs(aime), "seed")


def test_report_migration_cli(app_db, capsys):
    from pipeline.cli import main

    assert main(["report", "migration", "--benchmark", "aime24", "--factor", "train_step", "--db", str(app_db)]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 30 and {tuple(r) for r in recs} == {("question_id", "tier", "solved_at", "regressed",
                                                             "accuracy")}
    assert recs[0]["question_id"] == "60" and recs[0]["solved_at"] == 21 and len(recs[0]["accuracy"]) == 11
    assert main(["report", "migration", "--benchmark", "aime24", "--factor", "train_step", "--format", "csv",
                 "--threshold", "1", "--db", str(app_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "question_id,tier,solved_at,regressed,21,35,49,63,70,84,98,105,119,133,140"
    assert len(lines) == 31
    for bad in (["--factor", "seed"], ["--factor", "train_step", "--threshold", "2"],
                ["--factor", "train_step", "--benchmark", "nope"],
                ["--factor", 'x" FROM models; --'],             # never reaches the SQL
                ["--factor", "train_step", "--scheme", "nope"]):
        argv = ["report", "migration", "--benchmark", "aime24", *bad, "--db", str(app_db)]
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 5 and "not a model factor" in err and "known are paper" in err
