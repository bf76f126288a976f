"""The strip's marks (analysis.timeline.step_events): the gold is *lost* once, where the trajectory leaves it
for good, not at every intermediate value between two statements of the gold."""
from __future__ import annotations

import polars as pl

from analysis.timeline import step_events
from warehouse import db, trajectory
from warehouse import timeline_store as store

ANN = pl.DataFrame(schema={"step_idx": pl.Int64, "annotator": pl.Utf8, "label": pl.Utf8, "score": pl.Float64,
                           "evidence": pl.Utf8})


def _answers(rows):
    return pl.DataFrame(rows, schema={"step_idx": pl.Int64, "answer": pl.Utf8, "is_gold": pl.Boolean,
                                      "changed": pl.Boolean}, orient="row")


def _steps(n):
    return pl.DataFrame({"step_idx": list(range(n)), "start_char": [10 * i for i in range(n)],
                         "kind": ["paragraph"] * n})


def _events(ev):
    return [(r["step_idx"], r["event"]) for r in ev.iter_rows(named=True) if r["event"] != "backtrack"]


def test_gold_left_for_an_intermediate_value_and_stated_again_is_not_lost():
    ans = _answers([(1, "147", False, True), (2, "294", True, True), (4, "147", False, True),
                    (5, "294", True, True), (7, "15", False, True)])
    assert _events(step_events(_steps(9), ans, ANN)) == [
        (1, "answer changed"), (2, "gold reached"), (2, "answer changed"), (4, "answer changed"),
        (5, "answer changed"), (7, "gold lost")]


def test_gold_held_to_the_end_is_never_lost():
    ans = _answers([(1, "147", False, True), (2, "294", True, True), (4, "147", False, True),
                    (5, "294", True, True)])
    assert [e for e in _events(step_events(_steps(6), ans, ANN)) if e[1].startswith("gold")] == [
        (2, "gold reached")]


def test_the_real_repeating_trajectory(sky14):
    """Sky-T1-math-correct-5K-14B, AIME question 71 (read by hand): a loop that computes 21*7 = 147 and then
    147 + 147 = 294 (the gold) 25 times, ending without a stated answer (final extracted answer 15). The gold is
    first held at step index 71; it is never left for another *stated* answer, so nothing is lost; the 147s are
    answer changes."""
    with db.reader(sky14) as con:
        tid = int(store.trajectories(con, question_id="71")["trajectory_id"][0])
        steps = trajectory.steps(con, tid)
        answers = store.step_answers(con, tid)
    ev = _events(step_events(steps, answers, ANN))
    assert [e for e in ev if e[1].startswith("gold")] == [(71, "gold reached")]
    assert sum(e[1] == "answer changed" for e in ev) == 49       # 50 stated values, the first changes nothing
