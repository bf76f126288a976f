"""lighteval details parquet files (both column layouts) written with `datasets` from the real traces, laid out
as lighteval saves them (details/<org>/<model>/<timestamp>/details_<task>_<timestamp>.parquet)."""
import pytest

from import_fixtures import MAJ8, SKY, aime_ids, rows, source_verdicts, split_thought, write_lighteval_details
from pipeline.ingest.importers import lighteval
from pipeline.ingest.session import ImportSession
from warehouse import db
from warehouse.records import normalize_problem

TS = "2025-03-01T10-11-12.123456"
TEMPLATE = ("Solve the following math problem efficiently and clearly. The last line of your response should be "
            "of the following format: 'Therefore, the final answer is: $\\boxed{{ANSWER}}$.'\n\n{q}")


@pytest.fixture(scope="module")
def details(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("lighteval") / "details"
    sky = rows(shared, SKY)
    d = root / "NovaSky-AI" / "Sky-T1-14B" / TS
    d.mkdir(parents=True)
    write_lighteval_details(d / f"details_lighteval|aime24|0_{TS}.parquet", sky, template=TEMPLATE, reasoning=True)
    maj = rows(shared, MAJ8, limit=10)
    d2 = root / "Qwen" / "Qwen2.5-Math-7B" / TS
    d2.mkdir(parents=True)
    write_lighteval_details(d2 / f"details_lighteval|math_cot|0_{TS}.parquet", maj, old_layout=True)
    return root, sky, maj


def _got(path):
    with db.reader(path) as con:
        return con.execute("SELECT r.model_id, t.question_id, t.sample_idx, t.source_correct, t.response, t.n_tokens "
                           "FROM trajectories t JOIN runs r USING (run_id)").fetchall()


def test_new_layout_templated_queries_match_and_keep_verdicts(shared, details, tmp_db):
    root, sky, _ = details
    (f, model), = [x for x in lighteval.files(root) if "aime24" in x[0].name]
    assert model == "NovaSky-AI/Sky-T1-14B" and lighteval.task_of(f) == "lighteval|aime24|0"
    rep = ImportSession(tmp_db, shared).import_path(f, "lighteval", "aime24")[0]
    assert (rep.new, rep.rejected, rep.unmatched) == (30, 0, 0)
    ids = aime_ids(shared)
    got = _got(tmp_db)
    assert {(q, i): c for _, q, i, c, *_ in got} == source_verdicts(sky, lambda r: ids[normalize_problem(r["question"])])
    by_q = {t[1]: t for t in got}
    for r in sky:
        thought, text = split_thought(r["code"][0])
        t = by_q[ids[normalize_problem(r["question"])]]
        assert t[0] == "NovaSky-AI/Sky-T1-14B"
        assert t[4] == (f"<think>\n{thought}\n</think>\n\n{text}" if thought else r["code"][0])
        assert t[5] == len(text if thought else r["code"][0]) // 4 + 1
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT config->>'lighteval_task', config->>'lighteval_metric', source_format FROM runs"
                           ).fetchall() == [("lighteval|aime24|0", "extractive_match", "lighteval")]


def test_old_layout_and_document_level_metric(shared, details, tmp_db):
    root, _, maj = details
    (f, model), = [x for x in lighteval.files(root) if "math_cot" in x[0].name]
    rep = ImportSession(tmp_db, shared).import_path(f, "lighteval", "maj_le", model=None)[0]
    assert (rep.new, rep.rejected) == (80, 0)
    got = _got(tmp_db)
    assert {t[0] for t in got} == {"Qwen/Qwen2.5-Math-7B"}
    with db.reader(tmp_db) as con:
        qid_of = {p: q for q, p in con.execute("SELECT question_id, problem FROM questions").fetchall()}
    src = source_verdicts(maj, lambda r: qid_of[r["question"]])
    # lighteval scores the document: its mean over 8 generations is each one's verdict only when it is 0 or 1
    for (q, i), c in {(q, i): c for _, q, i, c, *_ in got}.items():
        same = {src[(q, j)] for j in range(8)}
        assert c == (src[(q, i)] if len(same) == 1 else None)
    assert any(c is not None for *_, c, _r, _n in got) and any(c is None for *_, c, _r, _n in got)


def test_rows_without_a_match_are_reported(shared, tmp_path, tmp_db):
    f = write_lighteval_details(tmp_path / f"details_x_{TS}.parquet",
                                [{"question": "What is 1+1 in base 3?", "gt": "2", "code": ["2"], "score": [True]}])
    rep = ImportSession(tmp_db, shared).import_path(f, "lighteval", "aime24")[0]
    assert rep.unmatched == 1 and str(rep.problems[0]).startswith(f"{f}:1: question: no question of benchmark 'aime24'")


def test_malformed_rows_keep_the_good_ones(shared, tmp_path, tmp_db):
    import datasets

    sky = rows(shared, SKY, limit=3)

    def rec(query, texts, value=1.0):
        return {"doc": {"query": query, "choices": ["x"], "gold_index": 0, "id": "0"},
                "model_response": {"input": query, "text": texts}, "metric": {"extractive_match": value}}
    recs = [rec(sky[0]["question"], [sky[0]["code"][0]], float(sky[0]["score"][0])),
            rec("", ["an answer"]),                                   # no query text
            rec(sky[1]["question"], []),                              # no generations
            rec(sky[2]["question"], [sky[2]["code"][0]], 0.5)]        # not 0/1: verdict unknown, kept
    f = tmp_path / f"details_lighteval|aime24|0_{TS}.parquet"
    datasets.Dataset.from_list(recs).to_parquet(str(f))
    rep = ImportSession(tmp_db, shared).import_path(f, "lighteval", "aime24")[0]
    assert [str(p) for p in rep.problems] == [f"{f}:2: doc: no query text to match a question",
                                              f"{f}:3: model_response.text: missing or not a non-empty list of "
                                              "generations, got []"]
    assert (rep.new, rep.rejected) == (2, 2)
    assert sorted(t[3] is None for t in _got(tmp_db)) == [False, True]
