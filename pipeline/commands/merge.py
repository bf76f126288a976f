"""`python -m pipeline merge SHARD.duckdb...`: ingest shard outputs of `generate --shard` (idempotent)."""
from pathlib import Path

from pipeline.commands.common import CLIError, add_db_argument

NAME = "merge"
HELP = "merge the warehouse files written by `generate --shard i/N --out DIR` into one warehouse"


def add_arguments(p) -> None:
    p.add_argument("shards", nargs="+", metavar="SHARD_OUTPUT", help="shard warehouse files (.duckdb)")
    add_db_argument(p)


def run(args) -> int:
    from pipeline.derive.annotate import refresh_line
    from pipeline.ingest import shards
    from warehouse import db

    target = db.db_path(args.db).resolve()
    if any(Path(s).resolve() == target for s in args.shards):
        raise CLIError(f"{target} is both a shard and the merge target")
    res = shards.merge(args.shards, args.db)
    print(f"merged {res.files} shard file(s): {res.trajectories_seen} trajectories read, "
          f"{res.trajectories_new} new, {res.runs} new run(s), into {target}")
    for r in res.clusters:                  # a clustered benchmark's new wrong trajectories (shards.merge)
        print(refresh_line(r), flush=True)
    return 0
