"""Every page renders (Streamlit AppTest) on the real-data warehouse and on a missing/empty one,
and shows the right content. Model text with HTML or remote images renders inert."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.ingest import benchmarks
from warehouse import db, ingest, inventory, stats
from warehouse.records import Model, Run, Step, StepAnnotation, Trajectory, TrajectoryFlag

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["app_pages/overview.py", "app_pages/ladder.py", "app_pages/coverage.py", "app_pages/failures.py", "app_pages/scaling.py",
         "app_pages/trajectories.py", "app_pages/step_errors.py", "app_pages/compare.py"]


def _app(monkeypatch, path, **params) -> AppTest:
    monkeypatch.setenv("LADDER_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def _figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("bench", ["aime24", "math_cot_100"])   # one greedy sample, paper tiers / 8 samples, none
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_real_data(app_db, monkeypatch, page, bench):
    at = _app(monkeypatch, app_db, b=bench)
    at.run()
    assert at.selectbox(key="f_b").value == bench
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value != "ladder — get started"


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_get_started_page_when_no_data(tmp_path, monkeypatch, shared, state):
    path = tmp_path / "w.duckdb"
    if state == "empty":
        with db.writer(path) as con:
            benchmarks.install(con, benchmarks.load("aime24", shared))
    at = _app(monkeypatch, path)
    at.run()
    assert not at.exception
    text = " ".join(c.value for c in at.code)
    assert "python -m pipeline demo" in text and "python -m pipeline import" in text
    assert ("No warehouse" in at.warning[0].value) if state == "missing" else ("no trajectories" in at.info[0].value)


def test_ladder_one_trace_per_model_and_four_tier_bands(app_db, monkeypatch):
    models = "Qwen2.5-14B-Instruct,Sky-T1-math-correct-5K-14B,Llama-3.1-8B"
    at = _app(monkeypatch, app_db, models=models)
    at.run()
    at.switch_page("app_pages/ladder.py").run()
    assert at.radio(key="ladder_by").value == "group"     # the default, as in the paper's Figure 1
    at.radio(key="ladder_by").set_value("model").run()
    assert not at.exception
    ladder = _figures(at)[0]
    assert sorted(t["name"] for t in ladder["data"]) == sorted(models.split(","))
    assert [s["name"] for s in ladder["layout"]["shapes"]] == ["tier:Easy", "tier:Medium", "tier:Hard", "tier:Exh"]
    assert at.multiselect(key="f_models").value == models.split(",")  # the URL drove the filter


def test_ladder_reference_overlay_and_group_lines(app_db, monkeypatch):
    at = _app(monkeypatch, app_db)
    at.run()
    at.switch_page("app_pages/ladder.py").run()
    at.radio(key="ladder_by").set_value("group").run()
    at.toggle(key="ladder_ref").set_value(True).run()
    assert not at.exception
    names = {t["name"] for t in _figures(at)[0]["data"]}
    assert {"base", "sft-correct-5k"} <= names and {"paper: base", "paper: small_sft", "paper: large"} <= names


def test_filter_change_is_written_to_the_url(app_db, monkeypatch):
    at = _app(monkeypatch, app_db)
    at.run()
    at.multiselect(key="f_tiers").set_value(["Hard", "Exh"]).run()
    assert not at.exception
    assert at.query_params["tiers"] == ["Hard,Exh"] or at.query_params["tiers"] == "Hard,Exh"


def test_trajectory_page_shows_gold_answer(app_db, monkeypatch, shared):
    gold = {str(r["id"]): r["answer"] for r in map(json.loads, (shared / "aime24" / "problems.jsonl").open())}["61"]
    at = _app(monkeypatch, app_db, q="61")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception
    golds = [m.value for m in at.metric if m.label == "gold answer"]
    assert golds == [gold]
    assert f"gold answer: {gold}" in at.expander[0].label


HOSTILE = ("Let me think. <script>alert('pwned')</script> <img src=x onerror=alert(1)> "
           "![tracker](http://evil.example/pixel.png) so the answer is \\boxed{204}")


def test_hostile_trajectory_renders_inert(tmp_path, monkeypatch, shared):
    path = tmp_path / "w.duckdb"
    with db.writer(path) as con:
        benchmarks.install(con, benchmarks.load("aime24", shared))
        ingest.upsert_model(con, Model("evil-model", group="base"))
        ingest.upsert_run(con, Run("evil-run", "evil-model", "aime24", "imported"))
        t = Trajectory("evil-run", "aime24", "60", 0, HOSTILE, source_correct=True, source_pred="204")
        ingest.insert_trajectories(con, [t])
        cut = HOSTILE.index("<img")
        ingest.replace_steps(con, [t.trajectory_id], [Step(t.trajectory_id, 0, 0, cut), Step(t.trajectory_id, 1, cut,
                                                                                              len(HOSTILE))])
        ingest.replace_annotations(con, "rules", [t.trajectory_id],
                                   [StepAnnotation(t.trajectory_id, 1, "rules", "arithmetic_slip",
                                                   evidence="<b>bold</b> claim")],
                                   [TrajectoryFlag(t.trajectory_id, "rules", "backtracks")])
        stats.refresh_run_stats(con)
    at = _app(monkeypatch, path, q="60")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception
    shown = [m for m in at.markdown if "pwned" in m.value]
    assert shown, "the response text is shown"
    assert all(not m.proto.allow_html for m in shown)   # st.markdown escapes raw HTML
    assert not any("<script" in m.value and m.proto.allow_html for m in at.markdown)
    assert not any("evil.example" in m.value for m in at.markdown)  # the remote image is gone
    assert not at.get("html")
    # steps are numbered; the annotated one is highlighted as a verified finding (an arithmetic claim that
    # evaluates otherwise), with its label, annotator and evidence shown literally (plain(): every
    # punctuation character escaped)
    assert any(m.value.startswith("**Step 1**") for m in at.markdown)
    assert [e.value.split("\n")[0] for e in at.warning] == [
        "**Step 2** · asserts 204 ✓ gold · verified: arithmetic\\_slip (rules)"]
    assert any("\\<b\\>bold\\<\\/b\\> claim" in c.value for c in at.caption)
    assert any("backtracks" in c.value for c in at.caption)


def test_failures_page_defaults_to_exh_and_links_to_trajectories(app_db, monkeypatch):
    with db.reader(app_db) as con:
        exh = sorted(r[0] for r in con.execute("SELECT question_id FROM question_tiers WHERE benchmark = 'aime24' "
                                               "AND scheme = 'paper' AND tier = 'Exh'").fetchall())
    at = _app(monkeypatch, app_db)
    at.run()
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception
    conv = _figures(at)[0]
    assert sorted({x for t in conv["data"] for x in t["x"]}) == exh
    # its tables' rows name questions: selectable, a selected row opens Trajectories (common.table; in Chromium:
    # tests/test_table_links_browser.py)
    opening = [e for e in at.dataframe if "open_wrong_answer_concentration" in e.proto.id]
    assert opening and list(opening[0].proto.selection_mode)
    rows = [e for e in at.dataframe if "open_wrong_answer_concentration" in e.proto.id][0].value["question_id"].tolist()
    assert rows == sorted(exh, key=int)


def test_scaling_page_draws_training_step_curves(app_db, monkeypatch):
    at = _app(monkeypatch, app_db)
    at.run()
    at.switch_page("app_pages/scaling.py").run()
    at.selectbox(key="scal_factor").set_value("train_step").run()
    assert not at.exception
    points = _figures(at)[0]
    names = [t["name"] for t in points["data"] if t.get("mode") == "lines+markers"]
    assert names == ["Easy", "Medium", "Hard", "Exh"]
    assert points["layout"]["xaxis"]["type"] == "log"


def test_scaling_compares_value_by_value_only_once_its_tab_is_open(app_db, monkeypatch):
    """Value by value: each training step against the one before (paired tests over the questions). Closed, the tab
    runs none of them (they were half of a filter change at paper scale); opened, its chart has one step a pair."""
    from apptest import count_calls
    from charts import compare_view

    calls = count_calls(monkeypatch, compare_view, "consecutive")
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/scaling.py").run()
    at.selectbox(key="scal_factor").set_value("train_step").run()
    assert not at.exception and not calls
    at.query_params["scal_tab"] = "Value by value"
    at.run()
    assert not at.exception and calls
    steps = next(f for f in _figures(at) if "to the next" in f["layout"]["title"]["text"])
    xs = {x for t in steps["data"] for x in t.get("x") or []}
    assert "21 → 35" in xs and "133 → 140" in xs          # the train_step series: 21, 35, ..., 140
    assert "scaling_steps" in at.session_state["_page_tables"]


def test_app_follows_a_write_to_the_warehouse(tmp_path, monkeypatch, shared):
    """Caches are keyed by the warehouse version: an import while the app runs shows up on the next rerun."""
    path = tmp_path / "w.duckdb"
    with db.writer(path) as con:
        benchmarks.install(con, benchmarks.load("aime24", shared))
    at = _app(monkeypatch, path)
    at.run()
    assert at.title[0].value == "ladder — get started"
    with db.writer(path) as con:
        ingest.upsert_model(con, Model("m1", group="base"))
        ingest.upsert_run(con, Run("r1", "m1", "aime24", "imported"))
        ingest.insert_trajectories(con, [Trajectory("r1", "aime24", "60", 0, "\\boxed{204}", source_correct=True,
                                                    source_pred="204")])
        stats.refresh_run_stats(con)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert [m.value for m in at.metric if m.label == "trajectories"] == ["1"]


def test_coverage_page_gap_bars_per_tier_and_unstable_table(app_db, monkeypatch):
    at = _app(monkeypatch, app_db, b="math_cot_100")     # 8 samples per question, no tiers
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception
    scatter, gap = _figures(at)             # the first tab's: lazy tabs draw only the open one
    (bars,) = gap["data"]                           # no tiers on this benchmark: one bar trace, no legend entry
    assert bars["x"] == scatter["data"][0]["text"] and not gap["layout"]["showlegend"]
    keys = sorted(scatter["data"][0]["text"])
    assert set(at.session_state["_page_figures"]) >= {"coverage_vs_accuracy", "gap_per_tier", "pass_at_k"}
    at.query_params["cov_tab"] = "pass@k"       # a tab opens from the URL (bind="query-params")
    at.run()
    assert not at.exception
    scatter2, passk = _figures(at)
    assert scatter2 == scatter
    assert sorted(t["name"] for t in passk["data"] if t.get("fill") != "toself") == keys
    at.query_params["cov_tab"] = "Unstable questions"
    at.run()
    unstable = at.dataframe[-1].value
    assert len(unstable) and ((unstable["accuracy"] > 0) & (unstable["accuracy"] < 1)).all()
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    at.radio(key="cov_by").set_value("group").run()
    assert not at.exception
    assert [t["name"] for t in _figures(at)[1]["data"]] == ["Easy", "Medium", "Hard", "Exh"]


def test_ladder_threshold_recuts_the_fetched_counts(app_db, monkeypatch):
    from analysis import ladder
    from warehouse.filters import Selection
    from warehouse.frames import per_question

    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/ladder.py").run()
    for thr in (0.5, 0.0):
        if thr != 0.5:
            at.slider(key="ladder_thr").set_value(thr).run()
        assert not at.exception
        with db.reader(app_db) as con:
            want = ladder.scalogram(per_question(con, Selection("aime24"), "group"), "threshold", thr).row(0, named=True)
        shown = {m.label: m.value for m in at.metric}
        assert shown["Guttman errors"] == str(want["guttman_errors"])
        assert shown["keys × questions"] == f"{want['n_keys']} × {want['n_questions']}"


def test_a_fragment_section_releases_its_connection(app_db, monkeypatch, tmp_path):
    """``common.fragment`` (the Ladder's threshold, the Coverage timeline): a section's rerun does not reach
    app.py's ``release``, so the section closes the connection its cache misses opened."""
    script = tmp_path / "frag.py"
    script.write_text("import streamlit as st\nfrom app_pages import common\nfrom warehouse import inventory\n"
                      "st.cache_data.clear()\n"
                      "@common.fragment\ndef part():\n    st.write(common.q(inventory.counts)['trajectories'])\n"
                      "part()\nst.write(f\"held={getattr(common._RUN, 'held', None) is not None}\")\n")
    monkeypatch.setenv("LADDER_DB", str(app_db))
    at = AppTest.from_file(str(script), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown][-1] == "held=False"


def test_warm_up_names_real_modules_and_is_inert_under_apptest(app_db, monkeypatch):
    """What the server loads after its first page (``common.WARM_MODULES``) exists; AppTest (a mock runtime)
    starts no background warm-up: ``warm_up`` answers None there."""
    import importlib

    from app_pages import common

    for name in common.WARM_MODULES:
        importlib.import_module(name)
    at = _app(monkeypatch, app_db)
    at.run()
    assert not at.exception and not common._warm_started.is_set() and common.warm_up() is None


# --- a user's own warehouse (issue 12) ------------------------------------------------------

@pytest.fixture(scope="module")
def no_meta_db(tmp_path_factory, shared):
    """Three real models imported as a new user would: qwen-eval files, no --meta (so no groups)."""
    from pipeline import cli

    path = tmp_path_factory.mktemp("nometa") / "w.duckdb"
    files = [str(shared / "traces" / "skythought-aime24" / f"{m}.jsonl")
             for m in ("Qwen2.5-14B-Instruct", "Llama-3.1-8B", "Sky-T1-math-correct-5K-14B")]
    assert cli.main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(path),
                     "--data-dir", str(shared), *files]) == 0
    return path


