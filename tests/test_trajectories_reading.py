"""The Trajectories page read as a reader reads it (AppTest; tests/test_trajectories_browser.py does the same in
Chromium): the response's every character is shown (math rendered, Markdown syntax literal; a raw view shows the
stored string), every question pick is honoured, the sample opened first is informative, previous/next move,
and search hits are a table without raw ids. The warehouse is built through the real import (``build``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app_pages.common import rich
from warehouse import db, trajectory

from test_app_pages import _app

BENCH = "reading"
# Every Markdown syntax character outside math, and math in each of KaTeX's four delimiters.
FIDELITY = ("Check: 3/7 = (3*30)/(7*30) and C(4,2)*C(6,2) = 90.\n"
            "snake_case_name # no heading | a | b | <b>not bold</b> `not code` back\\slash \\\\ two ~x~ [l](u) &amp;\n"
            "  indented line\n\n"
            "With math $x^2 + y_1$ and \\(a*b\\) and \\[\\frac{1}{2}\\] and $$c_2$$, costs $5 and $10.\n\n"
            "1. not a list\n- not a bullet\n> not a quote\n\n"
            "So the answer is \\boxed{90}.")
MATH = ["$x^2 + y_1$", "\\(a*b\\)", "\\[\\frac{1}{2}\\]", "$$c_2$$"]

# question -> (problem, gold, {model: [responses]}); q1 has right, wrong and empty samples
QUESTIONS = {
    "q1": ("How many ways? $\\binom{4}{2}\\binom{6}{2}$", "90",
           {"m-a": [FIDELITY, "I think so.\n\nSo the answer is \\boxed{7}.", ""],
            "m-b": ["So the answer is \\boxed{90}."]}),
    "q2": ("Two plus two?", "4", {"m-a": ["So the answer is \\boxed{4}."], "m-b": ["So the answer is \\boxed{5}."]}),
    "q3": ("Three plus three?", "6", {"m-a": ["So the answer is \\boxed{6}."], "m-b": ["So the answer is \\boxed{6}."]}),
    "q4": ("Four plus four?", "8", {"m-a": ["So the answer is \\boxed{9}."], "m-b": ["So the answer is \\boxed{9}."]}),
}


def build(folder: Path) -> Path:
    """Each model's trace file, imported with ``python -m pipeline import`` (the first file creates the benchmark)."""
    from pipeline.cli import main

    path = folder / "reading.duckdb"
    for model in ("m-a", "m-b"):
        f = folder / f"{model}.jsonl"
        rows = [{"model": model, "question_id": q, "problem": p, "answer": gold, "sample_idx": i, "response": r}
                for q, (p, gold, by) in QUESTIONS.items() for i, r in enumerate(by[model])]
        f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        assert main(["import", "--format", "jsonl", "--benchmark", BENCH, "--data-dir", str(folder),
                     "--db", str(path), str(f)]) == 0
    return path


@pytest.fixture(scope="module")
def reading_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("reading"))


def tid_of(path: Path, qid: str, model: str, sample: int) -> int:
    with db.reader(path) as con:
        return int(con.execute("SELECT trajectory_id FROM trajectories t JOIN runs r USING (run_id) "
                               "WHERE r.model_id = ? AND t.question_id = ? AND t.sample_idx = ?",
                               [model, qid, sample]).fetchall()[0][0])


def _page(monkeypatch, path, **params):
    at = _app(monkeypatch, path, b=BENCH, **params)
    at.run()
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    return at


def _qp(at, key):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


@pytest.mark.parametrize("text, out", [
    ("3/7 = (3*30)/(7*30)", "3\\/7 \\= \\(3\\*30\\)\\/\\(7\\*30\\)"),
    ("C(4,2)*C(6,2)", "C\\(4\\,2\\)\\*C\\(6\\,2\\)"),
    ("a_b # c | d < e `f` \\g", "a\\_b \\# c \\| d \\< e \\`f\\` \\\\g"),
    ("costs $5 and $10", "costs \\$5 and \\$10"),                # currency, not math
    ("so $x*y$ and \\(a_b\\)", "so $x*y$ and $a_b$"),              # math kept as written
    ("line one\nline two\n\n  indented", "line one  \nline two\n\n\u00a0\u00a0indented"),
])
def test_rich_escapes_everything_outside_math(text, out):
    assert rich(text) == out


