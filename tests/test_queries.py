"""The warehouse's browsing queries (inventory, questions, one trajectory, search, step-error counts)
and figure builders on the real demo warehouse."""
import json

import polars as pl
import pytest

import charts
from analysis import metrics
from warehouse import db, failures, frames, inventory, questions, search, trajectory
from warehouse.filters import Selection

ALL = Selection("aime24")


def test_contents_and_provenance(app_db, shared):
    with db.reader(app_db) as con:
        counts = inventory.counts(con)
        runs = inventory.runs(con, "aime24")
        bench = inventory.benchmarks(con).filter(benchmark="aime24").row(0, named=True)
        opts = inventory.options(con)
    n_files = len(list((shared / "traces" / "skythought-aime24").glob("*.jsonl")))
    assert counts["trajectories"] >= 30 * n_files and runs.height == n_files
    assert set(runs["source_format"]) == {"qwen-eval"} and runs["trajectories"].to_list() == [30] * n_files
    assert opts["benchmarks"][0] == "aime24"
    assert all(f.endswith(".jsonl") for f in runs["source_file"])
    assert bench["questions"] == 30 and bench["models"] == n_files
    assert opts["tiers"]["aime24"] == ["Easy", "Medium", "Hard", "Exh"]
    assert "Geometry" in opts["categories"]["aime24"] and len(opts["models"]["aime24"]) == n_files


def test_tier_accuracy_matches_source_scores(app_db, shared):
    """Per-tier accuracy of one model recomputed straight from its file."""
    f = shared / "traces" / "skythought-aime24" / "Qwen2.5-14B-Instruct.jsonl"
    rows = [json.loads(line) for line in f.read_text().splitlines()]
    with db.reader(app_db) as con:
        acc = questions.tier_accuracy(con, Selection("aime24", models=("Qwen2.5-14B-Instruct",)))
        tiers = dict(con.execute("SELECT q.problem_norm, t.tier FROM questions q JOIN question_tiers t "
                                 "USING (benchmark, question_id) WHERE t.scheme = 'paper'").fetchall())
    from warehouse.records import normalize_problem
    expect = {}
    for r in rows:
        expect.setdefault(tiers[normalize_problem(r["question"])], []).append(float(r["score"][0]))
    got = {r["tier"]: r["accuracy"] for r in acc.iter_rows(named=True)}
    assert got.keys() == expect.keys()
    for t, v in expect.items():
        assert abs(got[t] - sum(v) / len(v)) < 1e-9


def test_questions_sorted_by_tier_and_filtered(app_db):
    with db.reader(app_db) as con:
        qs = questions.questions(con, ALL)
        hard = questions.questions(con, Selection("aime24", tiers=("Hard", "Exh"), categories=("Geometry",)))
        q60 = questions.question(con, "aime24", "60")
    ranks = [["Easy", "Medium", "Hard", "Exh"].index(t) for t in qs["tier"]]
    assert qs.height == 30 and ranks == sorted(ranks)
    assert 0 < hard.height < 30 and set(hard["tier"]) <= {"Hard", "Exh"} and set(hard["category"]) == {"Geometry"}
    assert q60["answer"] == "204" and q60["tier"] is not None


def test_grid_trajectory_and_search(app_db):
    with db.reader(app_db) as con:
        grid = questions.sample_grid(con, Selection("aime24", groups=("base",)), "60")
        t = trajectory.trajectory(con, grid["trajectory_id"][1])
        hits = search.search(con, ALL, "\\boxed", 5)
        none = search.search(con, ALL, "zz-no-such-text-qq", 5)
    assert grid.height == 4 and "response" not in grid.columns   # the grid never reads text
    assert t["gold"] == "204" and t["question_id"] == "60" and len(t["response"]) == t["n_chars"]
    assert hits.height == 5 and all("boxed" in s.lower() for s in hits["snippet"])
    assert none.is_empty()


def test_taxonomy_rejects_unknown_dimension(app_db):
    import pytest
    with db.reader(app_db) as con, pytest.raises(ValueError, match="by must be one of"):
        failures.step_error_counts(con, ALL, by="model_id; DROP TABLE x")