def test_ladder_without_groups_draws_one_line_per_model(no_meta_db, monkeypatch):
    at = _app(monkeypatch, no_meta_db)
    at.run()
    at.switch_page("app_pages/ladder.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="ladder_by").options == ["model"]      # no group to draw lines for
    names = sorted(t["name"] for t in _figures(at)[0]["data"])
    assert names == ["Llama-3.1-8B", "Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-14B"]


@pytest.mark.parametrize("t", ["--5", "²", "1e3", "99999999999999999999999", "", "-0"])
def test_a_bad_trajectory_id_in_the_url_falls_back(no_meta_db, monkeypatch, t):
    at = _app(monkeypatch, no_meta_db, q="60", t=t, t2=t)
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="traj_t_60").value is not None     # the first sample is opened instead


def test_page_boundary_shows_a_short_message_not_a_traceback():
    def script():
        from app_pages import common

        class Broken:
            title = "broken"

            def run(self):
                raise IndexError("arrays used as indices must be of integer (or boolean) type")

        common.run_page(Broken())

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("This page could not be drawn")
    assert "Traceback" not in at.error[0].value and "IndexError" in at.error[0].value


def test_a_huge_response_opens_one_page_of_steps(tmp_path, monkeypatch, shared):
    """A 5 MB response (~27,000 steps) draws one page of steps and says how many there are."""
    from pipeline import cli

    para = "We compute the next term of the sequence and check it against the previous one.\n\n"
    response = para * (5_000_000 // len(para)) + "So the answer is \\boxed{204}."
    f = tmp_path / "huge.jsonl"
    f.write_text(json.dumps({"model": "huge", "question_id": "60", "response": response}) + "\n")
    path = tmp_path / "w.duckdb"
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(path),
                     "--data-dir", str(shared), str(f)]) == 0
    at = _app(monkeypatch, path, q="60")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception and not at.error
    steps = [m for m in at.markdown if m.value.startswith("**Step ")]
    assert len(steps) == 20 and steps[0].value.startswith("**Step 1**")
    n = int(next(c.value for c in at.caption if " steps; showing" in c.value).split()[0].replace(",", ""))
    assert n > 20_000
    pager = at.number_input[0]
    pager.set_value(pager.max).run()                 # the last page: the final answer is there
    assert not at.exception
    last = [m.value for m in at.markdown if m.value.startswith("**Step ")]
    assert 0 < len(last) <= 20 and any("boxed{204}" in v for v in last)