def test_every_character_is_shown_and_the_raw_view_is_the_stored_string(reading_db, monkeypatch):
    tid = tid_of(reading_db, "q1", "m-a", 0)
    at = _page(monkeypatch, reading_db, q="q1", t=str(tid))
    assert at.selectbox(key="traj_t_q1").value == tid
    shown = "\n".join(m.value for m in at.markdown)
    for piece in ("3\\/7 \\= \\(3\\*30\\)\\/\\(7\\*30\\)", "C\\(4\\,2\\)\\*C\\(6\\,2\\)", "snake\\_case\\_name",
                  "\\# no heading \\|", "\\<b\\>not bold\\<\\/b\\>", "\\`not code\\`", "back\\\\slash",
                  "$x^2 + y_1$", "$a*b$", "$$\\frac{1}{2}$$", "$$c_2$$", "costs \\$5 and \\$10"):
        assert piece in shown, piece
    assert not any(m.proto.allow_html for m in at.markdown)
    at.toggle(key="traj_raw").set_value(True).run()
    assert not at.exception
    assert [c.value for c in at.code] == [FIDELITY]
    assert at.code[0].language in ("", None, "text", "plaintext")


def test_three_question_picks_in_a_row_are_each_honoured(reading_db, monkeypatch):
    at = _page(monkeypatch, reading_db, q="q2")
    assert at.selectbox(key="traj_q").value == "q2"
    for qid in ("q4", "q3", "q1"):
        at.selectbox(key="traj_q").set_value(qid).run()
        assert not at.exception
        assert at.selectbox(key="traj_q").value == qid and _qp(at, "q") == qid
        assert at.expander[0].label.startswith(f"Problem {qid} ")
        with db.reader(reading_db) as con:
            opened = trajectory.trajectory(con, int(_qp(at, "t")))
        assert opened["question_id"] == qid                     # the permalink names a sample of this question


def test_the_default_sample_is_informative_and_prev_next_move(reading_db, monkeypatch):
    at = _page(monkeypatch, reading_db, q="q1")
    # q1: m-a has right, wrong and empty samples, m-b a right one: the wrong, non-empty one opens
    assert at.selectbox(key="traj_t_q1").value == tid_of(reading_db, "q1", "m-a", 1)
    assert at.expander[0].proto.expanded is False               # the problem is collapsed
    at.button(key="traj_t_next").click().run()
    assert at.selectbox(key="traj_t_q1").value == tid_of(reading_db, "q1", "m-a", 2)
    at.button(key="traj_t_prev").click().run()
    at.button(key="traj_t_prev").click().run()
    assert at.selectbox(key="traj_t_q1").value == tid_of(reading_db, "q1", "m-a", 0)
    order = [o.split(" · ")[0] for o in at.selectbox(key="traj_q").options]
    assert order == ["q3", "q1", "q2", "q4"]                   # by accuracy, then id
    at.button(key="traj_q_next").click().run()
    nxt = "q2"
    assert at.selectbox(key="traj_q").value == nxt and _qp(at, "q") == nxt
    at.button(key="traj_q_prev").click().run()
    assert at.selectbox(key="traj_q").value == "q1"


def test_a_permalink_opens_its_trajectory(reading_db, monkeypatch):
    tid = tid_of(reading_db, "q1", "m-b", 0)
    at = _page(monkeypatch, reading_db, q="q1", t=str(tid))
    assert at.selectbox(key="traj_t_q1").value == tid and _qp(at, "t") == str(tid)


def test_search_hits_are_a_table_with_the_match_and_no_raw_ids(reading_db, monkeypatch):
    at = _page(monkeypatch, reading_db, q="q2", s="not bold")
    hits = next(d.value for d in at.dataframe if "match" in d.value.columns)
    assert list(hits.columns) == ["model", "question", "sample", "verdict", "before", "match", "after"]
    assert hits["match"].tolist() == ["not bold"] and hits["question"].tolist() == ["q1"]
    assert hits["before"][0].endswith("<b>") and hits["after"][0].startswith("</b>")
    with db.reader(reading_db) as con:
        ids = {str(i) for (i,) in con.execute("SELECT trajectory_id FROM trajectories").fetchall()}
    for d in at.dataframe:
        cells = {str(v) for col in d.value.columns for v in d.value[col].tolist()}
        assert not ids & cells, "a raw trajectory id is shown"
