"""`python -m pipeline export-charts --out DIR --format png,svg,pdf`: the paper's figures, no UI."""
from pipeline.commands.common import add_db_argument, check_benchmark

NAME = "export-charts"
HELP = ("render the Ladder and Coverage pages' figures (ladder, heatmap, solved matrix, Rasch difficulty, "
        "coverage, gap, pass@k) and the Scaling page's question strips from a warehouse to files")


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--format", default="png,svg,pdf", help="comma-separated: png, svg, pdf, html (default png,svg,pdf)")
    p.add_argument("--benchmark", help="benchmark (default: the one with the most trajectories)")
    p.add_argument("--scheme", help="tier scheme (default paper)")
    p.add_argument("--by", choices=["model", "group"], default="model", help="one line per model or per group")
    p.add_argument("--reference", action="store_true", help="overlay the paper's Figure 1 values on the ladder")
    add_db_argument(p)


def paper_figures(con, sel, by: str = "model", reference: bool = False) -> dict:
    """name -> plotly Figure: every figure the app's Ladder and Coverage pages draw, for one selection
    (``charts.pages.FIGURES``: the same list, the same views)."""
    import charts
    from charts import pages
    from warehouse import frames

    refs = frames.reference_values(con, sel) if reference else None
    figs = {}
    for page in ("ladder", "coverage"):
        figs.update(pages.page_figures(page, pages.VIEWS[page](con, sel, by), reference=refs))
    numeric, _ = pages.scaling_factors(con, sel)
    for factor in numeric["factor"].to_list():       # the Scaling page's strip, for every factor that varies
        mig = pages.scaling_migration(con, sel, factor)
        solved = dict(zip(mig["migration"]["question_id"], mig["migration"]["solved_at"]))
        figs[f"migration_{factor}"] = charts.migration_figure(mig["series"], factor, solved)
    return figs


def run(args) -> int:
    from pathlib import Path

    from charts import export
    from pipeline.commands.common import CLIError
    from warehouse import db, inventory
    from warehouse.filters import Selection

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in export.FORMATS]
    if bad or not formats:
        raise CLIError(f"--format: unknown format {', '.join(bad) or '(none)'}; use {', '.join(export.FORMATS)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file: give a folder (created when missing)")
    with db.reader(args.db) as con:
        opts = inventory.options(con)
        bench = args.benchmark or (opts["benchmarks"] or [None])[0]
        if bench is None or inventory.is_empty(con):
            raise CLIError(f"the warehouse {db.db_path(args.db)} has no trajectories: run "
                           f"`python -m pipeline demo` or `python -m pipeline import ...` first")
        check_benchmark(bench, opts["benchmarks"])
        if not opts["models"][bench]:
            raise CLIError(f"--benchmark {bench!r} has no trajectories in the warehouse: import some first")
        if args.scheme and args.scheme not in opts["schemes"][bench]:
            raise CLIError(f"--scheme {args.scheme!r}: {bench} has no tiers under it; "
                           f"known are {', '.join(opts['schemes'][bench]) or '(none)'}")
        figs = paper_figures(con, Selection(bench, args.scheme or "paper"), args.by, args.reference)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, fig in figs.items():
            for fmt in formats:
                (out / f"{name}.{fmt}").write_bytes(export.figure_bytes(fig, fmt))
    except OSError as exc:          # --out under a file, a read-only folder, a full disk
        where = exc.filename or out
        raise CLIError(f"cannot write the charts to {where}: {exc.strerror or exc}") from exc
    finally:
        export.stop_server()
    print(f"{len(figs)} figures × {len(formats)} formats ({bench}) written to {out}")
    return 0
