"""Annotator agreement (issue 14, part 6): the statistics against a hand computation, the
warehouse fetch on a tiny warehouse with two annotators, and the Step errors view (AppTest) with
one annotator and with two."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analysis import agreement
from apptest import count_calls
from warehouse import verdicts as agreement_q
from warehouse import db, ingest
from warehouse.filters import Selection
from warehouse.records import StepAnnotation, TrajectoryFlag

APP = str(Path(__file__).resolve().parent.parent / "app.py")

# Two annotators on 8 trajectories (-1 = no error).
A = [-1, -1, 2, 3, 0, 5, -1, 4]
B = [-1, 1, 2, 4, -1, 2, -1, 4]


def test_agreement_by_hand():
    s = agreement.agreement(A, B)
    # equal: #0 #2 #6 #7 -> 4/8; within 1: those and #3 (3 vs 4) -> 5/8
    assert (s["n"], s["exact"], s["within1"]) == (8, 0.5, 0.625)
    # error / no error: A flags #2 #3 #4 #5 #7, B flags #1 #2 #3 #5 #7: 5/8 each; they agree on 6 of 8
    # p_e = (5/8)^2 + (3/8)^2 = 34/64; kappa = (6/8 - 34/64) / (1 - 34/64) = 14/30
    assert (s["error_rate_a"], s["error_rate_b"], s["p_observed"]) == (0.625, 0.625, 0.75)
    assert s["p_expected"] == round(34 / 64, 4) and s["kappa"] == round(14 / 30, 4)
    # both flag #2 #3 #5 #7: same step at #2 #7, within one also #3
    assert (s["both_error"], s["exact_when_both"], s["within1_when_both"]) == (4, 0.5, 0.75)
    # B against A as reference: 2 of A's 5 errors at the same step, 2 of A's 3 "no error" -> f1 = 0.5
    assert (s["error_acc"], s["correct_acc"], s["f1"]) == (0.4, round(2 / 3, 4), 0.5)


def test_confusion_and_offsets_by_hand():
    conf = agreement.confusion(A, B)
    cells = {(r["a"], r["b"]): r["n"] for r in conf.iter_rows(named=True)}
    assert cells == {("error", "error"): 4, ("error", "no error"): 1, ("no error", "error"): 1,
                     ("no error", "no error"): 2}
    off = agreement.offsets(A, B, clip=2)
    assert dict(zip(off["label"], off["n"])) == {"≤-2": 1, "-1": 0, "0": 2, "1": 1, "≥2": 0}


def test_kappa_undefined_and_empty():
    s = agreement.agreement([-1, -1], [-1, -1])
    assert s["exact"] == 1.0 and s["kappa"] is None and s["error_acc"] is None
    assert agreement.agreement([], [])["exact"] is None
    with pytest.raises(ValueError, match="step index or -1"):
        agreement.agreement([None], [0])
    with pytest.raises(ValueError, match="differ in length"):
        agreement.agreement([0], [])


def test_pair_keeps_known_verdicts_of_both():
    v = pl.DataFrame({"trajectory_id": [1, 1, 2, 2, 3, 4], "annotator": ["rules", "judge", "rules", "judge", "rules", "judge"],
                      "first_error": [0, 1, -1, None, 2, 3]})
    p = agreement.pair(v, "rules", "judge")
    assert p.rows() == [(1, 0, 1)]
    assert agreement.annotators(v) == ["rules", "judge"]     # known verdicts: rules 3, judge 2
    with pytest.raises(ValueError):
        agreement.pair(v, "rules", "rules")


# --- a tiny warehouse with two annotators ------------------------------------------------------
RULES = [-1, 0, 1, 0, -1, 1]
JUDGE = [-1, 1, 1, -1, 0, 1]


@pytest.fixture(scope="module")
def two_annotators(tmp_path_factory):
    """The tiny warehouse (real import), where 'rules' (rewritten) and 'judge' labelled the first six
    two-step trajectories by the table above and the judge's answer on a seventh was unparseable."""
    from tiny import build

    path = build(tmp_path_factory.mktemp("agree"))
    with db.reader(path) as con:
        ids = [r[0] for r in con.execute(
            "SELECT trajectory_id FROM steps GROUP BY ALL HAVING count(*) = 2 ORDER BY trajectory_id LIMIT 7").fetchall()]
    with db.writer(path) as con:
        ingest.replace_annotations(
            con, "rules", ids[:6], [StepAnnotation(t, s, "rules", "first_error", None, "test") for t, s in zip(ids, RULES) if s >= 0],
            [TrajectoryFlag(t, "rules", "backtracks", 0.0) for t in ids[:6]])
        ingest.replace_annotations(
            con, "judge", ids, [StepAnnotation(t, s, "judge", "first_error:calculation", None, "test")
                                for t, s in zip(ids, JUDGE) if s >= 0],
            [TrajectoryFlag(t, "judge", "no_error", 1.0) for t, s in zip(ids, JUDGE) if s < 0]
            + [TrajectoryFlag(ids[6], "judge", "judge_unparseable", 1.0, "???")])
    return path, ids


