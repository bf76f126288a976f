"""`python -m pipeline report REPORT ...`: reports over the warehouse, one subcommand per report.

A report is one entry of ``SUBCOMMANDS``: name -> (help, add_arguments(parser), run(args) -> int). Adding
one is a function pair and one entry; ``run`` dispatches on the chosen name.

- ``answers``: the answer classes of every question (``analysis.answers``; fields in docs/ANALYSIS.md),
  as JSON (a list, one object per question) or CSV (one row per question, classes as a JSON column).
- ``migration``: every question along a numeric model factor (``analysis.migration``): when it is solved
  for good, whether it regresses, its accuracy at each value; JSON (a list) or CSV (one row per question,
  one column per value).
- ``html``: one self-contained HTML file of a selection (``charts.report``): every chart (interactive Plotly,
  plotly.js inline, no network), the key tables, the filters used and the provenance; opens from disk.
"""
from __future__ import annotations

import json

from pipeline.commands.common import add_db_argument, check_benchmark, check_models
from warehouse.records import NUMERIC_FACTORS

NAME = "report"
HELP = ("print a report over the warehouse: answers (answer classes, pass@k, maj@k per question), "
        "migration (each question along a training or data-size series), html (a shareable static report)")


def resolve_scheme(bench: str, scheme: str | None, schemes: list[str]) -> str:
    """The tier scheme a report uses: ``scheme`` when ``bench`` has tiers under it (else ``NotFound`` naming
    the known ones); by default ``paper``, else the benchmark's first scheme (``paper`` when it has none: every
    tier is then empty)."""
    from warehouse.errors import NotFound

    if scheme is not None and scheme not in schemes:
        raise NotFound(f"--scheme {scheme!r}: {bench} has no tiers under it; known are "
                       f"{', '.join(schemes) or '(none)'}")
    return scheme or ("paper" if "paper" in schemes or not schemes else schemes[0])


def _selection(con, args, models: tuple[str, ...]):
    """The report's Selection; ``NotFound`` naming the known benchmarks when ``--benchmark`` is not one, or the
    known schemes when ``--scheme`` is not one of the benchmark's."""
    from warehouse import lookup, tier_store as tiers
    from warehouse.filters import Selection

    check_benchmark(args.benchmark, lookup.benchmark_names(con))
    scheme = resolve_scheme(args.benchmark, args.scheme, tiers.schemes(con, args.benchmark))
    return Selection(args.benchmark, scheme=scheme, models=models)


def _answers_arguments(p) -> None:
    p.add_argument("--benchmark", required=True, help="a benchmark in the warehouse")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="only these models (default: every model)")
    p.add_argument("--scheme", help="tier scheme for the tier column (default: paper, else the benchmark's first)")
    p.add_argument("--format", choices=["json", "csv"], default="json", help="output format (default: json)")
    add_db_argument(p)


CSV_SCALARS = ("question_id", "tier", "n_samples", "n_correct", "entropy_bits", "majority_answer",
               "majority_is_gold", "confidently_wrong")


def csv_row(rec: dict) -> dict:
    """One CSV row of an answer-classes record: the scalars, pass@1, pass@n, maj@1, maj@n, avg@1, classes."""
    n = str(rec["n_samples"])
    row = {k: rec[k] for k in CSV_SCALARS}
    row.update({"pass@1": rec["pass_at_k"]["1"], "pass@n": rec["pass_at_k"][n],
                "maj@1": rec["maj_at_k"]["1"], "maj@n": rec["maj_at_k"][n], "avg@1": rec["avg_at_k"]["1"],
                "classes": json.dumps(rec["classes"], ensure_ascii=False)})
    return row


def _answers_run(args) -> int:
    import csv
    import sys

    from charts import answer_view as answers
    from warehouse import db
    from warehouse.errors import NotFound, UsageError

    models = tuple(args.models or ())
    if any(not m.strip() for m in models):
        raise UsageError("--models: a model name must not be blank")
    with db.reader(args.db) as con:
        sel = _selection(con, args, models)
        check_models(con, models)
        recs = answers.answer_classes(con, sel)
    if not recs:
        raise NotFound(f"no trajectories of {args.benchmark!r}"
                       + (f" by {', '.join(models)}" if models else "") + " in the warehouse")
    if args.format == "json":
        print(json.dumps(recs, indent=1, ensure_ascii=False))
        return 0
    rows = [csv_row(r) for r in recs]
    w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return 0


