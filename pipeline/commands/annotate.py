"""`python -m pipeline annotate`: run a step-error annotator over the stored trajectories."""
from pipeline.cli import add_db_argument

NAME = "annotate"
HELP = "annotate stored trajectories with an annotator (rules, judge, prm); re-running replaces its labels"


def add_arguments(p) -> None:
    p.add_argument("--annotator", default="rules", help="rules | judge | prm (default: rules)")
    p.add_argument("--limit", type=int, default=None, help="annotate at most N trajectories")
    p.add_argument("--backend", default=None, help="judge: generation backend (e.g. llamacpp, transformers, vllm)")
    p.add_argument("--model", default=None, help="judge/prm: model id or local path")
    p.add_argument("--segment", action="store_true", help="(re)segment every trajectory into steps first")
    add_db_argument(p)


def run(args) -> int:
    import json

    from pipeline.annotate import annotate_warehouse, segment_warehouse
    from pipeline.annotators import ANNOTATORS
    from pipeline.cli import CLIError
    from warehouse import db
    from warehouse.errors import LadderError

    if args.annotator not in ANNOTATORS:
        raise CLIError(f"unknown annotator {args.annotator!r}: known are {', '.join(sorted(ANNOTATORS))}")
    opts = {k: v for k, v in (("backend", args.backend), ("model", args.model)) if v}
    path = db.db_path(args.db)
    if not path.exists():
        raise CLIError(f"no warehouse at {path}")
    try:
        if args.segment:
            print(json.dumps(segment_warehouse(path)))
        print(json.dumps(annotate_warehouse(path, args.annotator, limit=args.limit, **opts)))
    except LadderError:
        raise
    except (ValueError, KeyError, ImportError, OSError) as exc:     # a backend or model that cannot load
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise CLIError(msg if msg.startswith(f"{args.annotator}:") else f"{args.annotator}: {msg}") from exc
    return 0
