"""`python -m pipeline search TEXT`: the responses that contain a text (the app's search, as JSON or a table)."""
import json
import sys
import time

from pipeline.commands.common import CLIError, add_db_argument, check_benchmark, check_models

NAME = "search"
HELP = ("find the responses that contain a text (smart case: an upper-case letter makes it case-sensitive; "
        "through the full-text index when it is up to date, else a scan: the same hits)")


def add_arguments(p) -> None:
    p.add_argument("text", metavar="TEXT", help="the text to find (a substring; no wildcards or operators)")
    p.add_argument("--benchmark", help="only this benchmark (default: every benchmark, in name order)")
    p.add_argument("--models", nargs="+", metavar="M", help="only these models")
    p.add_argument("--limit", type=int, default=50, help="at most this many hits (default 50, at most 1,000,000)")
    p.add_argument("--json", action="store_true", help="one JSON object: query, n_hits, hits, elapsed_ms")
    add_db_argument(p)


def run(args) -> int:
    from warehouse import db, lookup, search
    from warehouse.filters import Selection

    if not 1 <= args.limit <= search.MAX_LIMIT:
        raise CLIError(f"--limit {args.limit}: give a number of hits from 1 to {search.MAX_LIMIT:,}")
    search.check(args.text, args.limit)        # TEXT not valid UTF-8: one line
    if not args.text.strip():
        raise CLIError("TEXT is empty: give the text to find")
    t0 = time.perf_counter()
    hits, notes = [], []
    with db.reader(args.db) as con:
        known = lookup.benchmark_names(con)
        check_benchmark(args.benchmark, known)
        check_models(con, args.models)
        for bench in [args.benchmark] if args.benchmark else known:
            if len(hits) >= args.limit:
                break
            found = search.find(con, Selection(bench, models=tuple(args.models or ())), args.text,
                                args.limit - len(hits))
            notes.append(found.note)
            hits += [{"trajectory_id": r["trajectory_id"], "model_id": r["model_id"], "question_id": r["question_id"],
                      "sample_idx": r["sample_idx"], "snippet": r["snippet"]}
                     for r in found.hits.iter_rows(named=True)] if not found.hits.is_empty() else []
    elapsed = round((time.perf_counter() - t0) * 1000, 1)
    for note in dict.fromkeys(n for n in notes if n):
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({"query": args.text, "n_hits": len(hits), "hits": hits, "elapsed_ms": elapsed}))
        return 0
    if not hits:
        shown = args.text if len(args.text) <= 80 else args.text[:60] + f"... ({len(args.text):,} characters)"
        print(f"no response contains {shown!r} ({elapsed} ms)")
        return 0
    for h in hits:
        snippet = " ".join(h["snippet"].split())
        print(f"{h['model_id']}  q{h['question_id']}  #{h['sample_idx']}  {h['trajectory_id']}  {snippet}")
    print(f"{len(hits)} hit(s) in {elapsed} ms")
    return 0