def _migration_arguments(p) -> None:
    p.add_argument("--benchmark", required=True, help="a benchmark in the warehouse")
    p.add_argument("--factor", required=True, help=f"the numeric model factor: {', '.join(NUMERIC_FACTORS)}")
    p.add_argument("--threshold", type=float, default=0.5, help="solved when accuracy >= this (default 0.5)")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="only these models (default: every model)")
    p.add_argument("--scheme", help="tier scheme for the tier column (default: paper, else the benchmark's first)")
    p.add_argument("--format", choices=["json", "csv"], default="json", help="output format (default: json)")
    add_db_argument(p)


def _migration_run(args) -> int:
    import csv
    import sys

    from analysis import migration
    from warehouse import db, frames
    from warehouse.errors import UsageError

    if not 0 <= args.threshold <= 1:
        raise UsageError(f"--threshold {args.threshold}: an accuracy between 0 and 1")
    with db.reader(args.db) as con:
        check_models(con, args.models)
        sel = _selection(con, args, tuple(args.models or ()))
        pq, fac = frames.per_question(con, sel), frames.factor_table(con, sel, (args.factor,))
    # a factor outside NUMERIC_FACTORS: migration's own UsageError
    recs = migration.records(migration.migration(pq, fac, args.factor, args.threshold))
    if args.format == "json":
        print(json.dumps(recs, indent=1))
        return 0
    values = sorted({v for r in recs for v in r["accuracy"]}, key=float)   # a question may lack a value
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["question_id", "tier", "solved_at", "regressed", *values])
    for r in recs:
        w.writerow([r["question_id"], r["tier"], r["solved_at"], r["regressed"],
                    *(r["accuracy"].get(v) for v in values)])
    return 0


def _html_arguments(p) -> None:
    p.add_argument("--out", required=True, help="the HTML file to write (its folder is created)")
    p.add_argument("--benchmark", help="a benchmark in the warehouse (default: the one the app opens first)")
    p.add_argument("--scheme", help="tier scheme (default: paper, else the benchmark's first scheme)")
    p.add_argument("--tiers", nargs="+", metavar="TIER", help="only these tiers (default: all)")
    p.add_argument("--categories", nargs="+", metavar="CATEGORY", help="only these question categories")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="only these models (default: every model)")
    p.add_argument("--groups", nargs="+", metavar="GROUP", help="only models of these groups")
    p.add_argument("--by", choices=["model", "group"], default="model", help="one line per model or per group")
    p.add_argument("--reference", action="store_true", help="overlay the paper's Figure 1 values on the ladder")
    p.add_argument("--threshold", type=float, default=0.5, help="solved when accuracy > this (solved matrix)")
    p.add_argument("--title", help="the report's title (default: ladder report — BENCHMARK)")
    add_db_argument(p)


def html_selection(opts: dict, benchmark: str | None, scheme: str | None, tiers=(), categories=(), models=(),
                   groups=(), by: str = "model"):
    """The Selection the filters name, checked against the warehouse's ``inventory.options`` (a user error
    names the bad value and the known ones)."""
    from warehouse.errors import NotFound, UsageError
    from warehouse.filters import Selection

    known = opts["benchmarks"]
    bench = benchmark or (known or [None])[0]
    if bench is None:
        raise NotFound("the warehouse has no benchmarks yet: run `python -m pipeline demo` or "
                       "`python -m pipeline import ...` first")
    check_benchmark(bench, known)
    if not opts["models"][bench]:
        raise NotFound(f"--benchmark {bench!r} has no trajectories in the warehouse: import some first")
    schemes = opts["schemes"][bench]
    scheme = resolve_scheme(bench, scheme, schemes)
    if tiers and not schemes:
        raise UsageError(f"--tiers: {bench} has no tiers (`python -m pipeline tiers` assigns them)")
    for flag, given, choices in (("--tiers", tiers, opts["tiers"][bench]),
                                 ("--categories", categories, opts["categories"][bench]),
                                 ("--models", models, opts["models"][bench]),
                                 ("--groups", groups, opts["groups"][bench])):
        bad = [v for v in given or () if v not in choices]
        if bad:
            raise NotFound(f"{flag}: not in {bench}: {', '.join(bad)}; known are {', '.join(choices) or '(none)'}")
    if by == "group" and not opts["groups"][bench]:
        raise UsageError(f"--by group: no model of {bench} has a group (import with --meta group=NAME)")
    return Selection(bench, scheme, tuple(tiers or ()), tuple(categories or ()), tuple(models or ()),
                     tuple(groups or ()))


