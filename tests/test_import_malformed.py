"""Bad input: each problem is one `file:line: field: message`, good records are kept, --strict writes nothing."""
import json


from pipeline.cli import main
from pipeline.ingest.session import ImportSession
from warehouse import db

from test_import_qwen_eval import snapshot


def _good(aime_problems, i, sample=0, **kw):
    q = aime_problems[i]
    rec = {"model": "m1", "question_id": str(q["id"]), "sample_idx": sample,
           "response": f"... so the answer is \\boxed{{{int(q['answer'])}}}", "correct": True, "pred": q["answer"]}
    rec.update(kw)
    return json.dumps(rec).encode()


def _write(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_jsonl_bad_lines_are_reported_and_good_ones_kept(shared, aime_problems, tmp_path, tmp_db):
    f = _write(tmp_path / "mixed.jsonl", [
        _good(aime_problems, 0),
        b'{"model": "m1", "question_id": "61", "response": ',          # 2 malformed JSON
        _good(aime_problems, 1)[:-1] + b', "note": "\xff\xfe"}',                 # 3 invalid UTF-8
        json.dumps({"model": "m1", "question_id": "62"}).encode(),      # 4 missing response
        json.dumps({"model": "m1", "question_id": "63", "response": 42}).encode(),   # 5 mistyped
        json.dumps({"model": "m1", "question_id": "64", "response": "x", "sample_idx": "a"}).encode(),  # 6
        json.dumps({"model": "m1", "question_id": "999", "response": "x"}).encode(),  # 7 unmatched id
        b"[1, 2]",                                                       # 8 not an object
        _good(aime_problems, 2, response=""),                                    # 9 empty response: kept, warned
        json.dumps({"model": "m1", "problem": aime_problems[3]["problem"].upper().replace(" ", "  "),
                    "response": "r"}).encode(),                          # 10 matched by normalized text
        _good(aime_problems, 0),                                                  # 11 duplicate sample
    ])
    rep = ImportSession(tmp_db, shared).import_path(f, "jsonl", "aime24")[0]
    msgs = [str(p) for p in rep.problems]
    assert f"{f}:2: line: malformed JSON" in msgs[0]
    expected = [(2, "line", "malformed JSON"), (3, "line", "invalid UTF-8"), (4, "response", "missing"),
                (5, "response", "expected a string"), (6, "sample_idx", "non-negative integer"),
                (7, "question", "no question of benchmark 'aime24' matches id '999'"),
                (8, "line", "expected a JSON object"), (9, "response", "empty response"),
                (11, "sample_idx", "duplicate sample")]
    got = [(p.line, p.field, p.message) for p in rep.problems]
    assert len(got) == len(expected)
    for (line, fld, msg), (gl, gf, gm) in zip(expected, got):
        assert (gl, gf) == (line, fld) and msg in gm
    assert (rep.new, rep.rejected, rep.unmatched, rep.warnings) == (3, 8, 1, 1)
    with db.reader(tmp_db) as con:
        got_q = sorted(r[0] for r in con.execute("SELECT question_id FROM trajectories").fetchall())
    assert got_q == ["60", "62", "63"]   # line 1, the empty response (line 9), the text match (line 10)


def test_empty_file_and_huge_line(shared, aime_problems, tmp_path, tmp_db):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n \n")
    rep = ImportSession(tmp_db, shared).import_path(empty, "qwen-eval", "aime24")[0]
    assert [str(p) for p in rep.problems] == [f"{empty}:0: file: empty file: no JSON lines"]
    assert rep.rejected == 1 and not rep.ok

    big = tmp_path / "big.jsonl"
    with open(big, "wb") as fh:
        fh.write(_good(aime_problems, 0) + b"\n")
        fh.write(b'{"model": "m1", "question_id": "61", "response": "' + b"a" * (50 * 1024 * 1024) + b'"}\n')
        fh.write(_good(aime_problems, 2) + b"\n")
    s = ImportSession(tmp_db, shared)
    rep = s.import_path(big, "jsonl", "aime24")[0]
    assert [(p.line, p.field) for p in rep.problems] == [(2, "line")]
    assert "50.0 MiB, over the 16 MiB limit" in rep.problems[0].message
    assert rep.new == 2


def test_qwen_eval_field_problems(shared, tmp_path, tmp_db):
    src = [json.loads(line) for line in open(shared / "traces/skythought-aime24/gemma-2-27b-it.jsonl", encoding="utf-8")]
    rows = [dict(src[0]), dict(src[1], code="only one response as a string"), dict(src[2]), dict(src[3]),
            dict(src[4])]
    del rows[2]["question"]
    rows[3]["code"] = []
    rows[4]["score"] = [True, False]          # wrong length: verdicts ignored, sample kept
    f = _write(tmp_path / "gemma.jsonl", [json.dumps(r).encode() for r in rows])
    rep = ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "aime24")[0]
    assert [str(p).split(": ", 2)[:2] for p in rep.problems] == [
        [f"{f}:3", "question"], [f"{f}:4", "code"], [f"{f}:5", "score"]]
    assert (rep.new, rep.rejected, rep.warnings) == (3, 2, 1)


def test_strict_leaves_the_warehouse_exactly_as_it_was(shared, aime_problems, tmp_path, tmp_db):
    good = shared / "traces" / "skythought-aime24" / "Qwen2.5-Math-7B.jsonl"
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(good)]) == 0
    before = snapshot(tmp_db)
    bad = _write(tmp_path / "bad.jsonl", [_good(aime_problems, i, model="m2") for i in range(10)] + [b"{not json"])
    assert main(["import", "--strict", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db),
                 str(bad)]) == 1
    assert snapshot(tmp_db) == before
    # the same file on a fresh warehouse under --strict: not even the benchmark gets installed
    fresh = tmp_path / "fresh.duckdb"
    assert main(["import", "--strict", "--format", "jsonl", "--benchmark", "aime24", "--db", str(fresh),
                 str(bad)]) == 1
    assert not fresh.exists()
    # without --strict the 10 good lines are kept, and the exit status still says something was rejected
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(bad)]) == 1
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT count(*) FROM runs JOIN trajectories USING (run_id) "
                           "WHERE model_id = 'm2'").fetchall() == [(10,)]


def test_missing_path_is_a_clear_error(tmp_path, tmp_db, capsys):
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db),
                 str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: no such file or folder" in capsys.readouterr().err
