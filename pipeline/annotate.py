"""Warehouse-level drivers: grade, segment and annotate stored trajectories.

Every driver reads a batch with a read-only connection, computes outside any transaction, and
writes the batch in one short ``db.writer()`` transaction, so the app can read in between.
Re-running replaces what the previous run wrote (idempotent). (Scoring an annotator against
step labels: ``pipeline.processbench``.)
"""
from __future__ import annotations

from typing import Iterator, Sequence

from pipeline import grade as grader
from pipeline import postprocess
from pipeline import timeline as answer_timeline
from pipeline.annotators import AnnotateInput, AnnotationResult, get_annotator
from pipeline.steps import segment
from warehouse import db, ingest, lookup, stats
from warehouse import timeline as store
from warehouse.records import Grade

BATCH = 500


def _batches(db_path, size: int = BATCH, ungraded_by: tuple[str, str] | None = None) -> Iterator[list[dict]]:
    """Stored trajectory rows (``lookup.trajectories_to_process``) in batches of ``size``,
    keyset-paginated on trajectory_id, each read with its own short reader."""
    last = None
    while True:
        with db.reader(db_path) as con:
            rows = lookup.trajectories_to_process(con, limit=size, after=last, ungraded_by=ungraded_by)
        if not rows:
            return
        yield rows
        last = rows[-1]["trajectory_id"]


def grade_warehouse(db_path=None, regrade: bool = False, workers: int | None = None,
                    batch: int = 2000) -> dict:
    """Grade stored trajectories with the ``ladder`` grader (only ungraded ones unless ``regrade``).

    Sets meta ``active_grader``/``active_grader_version`` and refreshes run stats in the same
    transaction as each batch of grades. Returns counts per reason.
    """
    ungraded_by = None if regrade else (grader.GRADER, grader.GRADER_VERSION)
    counts = {r: 0 for r in grader.REASONS}
    n_nogold = 0
    for rows in _batches(db_path, batch, ungraded_by):
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
    for rows in _batches(db_path, batch):
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
        st = lookup.steps_of(con, ids)
        gr = lookup.outcomes_of(con, ids)
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
        for rows in _batches(db_path, size):
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


def timeline_warehouse(db_path=None, every: bool = False, batch: int = BATCH) -> dict:
    """Derive the answer timeline (``pipeline.timeline``) of every stored trajectory that has none at
    the current version (``every``: of all of them), on their stored steps (segmenting those that have
    none). Idempotent: each batch replaces its trajectories' timelines in one short transaction."""
    version = answer_timeline.version()
    n = n_answers = n_gold = 0
    last = None
    while True:
        with db.reader(db_path) as con:
            rows = store.to_derive(con, version, limit=batch, after=last, every=every)
            st = lookup.steps_of(con, [r["trajectory_id"] for r in rows]) if rows else []
        if not rows:
            break
        last = rows[-1]["trajectory_id"]
        spans: dict[int, list[tuple[int, int]]] = {}
        for s in st:
            spans.setdefault(s["trajectory_id"], []).append((s["start_char"], s["end_char"]))
        answer_rows, timeline_rows = [], []
        for r in rows:
            text = r["response"]
            sp = spans.get(r["trajectory_id"]) or list(zip(*segment(text)[:2]))
            tl = answer_timeline.timeline(text, sp, r["gold"], r["answer_type"], is_correct=r["is_correct"],
                                          extracted=r["answer"])
            a, t = answer_timeline.rows(r["trajectory_id"], tl)
            answer_rows += a
            timeline_rows.append(t)
            n_gold += tl.first_gold_step is not None
        answers, timelines = postprocess.timeline_tables(answer_rows, timeline_rows)
        with db.writer(db_path) as con:
            ingest.replace_timelines(con, [r["trajectory_id"] for r in rows], answers, timelines)
        n += len(rows)
        n_answers += answers.num_rows
    return {"timelines": n, "step_answers": n_answers, "gold_reached": n_gold, "version": version}
