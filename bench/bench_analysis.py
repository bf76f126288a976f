"""Time every analysis function (median of --repeat runs) on a warehouse and print JSON.

    .venv/bin/python bench/bench_analysis.py --db W.duckdb [--benchmark aime24] [--repeat 5]
    .venv/bin/python bench/bench_analysis.py --make-synthetic W.duckdb [--models 60 --seeds 4 --samples 8]

``--make-synthetic`` first writes a SYNTHETIC warehouse for timing only (AIME24 questions and paper tiers
from the data directory, models named SYNTHETIC-*, short responses, Rasch-model correctness over the
paper's tiers): 60 models x 4 seeds x 30 questions x 8 samples = 57,600 trajectories. Target: < 300 ms
per function at that size.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synth import SIZES  # noqa: E402  (one synthetic model for both builders)
from bench.synth import TIER_DIFFICULTY as DIFF  # noqa: E402
from analysis import calibration, coverage, ladder, metrics, scaling  # noqa: E402
from charts import tier_view as tiers  # noqa: E402
from warehouse import db, failures, frames  # noqa: E402
from warehouse.filters import Selection  # noqa: E402


def make_synthetic(path: Path, n_models: int, n_seeds: int, n_samples: int, seed: int = 0) -> int:
    import numpy as np

    from pipeline.ingest import benchmarks
    from warehouse import ingest, stats
    from warehouse.records import Model, Run, Trajectory

    data = benchmarks.load("aime24", benchmarks.data_dir())
    tier = {t.question_id: t.tier for t in data.tiers}
    rng = np.random.default_rng(seed)
    groups = ["base", "small_sft", "large"]
    n = 0
    with db.writer(path) as con:
        benchmarks.install(con, data)
        for i in range(n_models):
            size = SIZES[i % len(SIZES)]
            theta = -1.5 + 0.35 * np.log(size / 100) + rng.normal(0, 0.3)
            mid = f"SYNTHETIC-{i:03d}"
            ingest.upsert_model(con, Model(mid, group=groups[i % 3], sft_size=size, params_b=32,
                                           train_step=10 * (i + 1), sft_category=["algebra", "geometry"][i % 2]))
            for s in range(n_seeds):
                rid = f"synthetic-{i}-{s}"
                ingest.upsert_run(con, Run(rid, mid, "aime24", "generated", seed=s, samples_per_question=n_samples))
                trajs = []
                for q in data.questions:
                    p = 1 / (1 + np.exp(-(theta - DIFF[tier[q.question_id]])))
                    for k in range(n_samples):
                        ok = bool(rng.random() < p)
                        ans = q.answer if ok else str(int(rng.integers(0, 6)))
                        trajs.append(Trajectory(rid, "aime24", q.question_id, k, f"SYNTHETIC \\boxed{{{ans}}}",
                                                finish_reason="stop", source_correct=ok, source_pred=ans))
                n += ingest.insert_trajectories(con, trajs)
        stats.refresh_run_stats(con)
    return n


def functions(bench: str):
    """name -> f(con): each one fetch (``warehouse.frames``) and its statistics (``analysis``), as a page pays."""
    s = Selection(bench)
    pq = lambda c, by="model": frames.per_question(c, s, by)   # noqa: E731
    fac = lambda c: frames.factor_table(c, s, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)  # noqa: E731
    refs = lambda c: frames.reference_values(c, s)   # noqa: E731
    return {
        "metrics.model_metrics": lambda c: metrics.metrics(pq(c)),
        "metrics.model_tier_metrics": lambda c: metrics.metrics(pq(c), per_tier=True),
        "metrics.group_tier_metrics": lambda c: metrics.metrics(pq(c, "group"), per_tier=True),
        "metrics.pass_at_k": lambda c: metrics.pass_at_k(pq(c)),
        "metrics.question_accuracy": lambda c: metrics.question_accuracy(pq(c, "group"), refs(c)),
        "tiers.auto_tiers": lambda c: tiers.auto_tiers(c, s),
        "tiers.rule_tiers": lambda c: tiers.rule_tiers(c, s),
        "ladder.solved_matrix": lambda c: ladder.solved_matrix(pq(c)),
        "ladder.scalogram": lambda c: ladder.scalogram(pq(c)),
        "ladder.violations": lambda c: ladder.violations(pq(c)),
        "ladder.difficulty": lambda c: ladder.difficulty(pq(c)),
        "coverage.potential_vs_stability": lambda c: coverage.potential_vs_stability(pq(c)),
        "coverage.compare_to_reference": lambda c: coverage.compare_to_reference(
            pq(c), metrics.metrics(pq(c), n_boot=0)["key"][0]),
        "scaling.numeric_factors": lambda c: scaling.numeric_factors(fac(c)),
        "scaling.scaling_points": lambda c: scaling.points(pq(c), fac(c), "sft_size"),
        "scaling.scaling_fits": lambda c: scaling.fits(pq(c), fac(c), "sft_size"),
        "scaling.scaling_bands": lambda c: scaling.bands(pq(c), fac(c), "sft_size"),
        "scaling.categorical_ablation": lambda c: scaling.ablation(pq(c), fac(c), "sft_category"),
        "failures.wrong_answer_concentration": lambda c: failures.wrong_answer_concentration(c, failures.exh(s)),
        "failures.wrong_answers": lambda c: failures.wrong_answers(c, failures.exh(s)),
        "failures.strategy_tags": lambda c: failures.strategy_tags(c, s),
        "failures.step_error_types": lambda c: failures.step_error_types(c, s),
        "failures.flag_rates": lambda c: failures.flag_rates(c, s),
        "failures.length_by_outcome": lambda c: failures.length_by_outcome(c, s),
        "calibration.agreement_summary": lambda c: calibration.agreement_summary(calibration.reference_agreement(
            refs(c), metrics.question_accuracy(pq(c, "group"), refs(c)))),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="warehouse to time (default: $LADDER_DB / warehouse/demo.duckdb)")
    ap.add_argument("--benchmark", default="aime24")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--make-synthetic", metavar="PATH", help="write a synthetic timing warehouse first, then time it")
    ap.add_argument("--models", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--samples", type=int, default=8)
    args = ap.parse_args(argv)
    path = args.db
    built = None
    if args.make_synthetic:
        path = args.make_synthetic
        t0 = time.perf_counter()
        built = make_synthetic(Path(path), args.models, args.seeds, args.samples)
        built = {"trajectories": built, "seconds": round(time.perf_counter() - t0, 2)}
    out = {"db": str(db.db_path(path)), "benchmark": args.benchmark, "repeat": args.repeat, "ms": {}}
    if built:
        out["built"] = built
    with db.reader(path) as con:
        out["trajectories"] = con.execute("SELECT count(*) FROM trajectories WHERE benchmark = ?",
                                          [args.benchmark]).fetchall()[0][0]
        for name, fn in functions(args.benchmark).items():
            times = []
            try:
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    fn(con)
                    times.append((time.perf_counter() - t0) * 1000)
                out["ms"][name] = round(statistics.median(times), 1)
            except Exception as exc:  # report, keep timing the others
                out["ms"][name] = f"error: {type(exc).__name__}: {exc}"
    out["over_300ms"] = [k for k, v in out["ms"].items() if isinstance(v, float) and v > 300]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