def test_first_errors_from_the_warehouse(two_annotators):
    path, ids = two_annotators
    with db.reader(path) as con:
        v = agreement_q.first_errors(con, Selection("tiny"))
    p = agreement.pair(v, "rules", "judge")
    assert p["trajectory_id"].to_list() == ids[:6]
    assert p["a"].to_list() == RULES and p["b"].to_list() == JUDGE
    unparseable = v.filter((pl.col("trajectory_id") == ids[6]) & (pl.col("annotator") == "judge"))
    assert unparseable["first_error"].to_list() == [None]
    # the empty response has no steps: no verdict from rules
    empty = v.filter((pl.col("n_steps") == 0) & (pl.col("annotator") == "rules"))
    assert len(empty) == 2 and empty["first_error"].null_count() == 2
    s = agreement.agreement(p["a"].to_list(), p["b"].to_list())
    # by hand: equal at #0 #2 #5 (3/6); within 1 also #1 (4/6); binary: each flags 4 of 6, agree on 4:
    # p_e = (4/6)^2 + (2/6)^2 = 20/36, kappa = (24/36 - 20/36) / (16/36) = 0.25
    assert (s["exact"], s["within1"], s["kappa"]) == (0.5, round(4 / 6, 4), 0.25)
    with db.reader(path) as con:
        assert agreement_q.first_errors(con, Selection("tiny", models=("no-such-model",))).is_empty()


def _page(monkeypatch, path) -> AppTest:
    monkeypatch.setenv("LADDER_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["b"] = "tiny"
    at.query_params["steps_tab"] = "Annotator agreement"     # the tab that draws its chart
    at.run()
    at.switch_page("app_pages/step_errors.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_step_errors_view_with_one_annotator(tiny_db, monkeypatch):
    at = _page(monkeypatch, tiny_db)
    assert any("only rules judged" in i.value for i in at.info)
    assert any("--annotator judge" in c.value for c in at.code)
    assert not [m for m in at.metric if m.label.startswith("Cohen")]


def test_step_errors_view_with_two_annotators(two_annotators, monkeypatch):
    path, _ = two_annotators
    at = _page(monkeypatch, path)
    assert at.selectbox(key="se_agree_a").value == "rules" and at.selectbox(key="se_agree_b").value == "judge"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["trajectories judged by both"] == "6"
    assert metrics["same first-error step"] == "50%" and metrics["within ±1 step"] == "67%"
    assert metrics["Cohen's kappa (error / no error)"] == "0.25"
    fig = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]
    heat = next(t for t in fig["data"] if t["type"] == "heatmap")
    assert heat["z"] == [[3, 1], [1, 1]]       # rows rules error / no error, columns judge error / no error
    # swapping the reference keeps the symmetric numbers
    at.selectbox(key="se_agree_a").set_value("judge").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["within ±1 step"] == "67%"


def test_the_agreement_tab_runs_its_query_only_once_opened(two_annotators, monkeypatch):
    """Closed, the Annotator agreement tab costs nothing (its first-error query took 1.4 s at 10x scale on every
    visit of Step errors); opened, it draws and joins the page's zip."""
    from warehouse import verdicts

    path, _ = two_annotators
    calls = count_calls(monkeypatch, verdicts, "first_errors")
    monkeypatch.setenv("LADDER_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["b"] = "tiny"
    at.run()
    at.switch_page("app_pages/step_errors.py").run()
    assert not at.exception and not calls
    assert "annotator_agreement" not in at.session_state["_page_figures"]
    at.query_params["steps_tab"] = "Annotator agreement"
    at.run()
    assert not at.exception and calls
    assert "annotator_agreement" in at.session_state["_page_figures"]


def test_agreement_figure_escapes_names_and_handles_nothing():
    from charts.figures import agreement_figure

    fig = agreement_figure(agreement.confusion(A, B), agreement.offsets(A, B), "<b>rules</b>", "judge")
    heat, bars = fig.data
    assert heat.y == ("&lt;b&gt;rules&lt;/b&gt;: error", "&lt;b&gt;rules&lt;/b&gt;: no error")
    assert [list(r) for r in heat.z] == [[4, 1], [1, 2]] and sum(bars.y) == 4
    empty = agreement_figure(agreement.confusion([], []), agreement.offsets([], []), "a", "b")
    assert not empty.data and "no trajectory" in empty.layout.annotations[0].text
