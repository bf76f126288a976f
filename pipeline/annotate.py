"""Warehouse-level drivers: grade, segment and annotate stored trajectories; score annotators.

Every driver reads a batch with a read-only connection, computes outside any transaction, and
writes the batch in one short ``db.writer()`` transaction, so the app can read in between.
Re-running replaces what the previous run wrote (idempotent).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Sequence

from pipeline import grade as grader
from pipeline import postprocess
from pipeline.annotators import AnnotateInput, AnnotationResult, get_annotator
from pipeline.steps import segment
from warehouse import db, ingest, stats
from warehouse.records import Grade

BATCH = 500


def _batches(db_path, sql: str, params: list, size: int = BATCH) -> Iterator[list[dict]]:
    """Trajectory rows in batches of ``size``, keyset-paginated on trajectory_id."""
    last = None
    while True:
        page_sql = sql + (" AND t.trajectory_id > ?" if last is not None else "") + \
            " ORDER BY t.trajectory_id LIMIT ?"
        with db.reader(db_path) as con:
            rows = db.query(con, page_sql, params + ([last] if last is not None else []) + [size]).to_dicts()
        if not rows:
            return
        yield rows
        last = rows[-1]["trajectory_id"]


_TRAJ_SQL = """
SELECT t.trajectory_id, t.run_id, t.benchmark, t.question_id, t.response, t.finish_reason,
       q.problem, q.answer AS gold, coalesce(b.answer_type, 'math') AS answer_type
FROM trajectories t
LEFT JOIN questions q USING (benchmark, question_id)
LEFT JOIN benchmarks b USING (benchmark)
WHERE true
"""


def grade_warehouse(db_path=None, regrade: bool = False, workers: int | None = None,
                    batch: int = 2000) -> dict:
    """Grade stored trajectories with the ``ladder`` grader (only ungraded ones unless ``regrade``).

    Sets meta ``active_grader``/``active_grader_version`` and refreshes run stats in the same
    transaction as each batch of grades. Returns counts per reason.
    """
    sql = _TRAJ_SQL
    params: list = []
    if not regrade:
        sql += (" AND NOT EXISTS (SELECT 1 FROM grades g WHERE g.trajectory_id = t.trajectory_id "
                "AND g.grader = ? AND g.grader_version = ?)")
        params = [grader.GRADER, grader.GRADER_VERSION]
    counts = {r: 0 for r in grader.REASONS}
    n_nogold = 0
    for rows in _batches(db_path, sql, params, batch):
        rows_ok = [r for r in rows if r["gold"] is not None]
        n_nogold += len(rows) - len(rows_ok)
        verdicts = grader.grade_many([(r["response"], r["gold"], r["answer_type"], r["finish_reason"])
                                      for r in rows_ok], workers=workers)
        grades = [Grade(r["trajectory_id"], grader.GRADER, grader.GRADER_VERSION, v.extracted, v.is_correct,
                        v.reason) for r, v in zip(rows_ok, verdicts)]
        for v in verdicts:
            counts[v.reason] += 1
        with db.writer(db_path) as con:
            ingest.upsert_grades(con, grades)
            db.set_meta(con, "active_grader", grader.GRADER)
            db.set_meta(con, "active_grader_version", grader.GRADER_VERSION)
            stats.refresh_run_stats(con, sorted({r["run_id"] for r in rows_ok}))
    return {"graded": sum(counts.values()), "no_gold": n_nogold, **counts}


def segment_warehouse(db_path=None, batch: int = BATCH) -> dict:
    """(Re)segment every stored trajectory into steps."""
    n_traj = n_steps = 0
    for rows in _batches(db_path, _TRAJ_SQL, [], batch):
        steps = postprocess.step_table([(r["trajectory_id"], segment(r["response"])) for r in rows])
        with db.writer(db_path) as con:
            ingest.replace_steps(con, [r["trajectory_id"] for r in rows], steps)
        n_traj += len(rows)
        n_steps += steps.num_rows
    return {"trajectories": n_traj, "steps": n_steps}


def _inputs(db_path, rows: list[dict]) -> list[AnnotateInput]:
    """AnnotateInput for stored rows, with their stored steps (segmenting those that have none)."""
    ids = [r["trajectory_id"] for r in rows]
    with db.reader(db_path) as con:
        import pyarrow as pa

        con.register("_ids", pa.table({"trajectory_id": pa.array(ids, pa.int64())}))
        st = db.query(con, "SELECT trajectory_id, step_idx, start_char, end_char, kind FROM steps "
                           "WHERE trajectory_id IN (SELECT trajectory_id FROM _ids) ORDER BY 1, 2").to_dicts()
        gr = db.query(con, "SELECT trajectory_id, is_correct, answer FROM outcomes "
                           "WHERE trajectory_id IN (SELECT trajectory_id FROM _ids)").to_dicts()
    by_traj: dict[int, list[tuple[int, int, str]]] = {}
    for s in st:
        by_traj.setdefault(s["trajectory_id"], []).append((s["start_char"], s["end_char"], s["kind"]))
    grades = {g["trajectory_id"]: g for g in gr}
    out = []
    for r in rows:
        text = r["response"]
        spans = by_traj.get(r["trajectory_id"]) or list(zip(*segment(text)))
        g = grades.get(r["trajectory_id"], {})
        out.append(AnnotateInput(
            trajectory_id=r["trajectory_id"], problem=r["problem"] or "", gold=r["gold"] or "", response=text,
            steps=[text[a:b].strip() for a, b, _ in spans], offsets=[(a, b) for a, b, _ in spans],
            kinds=[k for _, _, k in spans], finish_reason=r["finish_reason"], is_correct=g.get("is_correct"),
            extracted_answer=g.get("answer"), answer_type=r["answer_type"]))
    return out


def annotate_warehouse(db_path=None, annotator: str = "rules", limit: int | None = None,
                       batch: int | None = None, **opts) -> dict:
    """Run one annotator over stored trajectories and replace its previous annotations."""
    ann = get_annotator(annotator, **opts)
    size = batch or (BATCH if annotator == "rules" else 16)
    n = n_labels = n_flags = 0
    try:
        for rows in _batches(db_path, _TRAJ_SQL, [], size):
            if limit is not None:
                rows = rows[:max(0, limit - n)]
                if not rows:
                    break
            results = ann.annotate(_inputs(db_path, rows))
            write_results(db_path, ann.name, [r["trajectory_id"] for r in rows], results)
            n += len(rows)
            n_labels += sum(len(r.annotations) for r in results)
            n_flags += sum(len(r.flags) for r in results)
    finally:
        ann.close()
    return {"annotator": ann.name, "trajectories": n, "step_labels": n_labels, "flags": n_flags}


def write_results(db_path, annotator: str, trajectory_ids: Sequence[int], results: Sequence[AnnotationResult]) -> None:
    with db.writer(db_path) as con:
        ingest.replace_annotations(con, annotator, trajectory_ids,
                                   [a for r in results for a in r.annotations],
                                   [f for r in results for f in r.flags])


# --- ProcessBench -------------------------------------------------------------------------------
def load_processbench(path: str | os.PathLike, limit: int | None = None) -> list[dict]:
    """ProcessBench items (``steps``, ``label``, ``final_answer_correct``); clear errors on bad input."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise ValueError(f"{p}: expected a JSON list of items")
    for k, item in enumerate(data):
        for fld, typ in (("steps", list), ("label", int), ("final_answer_correct", bool), ("problem", str)):
            if not isinstance(item.get(fld) if isinstance(item, dict) else None, typ):
                raise ValueError(f"{p}: item {k} (id {item.get('id') if isinstance(item, dict) else '?'}): "
                                 f"field {fld!r} missing or not {typ.__name__}")
        if not -1 <= item["label"] < len(item["steps"]):
            raise ValueError(f"{p}: item {k} (id {item.get('id')}): field 'label' {item['label']} "
                             f"is outside -1..{len(item['steps']) - 1}")
    return data[:limit] if limit is not None else data