def test_scaling_ignores_a_non_finite_factor_stored_before_import_checked_it(no_meta_db, tmp_path, monkeypatch):
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(no_meta_db, path)
    with db.writer(path) as con:      # import now refuses params_b=nan; an older warehouse may hold it
        for m, v in [("Qwen2.5-14B-Instruct", float("nan")), ("Llama-3.1-8B", 8.0),
                     ("Sky-T1-math-correct-5K-14B", 14.0)]:
            ingest.upsert_model(con, Model(m, params_b=v))
    at = _app(monkeypatch, path)
    at.run()
    at.switch_page("app_pages/scaling.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="scal_factor").value == "params_b"
    xs = {x for t in _figures(at)[0]["data"] for x in t.get("x") or []}
    assert xs == {8.0, 14.0}


@pytest.mark.parametrize("content", [b"", b"not a database\n", b"SQLite format 3\x00" + b"\x00" * 100])
def test_a_file_that_is_no_warehouse_says_so_on_get_started(tmp_path, monkeypatch, content):
    path = tmp_path / "w.duckdb"
    path.write_bytes(content)
    at = _app(monkeypatch, path)
    at.run()
    assert not at.exception
    assert at.title[0].value == "ladder — get started"
    assert len(at.error) == 1 and "cannot be opened" in at.error[0].value
    assert path.read_bytes() == content               # the app only reads: the file is left as it was


def test_scaling_page_follows_each_question_along_the_series(app_db, monkeypatch):
    at = _app(monkeypatch, app_db, b="aime24", scal_tab="Questions along the series")     # its lazy tab
    at.run()
    at.switch_page("app_pages/scaling.py").run()
    at.selectbox(key="scal_factor").set_value("train_step").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    strip = next(f for f in _figures(at) if f["layout"]["title"]["text"] == "Questions along the series")
    assert strip["data"][0]["x"] == ["21", "35", "49", "63", "70", "84", "98", "105", "119", "133", "140"]
    assert len(strip["data"][0]["y"]) == 30 and strip["data"][0]["y"][0].endswith("· Easy")
    table = next(d.value for d in at.dataframe if "solved_at" in d.value.columns)
    assert len(table) == 30 and table.set_index("question_id").loc["60", "solved_at"] == 21
    shown = {m.label: m.value for m in at.metric}
    assert shown["questions"] == "30" and int(shown["solved for good"]) == table["solved_at"].notna().sum()
    assert any(m.value.startswith("**Fitted plateau**") for m in at.markdown)
    at.slider(key="scal_mig_thr").set_value(1.0).run()              # the threshold re-cuts the strip
    assert not at.exception and not at.error


def test_trajectories_answer_classes_list_their_samples(app_db, monkeypatch):
    """math_cot_100 question 17: four samples say 6290000 (gold), four 6287000 (the file's own verdicts)."""
    at = _app(monkeypatch, app_db, b="math_cot_100", q="17")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    fig = next(f for f in _figures(at) if "answer classes" in f["layout"]["title"]["text"])
    assert fig["data"][0]["y"] == [4, 4]
    assert [x.split(". ", 1)[1] for x in fig["data"][0]["x"]] == ["6290000", "6287000"]
    pick = at.selectbox(key="traj_class_17")
    members = next(d.value for d in at.dataframe if list(d.value.columns) == ["model", "sample", "answer"])
    assert len(members) == 4 and (members["answer"] == "6290000").all()     # a row opens its sample when selected
    pick.set_value(1).run()
    members = next(d.value for d in at.dataframe if list(d.value.columns) == ["model", "sample", "answer"])
    assert len(members) == 4 and (members["answer"] == "6287000").all()


def test_failures_page_tables_answer_classes(app_db, monkeypatch):
    at = _app(monkeypatch, app_db, b="aime24", fail_tab="Answer classes")
    at.run()
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "confidently_wrong" in d.value.columns)
    assert sorted(table["question_id"]) == ["62", "63", "81", "89"]          # the Exh questions, the default
    assert (table["samples"] == 19).all() and (table["pass@1"] == table["correct"] / 19).all()


