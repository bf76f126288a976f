"""`python -m pipeline reindex`: bring the full-text index beside the warehouse up to date, or rebuild it."""
import time

from pipeline.commands.common import add_db_argument

NAME = "reindex"
HELP = ("bring the full-text index of the responses (<db>.search/) up to date with the warehouse "
        "(rebuilt when missing, of another version, damaged or stale); --full rebuilds it from scratch")


def add_arguments(p) -> None:
    p.add_argument("--full", action="store_true", help="rebuild from scratch even when it is up to date")
    add_db_argument(p)


def run(args) -> int:
    from warehouse import db, textindex

    db.db_path(args.db)
    t0 = time.perf_counter()
    rep = textindex.sync(args.db, rebuild=args.full)
    how = "rebuilt" if rep.rebuilt else "updated"
    print(f"{textindex.index_dir(args.db)}: {how}, {rep.indexed} trajectories indexed, {rep.total} in the index "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0
