"""The Compare page (AppTest) on the warehouse shapes users have: the real AIME step series (tiers, one
sample), tiny (no tiers, several samples, groups), one model (says a second is needed); and the permalink it
opens in Trajectories (q, t, t2) shows the pair side by side."""
import json

from streamlit.testing.v1 import AppTest

from analysis_fixtures import cached
from apptest import APP, open_page
from charts import compare_view as views
from warehouse import db
from warehouse.filters import Selection

S21, S140 = "Sky-T1-math-correct-5K-32B-step21", "Sky-T1-math-correct-5K-32B-step140"


def _page(monkeypatch, path, **params) -> AppTest:
    return open_page(monkeypatch, path, "app_pages/compare.py", **params)


def test_compare_page_on_the_step_series(shared, monkeypatch):
    at = _page(monkeypatch, cached("aime", shared), b="aime24")
    at.selectbox(key="cmp_a_model").set_value(S21).run()
    at.selectbox(key="cmp_b_model").set_value(S140).run()
    assert not at.exception
    head = at.markdown[0].value
    assert "overall" in head and "Medium" in head and "could not detect less than" in head
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [str(x) for x in fig["data"][0]["x"]] == ["overall", "Easy", "Medium", "Hard", "Exh"]
    at.selectbox(key="cmp_kind").set_value("train_step").run()           # two values of a factor
    assert not at.exception and at.selectbox(key="cmp_a_train_step").value == "21"


def test_compare_page_without_tiers_and_with_one_model(tiny_db, shared, monkeypatch):
    at = _page(monkeypatch, tiny_db)
    assert not at.radio                                                     # no tiers, no categories: overall only
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["data"][0]["x"] == ["overall"]
    at.selectbox(key="cmp_kind").set_value("group").run()
    assert not at.exception and at.markdown[0].value
    one = _page(monkeypatch, cached("maj8", shared))
    assert "needs two models" in one.info[0].value


def test_flipped_pair_opens_side_by_side_in_trajectories(shared, monkeypatch):
    path = cached("aime", shared)
    with db.reader(path) as con:
        sel = Selection("aime24")
        flipped = views.view(con, sel, "model", S21, S140)["paired"].drop_nulls("flip")
        pairs = views.pair_trajectories(con, sel, "model", S21, S140)
    r = pairs.filter(pairs["question_id"] == flipped["question_id"][0]).row(0, named=True)
    monkeypatch.setenv("LADDER_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"b": "aime24", "q": r["question_id"], "t": str(r["t_a"]), "t2": str(r["t_b"])}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert S21.replace("-", "\\-") in text and S140.replace("-", "\\-") in text
