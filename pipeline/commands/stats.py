"""`python -m pipeline stats`: avg@n, cov@n and agreement with the source harness, per (benchmark, model)."""
import json

from pipeline.commands.common import add_db_argument, check_benchmark
from warehouse.records import TIERS

NAME = "stats"
HELP = "print avg@n, cov@n (overall and per paper tier) and agreement with the source verdicts per model"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="one JSON list of records instead of a table")
    p.add_argument("--benchmark", help="only this benchmark")
    add_db_argument(p)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def run(args) -> int:
    from warehouse import db, lookup, summary

    with db.reader(args.db) as con:
        check_benchmark(args.benchmark, lookup.benchmark_names(con))
        recs = summary.summary_records(con, benchmark=args.benchmark)
    if args.json:
        print(json.dumps(recs, indent=1))
        return 0
    if not recs:
        print(f"no trajectories{' of ' + args.benchmark if args.benchmark else ''} in the warehouse yet")
        return 0
    head = ["benchmark", "model", "n_q", "n", "avg@n%", "cov@n%", "agree%"] + [f"{t}%" for t in TIERS]
    rows = [[r["benchmark"], r["model"], str(r["n_questions"]), str(r["samples_per_question"]),
             _pct(r["avg_at_n"]), _pct(r["cov_at_n"]), _pct(r["agreement_with_source"])]
            + [_pct(r["by_tier"][t]["avg_at_n"]) if t in r["by_tier"] else "" for t in TIERS] for r in recs]
    widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    for x in [head] + rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths))))
    return 0
