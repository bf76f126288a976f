"""`python -m pipeline demo`: build the demo warehouse from every real trace set in the data dir."""
from pipeline.commands.common import add_data_dir_argument, add_db_argument

NAME = "demo"
HELP = "build the demo warehouse (default warehouse/demo.duckdb) from the real traces in the data dir"


def add_arguments(p) -> None:
    add_db_argument(p)
    add_data_dir_argument(p)
    p.add_argument("--rebuild", action="store_true", help="delete the warehouse file first")
    p.add_argument("--workers", type=int, help="processes for grading/annotation (default: all cores)")


def run(args) -> int:
    from pipeline.ingest import demo
    from warehouse import db

    path = db.db_path(args.db)
    if args.rebuild:
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)
    rep = demo.build(path, args.data_dir, workers=args.workers)
    for f in rep.files:
        print(f.summary())
    new = sum(f.new for f in rep.files)
    print(f"demo warehouse {rep.db_path}: {len(rep.files)} files, {rep.trajectories} trajectories "
          f"({new} new) in {rep.seconds:.1f}s")
    return 0 if all(f.ok for f in rep.files) else 1