def _html_run(args) -> int:
    from pathlib import Path

    from charts import report
    from pipeline.commands.common import CLIError
    from warehouse import db, frames, inventory

    if not 0 <= args.threshold < 1:
        raise CLIError(f"--threshold {args.threshold}: an accuracy from 0 to below 1")
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {out} is a folder: give the HTML file to write")
    blocked = next((d for d in out.parents if d.exists() and not d.is_dir()), None)
    if blocked is not None:
        raise CLIError(f"--out {out}: {blocked} is a file, not a folder")
    with db.reader(args.db) as con:
        if inventory.is_empty(con):
            raise CLIError(f"the warehouse {db.db_path(args.db)} has no trajectories: run "
                           f"`python -m pipeline demo` or `python -m pipeline import ...` first")
        sel = html_selection(inventory.options(con), args.benchmark, args.scheme, args.tiers, args.categories,
                             args.models, args.groups, args.by)
        if frames.per_question(con, sel, "model").is_empty():
            raise CLIError(f"no trajectories of {sel.benchmark!r} match these filters")
        rep = report.collect(con, sel, args.by, args.reference, args.threshold)
    text = report.render(rep, args.title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:          # --out under a file, a read-only folder, a full disk
        raise CLIError(f"cannot write the report to {exc.filename or out}: {exc.strerror or exc}") from exc
    print(f"{out}: {len(rep.figures)} charts, {len(rep.skipped)} not drawn ({sel.benchmark}), "
          f"{len(text) / 2**20:.1f} MiB")
    return 0


def _compare_arguments(p) -> None:
    p.add_argument("--benchmark", required=True, help="a benchmark in the warehouse")
    p.add_argument("--a", required=True, metavar="MODEL", help="model A (the baseline)")
    p.add_argument("--b", required=True, metavar="MODEL", help="model B (diff = B - A)")
    p.add_argument("--by", choices=["tier", "category"], default="tier", help="one row per tier (default) or category")
    p.add_argument("--scheme", help="tier scheme (default: paper, else the benchmark's first)")
    p.add_argument("--format", choices=["json", "csv"], default="json", help="output format (default: json)")
    add_db_argument(p)


def _compare_run(args) -> int:
    import csv
    import sys

    from analysis.compare import ROW_COLUMNS, records
    from charts import compare_view as compare
    from warehouse import db
    from warehouse.errors import UsageError

    if args.a == args.b:
        raise UsageError(f"--a and --b are the same model ({args.a}): compare two different ones")
    with db.reader(args.db) as con:
        sel = _selection(con, args, (args.a, args.b))
        check_models(con, [args.a], "--a")
        check_models(con, [args.b], "--b")
        v = compare.view(con, sel, "model", args.a, args.b, args.by)
    rec = records(v["paired"], v["rows"], args.a, args.b, sel.benchmark)
    if args.format == "json":
        print(json.dumps(rec, indent=1, ensure_ascii=False))
        return 0
    w = csv.DictWriter(sys.stdout, fieldnames=list(ROW_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rec["rows"])
    return 0


SUBCOMMANDS = {
    "answers": ("answer classes per question: classes of equivalent final answers, entropy, majority, "
                "pass@k, maj@k, avg@k (docs/ANALYSIS.md)", _answers_arguments, _answers_run),
    "migration": (f"each question along a numeric model factor ({', '.join(NUMERIC_FACTORS)}): solved_at, "
                  "regressed, accuracy per value (docs/ANALYSIS.md)", _migration_arguments, _migration_run),
    "html": ("one self-contained HTML file of a selection: every chart (interactive, plotly.js inline, no "
             "network), the key tables, the filters and the provenance (docs/ANALYSIS.md)", _html_arguments, _html_run),
    "compare": ("is B better than A? paired per-tier differences of two models on the questions both answered: "
                "interval, p-value (Holm across tiers), minimum detectable difference, flipped questions "
                "(docs/ANALYSIS.md)", _compare_arguments, _compare_run),
}


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    for name, (help_, add, run_) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        add(sp)
        sp.set_defaults(_report=run_)


def run(args) -> int:
    return args._report(args)


# --- clusters (issue 25): the stored failure modes of a benchmark's wrong trajectories, cut by a selection ---
def _clusters_arguments(p) -> None:
    p.add_argument("--benchmark", required=True, help="a benchmark in the warehouse, clustered by "
                   "`annotate --clusters`")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="only these models (default: every model)")
    p.add_argument("--tiers", nargs="+", metavar="TIER", help="only the questions of these tiers (default: all)")
    p.add_argument("--groups", nargs="+", metavar="GROUP", help="only the models of these groups (default: all)")
    p.add_argument("--scheme", help="tier scheme (default: paper, else the benchmark's first)")
    p.add_argument("--format", choices=["json", "csv"], default="json", help="json: clusters and assignments; "
                   "csv: one row per cluster (default: json)")
    add_db_argument(p)


def clusters_report(con, sel) -> dict:
    """The stored clustering of ``sel.benchmark`` cut by ``sel``: each cluster with members in the selection
    (label, terms, size and share in the selection, size in the whole clustering, n and share per tier, model
    and group, top answers, the 3 representatives) and every wrong trajectory of the selection with its
    cluster. ``NotFound`` when the benchmark has no clustering."""
    from analysis import failure_modes
    from derivation import embed
    from warehouse import clusters
    from warehouse.errors import NotFound

    c = clusters.clustering(con, sel.benchmark)
    if c is None:
        raise NotFound(f"no failure modes stored for {sel.benchmark!r}: run `python -m pipeline annotate "
                       f"--clusters --benchmark {sel.benchmark}` first")
    assigned, stored = clusters.assignments(con, sel), clusters.clusters(con, sel.benchmark)
    n = assigned.height
    mix = {by: {} for by in ("tier", "model", "group")}
    for by, d in mix.items():
        for r in failure_modes.counts(assigned, by).iter_rows(named=True):
            d.setdefault(r["cluster_id"], {})[r[by]] = {"n": r["n"], "share": round(r["share"], 4)}
    top = failure_modes.top_answers(assigned)
    size = dict(assigned.group_by("cluster_id").len().iter_rows())
    out = [{"cluster_id": r["cluster_id"], "label": r["label"], "terms": list(r["terms"]),
            "size": size[r["cluster_id"]], "share": round(size[r["cluster_id"]] / n, 4), "size_all": r["size"],
            "by_tier": mix["tier"][r["cluster_id"]], "by_model": mix["model"][r["cluster_id"]],
            "by_group": mix["group"][r["cluster_id"]],
            "top_answers": [{"answer": a, "n": k} for a, k in top.get(r["cluster_id"], [])],
            "examples": list(r["examples"])}
           for r in stored.iter_rows(named=True) if r["cluster_id"] in size]
    return {"benchmark": sel.benchmark, "scheme": sel.scheme, "n_trajectories": n, "k": c["k"],
            "n_clustered": c["n_trajectories"], "silhouette": c["silhouette"], "seed": c["seed"],
            "version": c["version"], "embedding": {"model": embed.EMBEDDER, "version": c["embed_version"]},
            "clusters": out,
            "assignments": [{"trajectory_id": t, "cluster_id": k} for t, k in
                            assigned.sort("trajectory_id").select("trajectory_id", "cluster_id").iter_rows()]}


def _clusters_run(args) -> int:
    import csv
    import sys

    from warehouse import db
    from warehouse.errors import NotFound

    with db.reader(args.db) as con:
        check_models(con, args.models)
        sel = _selection(con, args, tuple(args.models or ()))
        if args.tiers:
            from warehouse import tier_store as tiers
            from warehouse.records import tier_rank

            known = set(tiers.scheme_tiers(con, sel.benchmark, sel.scheme)["paper_tier"].to_list())
            bad = [t for t in args.tiers if t not in known]
            if bad:
                raise NotFound(f"--tiers {bad[0]!r}: no such tier of {sel.benchmark} under scheme {sel.scheme}; "
                               f"known are {', '.join(sorted(known, key=tier_rank)) or '(none)'}")
        sel = type(sel)(sel.benchmark, sel.scheme, tuple(args.tiers or ()), (), sel.models, tuple(args.groups or ()))
        rep = clusters_report(con, sel)
    if args.format == "json":
        print(json.dumps(rep, indent=1, ensure_ascii=False))
        return 0
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["cluster_id", "label", "size", "share", "size_all", "by_tier", "by_model", "by_group",
                "top_answers", "examples", "terms"])
    for c in rep["clusters"]:
        w.writerow([c["cluster_id"], c["label"], c["size"], c["share"], c["size_all"],
                    *(json.dumps({k: v["share"] for k, v in c[by].items()}, ensure_ascii=False)
                      for by in ("by_tier", "by_model", "by_group")),
                    json.dumps([[a["answer"], a["n"]] for a in c["top_answers"]], ensure_ascii=False),
                    " ".join(map(str, c["examples"])), ", ".join(c["terms"])])
    return 0


SUBCOMMANDS["clusters"] = (
    "failure modes: the stored clusters of a benchmark's wrong trajectories (`annotate --clusters`) in a selection: "
    "name, terms, size, shares per tier, model and group, top answers, representatives, and every trajectory's "
    "cluster (docs/ANALYSIS.md)", _clusters_arguments, _clusters_run)