def test_ladder_figure_traces_and_tier_bands(app_db):
    with db.reader(app_db) as con:
        sel = Selection("aime24", models=("Qwen2.5-14B-Instruct", "Llama-3.1-8B"))
        acc = metrics.question_accuracy(frames.per_question(con, sel), frames.reference_values(con, sel))
    fig = charts.ladder_figure(acc, series="key")
    assert {tr.name for tr in fig.data} == {"Qwen2.5-14B-Instruct", "Llama-3.1-8B"}
    assert [s.name for s in fig.layout.shapes] == ["tier:Easy", "tier:Medium", "tier:Hard", "tier:Exh"]
    order = list(fig.layout.xaxis.categoryarray)
    tier_of = dict(zip(acc["question_id"], acc["tier"]))
    ranks = [["Easy", "Medium", "Hard", "Exh"].index(tier_of[q]) for q in order]
    assert len(order) == 30 and ranks == sorted(ranks)
    ref = pl.DataFrame({"question_id": ["60", "61"], "group": ["base", "base"], "value": [0.5, 0.25]})
    assert len(charts.ladder_figure(acc, series="key", reference=ref).data) == 3
    assert charts.ladder_figure(acc.clear(), series="key").layout.annotations[0].text.startswith("nothing")


def test_search_is_smart_case_and_treats_wildcards_literally(app_db):
    with db.reader(app_db) as con:
        lower = search.search(con, ALL, "aya", 1000)      # all lower case: case-insensitive
        exact = search.search(con, ALL, "Aya", 1000)      # an upper-case letter: case-sensitive
        shout = search.search(con, ALL, "AYA WALKS", 1000)
        wild = search.search(con, ALL, "a%b_c", 5)        # LIKE wildcards are plain characters
        n_ci = con.execute("SELECT count(*) FROM trajectories WHERE benchmark = 'aime24' "
                           "AND contains(lower(response), 'aya')").fetchall()[0][0]
        n_cs = con.execute("SELECT count(*) FROM trajectories WHERE benchmark = 'aime24' "
                           "AND contains(response, 'Aya')").fetchall()[0][0]
    assert 0 < n_cs <= n_ci
    assert lower.height == min(n_ci, 1000) and exact.height == min(n_cs, 1000)
    assert all("Aya" in s for s in exact["snippet"])
    assert shout.is_empty() and wild.is_empty()


# Query shapes that take every path of search_condition: an anchor at a rare character, a
# caseless part checked first ("204", "$"), wildcards, a query with nothing to fold.
SEARCHES = ["the answer is 204", "so the answer", "let me check", "\\boxed{204}", "Wait, let me",
            "x^2 + y^2", "aya", "AYA WALKS", "= 204", "50%", "a_1", "frac{1}{2}", "z", "Therefore, the"]


@pytest.mark.parametrize("min_rows", [1_000_000, 300])
def test_search_finds_exactly_what_a_plain_scan_finds(app_db, monkeypatch, min_rows):
    """Every shortcut in the search (rare-character anchor, caseless part first, parallel row
    ranges, snippets read by row id) returns what the plain definition returns: a case-sensitive
    substring when the query has an upper-case letter, a case-insensitive one otherwise. In one
    range, and in 300-row ranges (the demo warehouse scanned in several parallel parts)."""
    monkeypatch.setattr(search, "SCAN_MIN_ROWS", min_rows)
    with db.reader(app_db) as con:
        assert (len(search._scan_ranges(con, ALL)) > 1) == (min_rows == 300)
        for text in SEARCHES:
            hits = search.search(con, ALL, text, 100_000)
            col, needle = ("response", text) if any(c.isupper() for c in text) else ("lower(response)", text)
            want = {r[0] for r in con.execute(
                f"SELECT trajectory_id FROM trajectories WHERE benchmark = 'aime24' AND contains({col}, ?)",
                [needle]).fetchall()}
            assert set(hits["trajectory_id"]) == want, text
            assert hits["trajectory_id"].is_unique().all()
            for snip in hits["snippet"]:
                assert needle in (snip if col == "response" else snip.lower()), (text, snip)


def test_search_anchor_starts_at_the_rarest_character():
    assert search.search_anchor("so the answer might be $17$") == "$17$"
    assert search.search_anchor("vieta") == "vieta"                 # shorter than 4: itself
    assert search.search_anchor("let me check") == "me check"       # 'k' is rarer, but too close to the end
    cond, _, params = search.search_condition("the answer is 204")
    assert params == ["204", "%wer is 204%", "%the answer is 204%"]  # cheapest check first
    assert search.search_condition("50%")[2] == ["50%"]             # nothing to fold: a plain substring


