"""`python -m pipeline export-parquet --out DIR [--partition benchmark,model]`: the warehouse as a
Parquet folder (warehouse.lake), readable with `LADDER_DB=DIR` and mergeable with `import-parquet`."""
from pipeline.commands.common import CLIError, add_db_argument

NAME = "export-parquet"
HELP = ("write every table of the warehouse as Parquet into a folder, with a manifest.json "
        "(read it with LADDER_DB=DIR; merge it into another warehouse with import-parquet)")


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write (new, empty, or an "
                   "earlier export with --overwrite)")
    p.add_argument("--partition", default="", metavar="KEYS",
                   help="comma-separated partition keys: benchmark, model (e.g. benchmark,model); "
                        "default: one file per table")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    add_db_argument(p)


def run(args) -> int:
    import time

    from warehouse import db, lake

    keys = lake.parse_partition(args.partition)
    src = db.db_path(args.db)
    if lake.is_lake(src):
        raise CLIError(f"{lake.location(src)} is already a Parquet folder: export from a .duckdb warehouse file")
    t0 = time.perf_counter()
    with db.reader(args.db) as con:
        m = lake.export(con, args.out, keys, overwrite=args.overwrite, source=str(src.resolve()))
    rows = sum(t["rows"] for t in m["tables"].values())
    print(f"exported {len(m['tables'])} tables ({rows} rows; trajectories: {m['tables'].get('trajectories', {}).get('rows', 0)}) "
          f"of {src} to {args.out}" + (f", partitioned by {', '.join(keys)}" if keys else "") +
          f" in {time.perf_counter() - t0:.1f}s")
    return 0
