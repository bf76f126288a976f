"""`python -m pipeline benchmarks`: load question tables (AIME24, MATH-500) into the warehouse."""
from pipeline.cli import add_data_dir_argument, add_db_argument

NAME = "benchmarks"
HELP = "load the aime24 and math500 question tables (and the paper's AIME24 tiers)"


def add_arguments(p) -> None:
    p.add_argument("names", nargs="*", default=["aime24", "math500"], help="benchmarks to load")
    add_db_argument(p)
    add_data_dir_argument(p)


def run(args) -> int:
    from pipeline import benchmarks
    from pipeline.cli import CLIError
    from warehouse import db

    unknown = [n for n in args.names if n not in benchmarks.LOADERS]
    if unknown:
        raise CLIError(f"unknown benchmark {unknown[0]!r}: known are {', '.join(benchmarks.LOADERS)}")
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
