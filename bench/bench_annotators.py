"""Rules annotator: speed on the real ~40k-char AIME trajectories (the rules alone, on graded and
segmented inputs; and the whole derive() path: grade + segment + timeline + rules, every core), and
ProcessBench scores next to the trivial baseline.

    .venv/bin/python bench/bench_annotators.py [--workers N] [--rules-only]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.derive import postprocess  # noqa: E402
from pipeline.derive.processbench import eval_annotator  # noqa: E402
from warehouse.records import Question, Trajectory  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--rules-only", action="store_true", help="skip the derive() timings")
    a = ap.parse_args()
    trajs, questions = [], {}
    for f in sorted((DATA / "traces" / "skythought-aime24").glob("*.jsonl")):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            qid = str(r["idx"])
            questions[("aime24", qid)] = Question("aime24", qid, r["question"], str(r["gt"]))
            trajs.append(Trajectory(f.stem, "aime24", qid, 0, r["code"][0], finish_reason="stop"))
    mean = sum(len(t.response) for t in trajs) / len(trajs)
    from derivation import grade

    grade.answers_match("\\sqrt{2}", "\\frac{1}{2}")   # warm math-verify in this process
    from derivation.annotators.base import AnnotateInput
    from derivation.annotators.rules import RulesAnnotator
    from derivation.steps import segment

    inputs = []
    for t in trajs:
        q = questions[(t.benchmark, t.question_id)]
        v = grade.grade_response(t.response, q.answer, "integer", "stop")
        seg = segment(t.response)
        inputs.append(AnnotateInput(t.trajectory_id, q.problem, q.answer, t.response,
                                    [t.response[a:b].strip() for a, b in zip(seg.starts, seg.ends)],
                                    list(zip(seg.starts, seg.ends)), seg.kinds, "stop", v.is_correct, v.extracted,
                                    "integer"))
    rules = RulesAnnotator()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        n_labels = sum(len(rules.annotate_one(x).annotations) for x in inputs)
        best = min(best, time.perf_counter() - t0)
    print(f"rules alone on {len(inputs)} graded, segmented AIME responses ({sum(x.is_correct is False for x in inputs)} "
          f"wrong): {best * 1000 / len(inputs):.2f} ms per trajectory (best of 3)  [{n_labels} labels]")
    for w in () if a.rules_only else (1, a.workers or os.cpu_count() or 1):
        for label in ("cold", "warm"):
            grade.answers_match.cache_clear()
            t0 = time.perf_counter()
            d = postprocess.derive(trajs, questions, {"aime24": "integer"}, workers=w)
            dt = time.perf_counter() - t0
            print(f"derive (grade+segment+rules) on {len(trajs)} AIME responses (mean {mean:,.0f} chars), "
                  f"{w} worker(s), {label if w > 1 else 'in-process'}: {len(trajs) / dt:,.0f} traj/s  "
                  f"[{d.steps.num_rows} steps, {len(d.annotations)} labels, {len(d.flags)} flags]")
            if w == 1:
                break
    for name in ("gsm8k", "math"):
        path = DATA / "step-labels" / "processbench" / f"{name}.json"
        r = eval_annotator("rules", path)
        ag, b = r["agreement"], r["baseline"]
        print(f"ProcessBench {name} (n={r['n']}): rules F1 {r['f1']:.4f} (error acc {r['error_acc']:.4f}, correct acc "
              f"{r['correct_acc']:.4f}; with the labels: exact {ag['exact']:.4f}, ±1 {ag['within1']:.4f}, kappa "
              f"{ag['kappa']})  baseline (middle step if wrong) F1 {b['f1']:.4f} (error acc {b['error_acc']:.4f})")


if __name__ == "__main__":
    main()
