"""`python -m pipeline benchmarks`: load question tables (AIME24, MATH-500) into the warehouse."""
from pipeline.ingest import benchmarks
from pipeline.commands.common import add_data_dir_argument, add_db_argument

NAME = "benchmarks"
HELP = f"load the {' and '.join(benchmarks.LOADERS.names())} question tables (and the paper's AIME24 tiers)"


def add_arguments(p) -> None:
    p.add_argument("names", nargs="*", default=benchmarks.LOADERS.names(), help="benchmarks to load")
    add_db_argument(p)
    add_data_dir_argument(p)


def run(args) -> int:
    from warehouse import db

    for name in args.names:
        benchmarks.LOADERS.get(name)        # every name known before anything is written
    root = benchmarks.data_dir(args.data_dir)
    for name in args.names:
        data = benchmarks.load(name, root)
        with db.writer(args.db) as con:
            benchmarks.install(con, data)
        print(f"{name}: {len(data.questions)} questions, {len(data.tiers)} tier assignments")
    return 0