def test_failures_groups_the_answers_only_once_its_tab_is_open(app_db, monkeypatch):
    """The Answer classes tab's query (every sample's final answer through the grader: 0.6 s at 10x scale) runs only
    while the tab is open; opened, its table of the Exh questions."""
    from apptest import count_calls
    from charts import answer_view

    calls = count_calls(monkeypatch, answer_view, "answer_classes")
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception and not calls
    assert not any("confidently_wrong" in d.value.columns for d in at.dataframe)
    at.query_params["fail_tab"] = "Answer classes"
    at.run()
    assert not at.exception and len(calls) == 1
    table = next(d.value for d in at.dataframe if "confidently_wrong" in d.value.columns)
    assert sorted(table["question_id"]) == ["62", "63", "81", "89"]


def test_failures_lists_found_then_lost_and_strategies_only_once_their_tabs_are_open(app_db, monkeypatch):
    """The Found-then-lost tab's list of trajectories and the Strategies tab have queries of their own (0.1-0.3 s and
    0.08 s at 10x scale on every visit and filter change): none while their tabs are closed; opened, their tables.
    The flag-rate chart of Found then lost comes from the page's view and stays in the zip when closed."""
    from apptest import count_calls
    from warehouse import failures

    flagged = count_calls(monkeypatch, failures, "flagged")
    tags = count_calls(monkeypatch, failures, "strategy_tags")
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception and not flagged and not tags
    at.query_params["fail_tab"] = "Found then lost"
    at.run()
    assert not at.exception and len(flagged) == 1 and not tags
    at.query_params["fail_tab"] = "Strategies"
    at.run()
    assert not at.exception and len(tags) == 1
    assert "strategy_tags" in at.session_state["_page_tables"]
    shown = next(d.value for d in at.dataframe if "Strategy" in d.value.columns or "strategy" in d.value.columns)
    names = list(shown.iloc[:, 0])
    assert names and not any("_" in n for n in names) and "modular arithmetic" in names, names   # words, not ids


