"""The answer timeline in the app: the Trajectories strip and its jump (AppTest), verified findings vs
judgements, the aggregates on Coverage / Exh failures, and odd warehouses (tiny: one sample, no gold
match, an empty response; a warehouse that predates the timeline)."""
from __future__ import annotations

import json

import duckdb
import pytest

from analysis import timeline as stats
from charts import pages
from warehouse import db
from warehouse import timeline_store as store
from warehouse.filters import Selection
from warehouse.records import annotation_kind

from test_app_pages import _app


def _strip(at) -> dict:
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(f for f in figs if any(str(t.get("name", "")).startswith("gold reached") for t in f["data"])
                or f["layout"].get("xaxis", {}).get("title", {}).get("text") == "character offset")


def test_strip_and_jump_on_question_71(sky14, monkeypatch):
    # question 71: gold 294 first held at step 72 (index 71), read by hand (tests/test_timeline.py)
    at = _app(monkeypatch, sky14, q="71")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    strip = _strip(at)
    gold = next(t for t in strip["data"] if str(t.get("name", "")).startswith("gold reached"))
    assert gold["customdata"] == [71] and gold["name"] == "gold reached · verified"
    judged = [t for t in strip["data"] if str(t.get("name", "")).startswith("first error?")]
    assert judged and judged[0]["marker"]["symbol"] == "diamond-open"       # a judgement: open, not filled
    jump = next(s for s in at.selectbox if s.label.startswith("Jump to a marked step"))
    assert 71 in jump.options or "step 72 · gold reached" in " ".join(map(str, jump.options))
    jump.set_value(71).run()
    assert not at.exception, [e.value for e in at.exception]
    pager = next(n for n in at.number_input if n.label.startswith("Page"))
    assert pager.value == 71 // 20 + 1                     # the page holding step 72
    assert any(h.value == "Step 72 · jump target" for h in at.subheader)
    assert at.query_params["step"] == ["71"] or at.query_params["step"] == "71"


def test_permalink_step_and_first_error_choice(sky14, monkeypatch):
    with db.reader(sky14) as con:
        tid = int(store.trajectories(con, question_id="71")["trajectory_id"][0])
    at = _app(monkeypatch, sky14, q="71", t=str(tid), step="1319")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(n for n in at.number_input if n.label.startswith("Page")).value == 1319 // 20 + 1
    assert any(h.value == "Step 1320 · jump target" for h in at.subheader)
    who = next(s for s in at.selectbox if s.label.startswith("Suspected first error by"))
    assert who.options == ["rules", "nobody"]
    who.set_value("nobody").run()
    assert not any(str(t.get("name", "")).startswith("first error?") for t in _strip(at)["data"])


def test_annotation_kinds_in_one_place():
    assert annotation_kind("rules", "arithmetic_slip") == "verified"
    assert annotation_kind("rules", "gold_reached") == "verified"
    assert annotation_kind("rules", "first_error") == "judgement"
    assert annotation_kind("judge", "first_error:calculation") == "judgement"
    assert annotation_kind("prm", "arithmetic_slip") == "judgement"        # a PRM's opinion, whatever the label
    assert annotation_kind("rules", "found_then_lost") == "verified"
    assert annotation_kind("rules", "repetition_loop") == "verified"
    assert annotation_kind("rules", "strategy:casework") == "marker"
    assert annotation_kind("rules", "backtracks") == "marker"


