"""`python -m pipeline import-parquet DIR [--db PATH]`: merge a Parquet folder written by
`export-parquet` into a warehouse file, in one transaction, idempotently (warehouse.lake_import.merge)."""
from pipeline.commands.common import add_db_argument

NAME = "import-parquet"
HELP = ("merge a Parquet folder written by export-parquet into the warehouse (rows whose natural key "
        "is stored already are kept; importing twice writes nothing)")


def add_arguments(p) -> None:
    p.add_argument("folder", metavar="DIR", help="a folder written by export-parquet (or an s3:// URL where "
                   "DuckDB's httpfs extension is installed)")
    add_db_argument(p)


def run(args) -> int:
    import time

    from warehouse import db, lake, lake_import

    t0 = time.perf_counter()
    res = lake_import.merge(args.folder, args.db)
    new = {t: n for t, (_, n) in res.tables.items() if n}
    detail = ", ".join(f"{t} {n}" for t, n in new.items()) or "nothing new"
    print(f"imported {lake.location(args.folder)} into {db.db_path(args.db)}: {res.rows_new} new rows "
          f"({detail}); stats refreshed for {res.refreshed_runs} run(s) in {time.perf_counter() - t0:.1f}s")
    if res.rows_new:                  # benchmarks with stored failure modes: embed and cluster again
        from pipeline.derive.annotate import refresh_clusters, refresh_line

        for r in refresh_clusters(args.db):
            print(refresh_line(r), flush=True)
    return 0
