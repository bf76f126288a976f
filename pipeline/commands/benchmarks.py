"""`python -m pipeline benchmarks`: load question tables (AIME24, MATH-500) into the warehouse."""
from pipeline import benchmarks
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument

NAME = "benchmarks"
HELP = f"load the {' and '.join(benchmarks.LOADERS.names())} question tables (and the paper's AIME24 tiers)"


def add_arguments(p) -> None:
    p.add_argument("names", nargs="*", default=benchmarks.LOADERS.names(), help="benchmarks to load")
    add_db_argument(p)
    add_data_dir_argument(p)


def run(args) -> int:
    from warehouse import db

    for name in args.names:
        try:
            benchmarks.LOADERS.get(name)
        except KeyError as exc:
            raise CLIError(exc.args[0]) from None
    try:
        root = benchmarks.data_dir(args.data_dir)
    except FileNotFoundError as exc:
        raise CLIError(str(exc)) from exc
    for name in args.names:
        try:
            data = benchmarks.load(name, root)
        except FileNotFoundError as exc:        # no local copy and no way to fetch one
            raise CLIError(str(exc)) from exc
        with db.writer(args.db) as con:
            benchmarks.install(con, data)
        print(f"{name}: {len(data.questions)} questions, {len(data.tiers)} tier assignments")
    return 0