def test_a_closed_tabs_chart_is_built_only_for_the_page_zip(app_db, monkeypatch):
    """A closed tab's chart costs nothing until the page's zip is downloaded: ``common.page_chart`` keeps a recipe,
    ``common._zip_figures`` builds it then, the same figure the tab draws when opened."""
    from app_pages import common

    at = _app(monkeypatch, app_db, b="math_cot_100")
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception
    figs = dict(at.session_state["_page_figures"])
    assert callable(figs["pass_at_k"]) and not callable(figs["gap_per_tier"])   # closed tab / open tab
    built = common._zip_figures(figs)
    assert set(built) == set(figs) and not any(callable(f) for f in built.values())
    at.query_params["cov_tab"] = "pass@k"
    at.run()
    drawn = next(f for f in _figures(at) if f["layout"]["title"]["text"] == built["pass_at_k"].layout.title.text)
    assert [t["y"] for t in drawn["data"]] == [list(t.y) for t in built["pass_at_k"].data]
    # a recipe with nothing to draw, or a flat one, stays out of the zip, as chart() leaves it off the page
    assert common._zip_figures({"none": lambda: None, "kept": built["gap_per_tier"]}) == {"kept": built["gap_per_tier"]}


def test_coverage_reads_the_answer_timeline_only_once_its_tab_is_open(app_db, monkeypatch):
    """The answer timeline tab has its own query (``pages.timeline_aggregate``): none while the tab is closed, the
    report too leaves it out; opened, the chart and table of the timeline per model, and they join the zip."""
    from apptest import count_calls
    from charts import pages

    calls = count_calls(monkeypatch, pages, "timeline_aggregate")
    at = _app(monkeypatch, app_db, b="math_cot_100")       # 8 samples a question: the tabs (one sample: no tabs)
    at.run()
    calls.clear()               # the first page's
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception and not calls
    assert "answer_timeline" not in at.session_state["_page_figures"]
    at.query_params["cov_tab"] = "Answer timeline"
    at.run()
    assert not at.exception and len(calls) == 1
    assert "answer_timeline" in at.session_state["_page_figures"]
    scatter = _figures(at)[0]
    table = at.dataframe[-1].value
    assert sorted(table.iloc[:, 0]) == sorted(scatter["data"][0]["text"])     # one row per model of the scatter
    assert any("found" in str(c).lower() for c in table.columns)