def processbench_inputs(items: Sequence[dict]) -> list[AnnotateInput]:
    """AnnotateInputs for ProcessBench items: steps joined by blank lines, the grade from
    ``final_answer_correct`` (no gold answer is given)."""
    out = []
    for k, it in enumerate(items):
        steps = [str(s) for s in it["steps"]]
        text, offsets, pos = "", [], 0
        for s in steps:
            offsets.append((pos, pos + len(s)))
            text += s + "\n\n"
            pos += len(s) + 2
        out.append(AnnotateInput(trajectory_id=k, problem=it["problem"], gold="", response=text.rstrip(),
                                 steps=steps, offsets=offsets, finish_reason="stop",
                                 is_correct=bool(it["final_answer_correct"]),
                                 extracted_answer=grader.extract_answer(text)))
    return out


def processbench_scores(labels: Sequence[int], preds: Sequence[int | None]) -> dict:
    """ProcessBench: accuracy on erroneous samples (exact first-error index), on correct samples
    (predicts -1), and their harmonic mean. An unknown prediction (None) counts as wrong."""
    err = [(l, p) for l, p in zip(labels, preds) if l != -1]
    cor = [(l, p) for l, p in zip(labels, preds) if l == -1]
    error_acc = sum(p == l for l, p in err) / len(err) if err else 0.0
    correct_acc = sum(p == -1 for _, p in cor) / len(cor) if cor else 0.0
    f1 = 2 * error_acc * correct_acc / (error_acc + correct_acc) if error_acc + correct_acc else 0.0
    return {"n": len(labels), "error_acc": round(error_acc, 4), "correct_acc": round(correct_acc, 4),
            "f1": round(f1, 4)}


def eval_annotator(annotator: str, labels_path, limit: int | None = None, **opts) -> dict:
    items = load_processbench(labels_path, limit)
    ann = get_annotator(annotator, **opts)
    try:
        results = ann.annotate(processbench_inputs(items))
    finally:
        ann.close()
    return processbench_scores([it["label"] for it in items], [r.first_error for r in results])
