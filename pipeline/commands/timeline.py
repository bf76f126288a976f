"""`python -m pipeline timeline`: the answer timeline of trajectories (derivation/answer_timeline.py).

With ``--question``: one JSON object ``{"trajectory_id", "is_correct", "final_answer", "first_gold_step",
"last_gold_step", "answer_changes", "steps": [{"step_idx", "start_char", "end_char", "answer", "is_gold"}]}``
(``answer`` null where a step asserts none; the gold steps null where no step holds the gold). Without
``--question``: one such object per line (JSON Lines) for every trajectory of ``--model``, or of every model.
Stored timelines are read; a trajectory stored before the timeline existed is derived on the fly.
"""
from __future__ import annotations

import json

from pipeline.commands.common import CLIError, add_db_argument, check_benchmark, check_models

CHUNK = 200
NAME = "timeline"
HELP = ("print the answer timeline of a trajectory (the candidate answer of each step, when the gold is "
        "first and last held, answer changes) as JSON; JSON Lines for every trajectory without --question")


def add_arguments(p) -> None:
    p.add_argument("--model", help="model id (default: every model)")
    p.add_argument("--question", help="question id: print one JSON object (default: JSON Lines of every trajectory)")
    p.add_argument("--sample", type=int, help="sample index with --question (default: the first sample)")
    p.add_argument("--benchmark", help="benchmark (needed when the question id is in several)")
    p.add_argument("--json", action="store_true",
                   help="JSON output (the only format; accepted so that scripts can say so)")
    add_db_argument(p)


def _objects(con, rows) -> list[dict]:
    from charts.answer_view import derive_timeline
    from warehouse import timeline_store as store

    ids = rows["trajectory_id"].to_list()
    spans = store.for_cli(con, ids).partition_by("trajectory_id", as_dict=True) if ids else {}
    summaries = store.summaries(con, ids)
    out = []
    for r in rows.iter_rows(named=True):
        tid = r["trajectory_id"]
        st = spans.get((tid,))
        s = summaries.get(tid)
        if s is not None and st is not None:
            steps = st.select("step_idx", "start_char", "end_char", "answer", "is_gold").to_dicts()
            first, last, changes = s["first_gold_step"], s["last_gold_step"], s["answer_changes"]
        else:                            # stored before the timeline existed: derive it now
            tl = derive_timeline(con, tid, list(zip(st["start_char"].to_list(), st["end_char"].to_list()))
                                 if st is not None else None)
            steps = tl.as_steps()
            first, last, changes = tl.first_gold_step, tl.last_gold_step, tl.answer_changes
        out.append({"trajectory_id": tid, "is_correct": r["is_correct"], "final_answer": r["answer"],
                    "first_gold_step": first, "last_gold_step": last, "answer_changes": changes,
                    "steps": steps})
    return out


def run(args) -> int:
    from warehouse import db, lookup
    from warehouse import timeline_store as store

    if args.sample is not None and args.question is None:
        raise CLIError("--sample needs --question")
    with db.reader(args.db) as con:
        check_benchmark(args.benchmark, lookup.benchmark_names(con))
        check_models(con, [args.model] if args.model else None, "--model")
        rows = store.trajectories(con, args.model, args.benchmark, args.question)
        if args.question is not None:
            if rows.height == 0:
                raise CLIError(f"no trajectory of question {args.question!r}"
                               + (f" by model {args.model!r}" if args.model else "")
                               + (f" on {args.benchmark!r}" if args.benchmark else ""))
            for col, flag in (("benchmark", "--benchmark"), ("model_id", "--model")):
                found = sorted(set(rows[col].to_list()))
                if len(found) > 1:
                    raise CLIError(f"question {args.question!r} has trajectories of several {col}s "
                                   f"({', '.join(found[:8])}): choose one with {flag}")
            samples = sorted(rows["sample_idx"].to_list())
            pick = samples[0] if args.sample is None else args.sample
            if pick not in samples:
                raise CLIError(f"no sample {args.sample} of question {args.question!r}: samples are "
                               f"{', '.join(map(str, samples[:20]))}")
            rows = rows.filter(rows["sample_idx"] == pick)
        for i in range(0, rows.height, CHUNK):      # a chunk's steps at a time: the steps table is big
            for o in _objects(con, rows.slice(i, CHUNK)):
                print(json.dumps(o, ensure_ascii=False))
    return 0