def test_overview_states_per_tier_accuracy_with_its_interval(app_db, monkeypatch):
    """The Overview opens with its answer: findings with intervals, then one chart of avg@n per tier and group
    (issue 22: no duplicate per-tier table); the numbers behind it in one table."""
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    assert not at.exception and not at.error
    assert not at.dataframe                     # the tables' expanders are closed: they draw nothing until opened
    at.session_state["ov_numbers"] = True       # open "The numbers" (common.expander): the page reruns
    at.run()
    nums = next(d.value for d in at.dataframe if "avg_lo" in d.value.columns)
    assert not any("Easy" in d.value.columns for d in at.dataframe)            # the wide duplicate is gone
    fig = next(f for f in _figures(at) if "per tier" in f["layout"]["title"]["text"])
    base = next(t for t in fig["data"] if t["name"] == "base")
    r = nums[(nums["key"] == "base") & (nums["tier"] == "Easy")].iloc[0]
    assert base["y"][base["x"].index("Easy")] == pytest.approx(r["avg"])
    assert base["error_y"]["array"][base["x"].index("Easy")] == pytest.approx(r["avg_hi"] - r["avg"])
    assert ((nums["avg_lo"] <= nums["avg"] + 1e-12) & (nums["avg"] <= nums["avg_hi"] + 1e-12)).all()
    found = " ".join(m.value for m in at.markdown)
    assert "Easy" in found and "[" in found and "–" in found                 # a finding with its interval


