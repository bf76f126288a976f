"""`python -m pipeline grade`: (re)grade stored trajectories with the ladder grader."""
import json

from pipeline.commands.common import add_db_argument

NAME = "grade"
HELP = "grade stored trajectories with the ladder grader (no regeneration); --regrade redoes graded ones"


def add_arguments(p) -> None:
    p.add_argument("--regrade", action="store_true", help="grade again trajectories already graded by this version")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    add_db_argument(p)


def run(args) -> int:
    from pipeline.derive.annotate import grade_warehouse
    from warehouse import db

    result = grade_warehouse(db.db_path(args.db), regrade=args.regrade, workers=args.workers)
    print(json.dumps(result))
    return 0
