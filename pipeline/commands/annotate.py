"""`python -m pipeline annotate`: run a step-error annotator over the stored trajectories."""
import json

from pipeline.annotators import ANNOTATORS
from pipeline.backends import BACKENDS
from pipeline.commands.common import CLIError, add_db_argument

NAME = "annotate"
HELP = (f"annotate stored trajectories with an annotator ({', '.join(ANNOTATORS.names())}); "
        "re-running replaces its labels")


def add_arguments(p) -> None:
    p.add_argument("--annotator", default="rules", help=f"{' | '.join(ANNOTATORS.names())} (default: rules)")
    p.add_argument("--limit", type=int, default=None, help="annotate at most N trajectories")
    p.add_argument("--backend", default=None,
                   help=f"judge: generation backend (e.g. {', '.join(BACKENDS.names())})")
    p.add_argument("--model", default=None, help="judge/prm: model id or local path")
    p.add_argument("--segment", action="store_true", help="(re)segment every trajectory into steps first")
    p.add_argument("--timeline", action="store_true",
                   help="only derive the answer timeline of trajectories that lack one at the current grader and "
                        "timeline version (all of them after --segment); no annotator runs")
    add_db_argument(p)


def run(args) -> int:
    from pipeline.annotate import annotate_warehouse, segment_warehouse
    from warehouse import db

    ANNOTATORS.get(args.annotator)          # an unknown name fails here, before the warehouse is opened
    opts = {k: v for k, v in (("backend", args.backend), ("model", args.model)) if v}
    path = db.db_path(args.db)
    if not path.exists():
        raise CLIError(f"no warehouse at {path}")
    if args.segment:
        print(json.dumps(segment_warehouse(path)))
    if args.timeline or args.segment:       # new steps: the stored timelines' step indexes are stale
        from pipeline.annotate import timeline_warehouse
        print(json.dumps(timeline_warehouse(path, every=args.segment)))
        if args.timeline:
            return 0
    print(json.dumps(annotate_warehouse(path, args.annotator, limit=args.limit, **opts)))
    return 0