def test_many_models_are_shown_per_group_first(app_db, monkeypatch):
    """Past MANY_KEYS models (2,400 at 10x scale: 9,600 bars and 5 MB of tables per Coverage render) the
    pages open per group; below it, per model; the reader can always switch."""
    from app_pages import common

    for many, expected in ((common.MANY_KEYS, "model"), (5, "group")):
        monkeypatch.setattr(common, "MANY_KEYS", many)
        at = _app(monkeypatch, app_db, b="aime24")       # 19 models, in groups
        at.run()
        at.switch_page("app_pages/coverage.py").run()
        assert not at.exception
        assert at.radio(key="cov_by").value == expected
        assert at.radio(key="cov_by").options == ([expected, "group" if expected == "model" else "model"])


def test_many_models_counts_the_models_of_the_chosen_groups(app_db, monkeypatch):
    """With a group filter, what counts is the models of the chosen groups (a 2,400-model warehouse filtered to
    one group of 800 still opens per group)."""
    from app_pages import common

    monkeypatch.setattr(common, "MANY_KEYS", 5)
    with db.reader(app_db) as con:
        sizes = inventory.options(con)["group_sizes"]["aime24"]
        assert sum(sizes.values()) == con.execute(
            "SELECT count(DISTINCT r.model_id) FROM runs r JOIN models m USING (model_id) "
            "WHERE r.benchmark = 'aime24' AND m.\"group\" IS NOT NULL").fetchone()[0]
    big = max(sizes, key=sizes.get)
    at = _app(monkeypatch, app_db, b="aime24", groups=big)
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    assert not at.exception
    assert at.radio(key="cov_by").value == ("group" if sizes[big] > 5 else "model")