def test_search_scan_ranges_cover_every_row(app_db, monkeypatch):
    monkeypatch.setattr(search, "SCAN_MIN_ROWS", 300)
    with db.reader(app_db) as con:
        rows = con.execute("SELECT max(rowid) + 1 FROM trajectories").fetchall()[0][0]
        bench, last = con.execute("SELECT benchmark, response FROM trajectories WHERE rowid = ?",
                                  [rows - 1]).fetchall()[0]
        ranges = search._scan_ranges(con, Selection(bench))
        ids = [r[0] for r in con.execute("SELECT rowid FROM trajectories WHERE benchmark = ?", [bench]).fetchall()]
        tail = search.search(con, Selection(bench), last[-40:], 100_000)
    assert ranges[-1][1] == rows and len(ranges) > 1
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))     # sorted, disjoint
    assert all(any(lo <= i < hi for lo, hi in ranges) for i in ids)  # every row of the benchmark
    assert tail.height >= 1                                         # the table's last row is searched


def test_search_within_models_reads_only_their_rows(app_db, monkeypatch):
    """A search within two models scans the row ranges of their runs only, and finds exactly
    what a plain scan of those models' responses finds."""
    monkeypatch.setattr(search, "SCAN_MIN_ROWS", 16)
    with db.reader(app_db) as con:
        models = tuple(sorted(inventory.options(con)["models"]["aime24"])[:2])
        sel = Selection("aime24", models=models)
        ranges = search._scan_ranges(con, sel)
        hits = search.search(con, sel, "therefore", 100_000)
        want = {r[0] for r in con.execute(
            "SELECT t.trajectory_id FROM trajectories t JOIN runs r USING (run_id) "
            "WHERE t.benchmark = 'aime24' AND list_contains(?, r.model_id) "
            "AND contains(lower(t.response), 'therefore')", [list(models)]).fetchall()}
        inside = con.execute("SELECT count(*) FROM trajectories t JOIN runs r USING (run_id) "
                             "WHERE list_contains(?, r.model_id) AND r.benchmark = 'aime24'",
                             [list(models)]).fetchall()[0][0]
    assert want and set(hits["trajectory_id"]) == want and set(hits["model_id"]) <= set(models)
    assert inside <= sum(hi - lo for lo, hi in ranges) < 4 * inside      # their runs, not the table


def test_flag_counts_and_first_errors_take_their_cheap_plans_with_the_same_answer(app_db):
    """Issue 24 (576,000 trajectories): a flag is counted with count(*) (the table's key holds a trajectory
    once per annotator and flag; count(DISTINCT) cost 3x the CPU), and ``first_errors`` counts the steps of
    every trajectory when the selection is a third of the warehouse or more, of the selected ones only
    else: the same rows as the definitions, computed here from the tables themselves."""
    from warehouse import verdicts

    with db.reader(app_db) as con:
        keys = con.execute("SELECT count(*), count(DISTINCT (trajectory_id, annotator, flag)) "
                           "FROM trajectory_flags").fetchall()[0]
        assert keys[0] == keys[1] > 0
        opts, plans = inventory.options(con), set()
        for sel in [s for b in opts["benchmarks"] for s in (Selection(b), Selection(b, models=opts["models"][b][:1]))]:
            where, params = sel.where("o")
            want = db.query(con, f"""
                SELECT x.flag, x.annotator, count(DISTINCT x.trajectory_id) AS trajectories
                FROM trajectory_flags x JOIN outcomes o USING (trajectory_id) WHERE {where} GROUP BY ALL""", params)
            got = (failures.flag_counts(con, sel, "model").group_by("flag", "annotator")
                   .agg(pl.col("trajectories").sum()))
            assert got.sort("flag", "annotator").equals(want.sort("flag", "annotator"))
            steps = dict(con.execute("SELECT trajectory_id, count(*) FROM steps GROUP BY ALL").fetchall())
            v = verdicts.first_errors(con, sel)
            assert v.height and v["n_steps"].to_list() == [steps.get(t, 0) for t in v["trajectory_id"].to_list()]
            picked = con.execute(f"SELECT count(*) FROM outcomes o WHERE {where}", params).fetchall()[0][0]
            plans.add(3 * picked >= con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0])
        assert plans == {True, False}           # both ways of counting steps were taken