def test_aggregates_on_real_data(sky14):
    with db.reader(sky14) as con:
        frame = store.per_trajectory(con, Selection("aime24"))
    agg = stats.aggregate(frame, "model")
    row = agg.row(0, named=True)
    # by hand from the per-trajectory rows: 24 wrong, 1 of them (question 71) held the gold 294
    assert (row["n"], row["n_wrong"], row["found_then_lost"]) == (30, 24, 1)
    assert row["found_then_lost_rate"] == pytest.approx(1 / 24)
    d = stats.per_trajectory(frame)
    assert row["median_frac_before_gold"] == pytest.approx(d["frac_before_gold"].drop_nulls().median())
    tiers = stats.aggregate(frame, "tier")["key"].to_list()
    assert tiers == [t for t in ("Easy", "Medium", "Hard", "Exh") if t in tiers]
    assert stats.aggregate(frame, "group").is_empty()             # no --meta group: nothing, no error
    with pytest.raises(ValueError, match="by must be"):
        stats.aggregate(frame, "nope")


def test_coverage_and_failures_pages_show_the_timeline(sky14, monkeypatch):
    for page, tab in (("app_pages/coverage.py", "cov_tab=Answer timeline"), ("app_pages/failures.py",
                                                                          "fail_tab=Found then lost")):
        at = _app(monkeypatch, sky14)
        key, value = tab.split("=")
        at.query_params[key] = value             # the tab that holds the timeline
        at.run()
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        names = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
        assert any("found then lost" in n.lower() for n in names), (page, names)
    with db.reader(sky14) as con:
        figs = pages.page_figures("coverage", pages.coverage_report(con, Selection("aime24"), "model"))
    assert "answer_timeline" in figs


def test_odd_warehouses_tiny(tiny_db, tiny, monkeypatch):
    """tiny: one sample of some questions, wrong answers that never match, an empty response."""
    frame = store.per_trajectory(tiny, Selection("tiny"))
    assert frame.height == tiny.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
    empty = frame.filter(frame["n_chars"] == 0)
    assert empty.height and empty["first_gold_step"].is_null().all() and (empty["n_candidates"] == 0).all()
    agg = stats.aggregate(frame, "model")
    assert agg.height == 3 and agg["n"].sum() == frame.height
    assert stats.aggregate(frame, "tier").is_empty()             # no tiers
    at = _app(monkeypatch, tiny_db, b="tiny", q="q2")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for page in ("app_pages/coverage.py", "app_pages/failures.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]


def test_a_warehouse_without_timelines_still_shows_the_strip(sky14, tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    path.write_bytes(sky14.read_bytes())
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM step_answers; DELETE FROM trajectory_timelines")
    con.close()
    at = _app(monkeypatch, path, q="71")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    gold = next(t for t in _strip(at)["data"] if str(t.get("name", "")).startswith("gold reached"))
    assert gold["customdata"] == [71]                          # derived on the fly


def test_side_by_side_strips_on_one_scale(tiny_db, tiny, monkeypatch):
    rows = store.trajectories(tiny, question_id="q3")
    rows = rows.sort("n_chars")
    short, long_ = int(rows["trajectory_id"][0]), int(rows["trajectory_id"][-1])
    assert rows["n_chars"][0] < rows["n_chars"][-1]
    at = _app(monkeypatch, tiny_db, b="tiny", q="q3", t=str(short), t2=str(long_))
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    strips = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    strips = [f for f in strips if f["layout"].get("xaxis", {}).get("title", {}).get("text") == "character offset"]
    assert len(strips) == 2
    assert strips[0]["layout"]["xaxis"]["range"] == strips[1]["layout"]["xaxis"]["range"] == [0, rows["n_chars"][-1]]


def test_the_coverage_timeline_axis_names_what_it_is_grouped_by(sky14, monkeypatch):
    """Regrouped per tier, the timeline chart's x-axis says "Tier" (it said "Model" whatever the grouping)."""
    at = _app(monkeypatch, sky14)
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    assert at.radio(key="cov_tl_by").options == ["as above", "tier"]    # paper tiers; no training steps to group by
    at.radio(key="cov_tl_by").set_value("tier").run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    axis = [s.get("xaxis", {}).get("title", {}).get("text") for s in specs
            if "found then lost" in s.get("title", {}).get("text", "").lower()]
    assert axis == ["Tier"], axis