def test_the_per_default_follows_the_filters_until_the_reader_picks(app_db, monkeypatch):
    """A group filter of few models opens a page per model; clearing the filter (all 19 models, past MANY_KEYS)
    turns it back to per group, as a fresh visit would (a widget keeps its value when its options change order:
    the bench's paper-scale Coverage stayed per model over 240 models, 960 bars, 1 s). Once the reader picks,
    the pick stays, whatever the filters."""
    from app_pages import common

    with db.reader(app_db) as con:
        sizes = inventory.options(con)["group_sizes"]["aime24"]
    small = min(sizes, key=sizes.get)
    monkeypatch.setattr(common, "MANY_KEYS", sizes[small])
    at = _app(monkeypatch, app_db, b="aime24", groups=small)
    at.run()
    at.switch_page("app_pages/coverage.py").run()
    assert at.radio(key="cov_by").value == "model"
    at.multiselect(key="f_groups").set_value([]).run()
    assert not at.exception
    assert at.radio(key="cov_by").value == "group"
    assert at.radio(key="cov_by").options == ["group", "model"]
    at.radio(key="cov_by").set_value("model").run()              # the reader's pick
    at.multiselect(key="f_groups").set_value([small]).run()
    at.multiselect(key="f_groups").set_value([]).run()
    assert not at.exception
    assert at.radio(key="cov_by").value == "model"
    assert len(_figures(at)[0]["data"][0]["x"]) == sum(sizes.values())   # one bar per model


def test_trajectories_picks_a_model_first_when_a_question_has_many_samples(app_db, monkeypatch):
    """Past ``common.MANY_SAMPLES`` samples of a question (19,200 at 10x scale) the trajectory and compare boxes
    list one model's samples, after a model box: the open trajectory decides the model (arrows, links), choosing a
    model opens its first sample, and the compare box works the same way."""
    from app_pages import common
    from warehouse import db, inventory

    with db.reader(app_db) as con:
        models = inventory.options(con)["models"]["aime24"]          # 19 models, one sample each
    monkeypatch.setattr(common, "MANY_SAMPLES", 3)
    at = _app(monkeypatch, app_db, b="aime24")
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    qid = at.selectbox(key="traj_q").value
    mbox, tbox = at.selectbox(key=f"traj_m_{qid}"), at.selectbox(key=f"traj_t_{qid}")
    assert mbox.label.startswith("Open a trajectory: model") and len(mbox.options) == len(models)
    assert tbox.options == ["sample 0 · " + tbox.options[0].split(" · ", 1)[1]]    # one model's samples, unnamed
    first, other = at.session_state[f"traj_t_{qid}"], next(m for m in models if m != mbox.value)
    at.selectbox(key=f"traj_m_{qid}").set_value(other).run()
    assert not at.exception
    assert at.selectbox(key=f"traj_m_{qid}").value == other
    opened = at.session_state[f"traj_t_{qid}"]
    assert opened != first and str(at.query_params["t"]).strip("[]'\"") == str(opened)
    # the arrows walk every sample of the question; the model box follows the open trajectory
    at.button(key="traj_t_next").click().run()
    assert not at.exception and at.selectbox(key=f"traj_m_{qid}").value != other
    # compare: a model, then its first sample opens beside
    at.selectbox(key=f"traj_m2_{qid}").set_value(other).run()
    assert not at.exception
    assert at.session_state[f"traj_t2_{qid}"] == opened
    assert str(at.query_params["t2"]).strip("[]'\"") == str(opened)
