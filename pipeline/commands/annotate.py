"""`python -m pipeline annotate`: run a step-error annotator over the stored trajectories."""
import json

from derivation.annotators import ANNOTATORS
from pipeline.generation.backends import BACKENDS
from pipeline.commands.common import CLIError, add_db_argument

NAME = "annotate"
HELP = (f"annotate stored trajectories with an annotator ({', '.join(ANNOTATORS.names())}); "
        "re-running replaces its labels (judge: only what it has not judged; --redo: all)")


def add_arguments(p) -> None:
    p.add_argument("--annotator", default="rules", help=f"{' | '.join(ANNOTATORS.names())} (default: rules)")
    p.add_argument("--limit", type=int, default=None, help="annotate at most N trajectories")
    p.add_argument("--backend", default=None,
                   help=f"judge: generation backend (e.g. {', '.join(BACKENDS.names())})")
    p.add_argument("--model", default=None, help="judge/prm: model id or local path")
    p.add_argument("--config", default=None, help="judge: a judge config (YAML: backend, model, backend_options, "
                   "max_tokens, batch_size), e.g. configs/judge_openai.yaml for a server (docs/GENERATION.md)")
    p.add_argument("--redo", action="store_true", help="judge: judge every trajectory again (default: only those "
                   "it has not judged, so an interrupted run goes on where it stopped)")
    p.add_argument("--segment", action="store_true", help="(re)segment every trajectory into steps first")
    p.add_argument("--timeline", action="store_true",
                   help="only derive the answer timeline of trajectories that lack one at the current grader and "
                        "timeline version (all of them after --segment); no annotator runs")
    p.add_argument("--clusters", action="store_true",
                   help="only group the wrong trajectories into failure modes: embed what they did (offline, "
                        "wordllama; only trajectories lacking a vector at the current version) and cluster each "
                        "benchmark's wrong ones (k by silhouette, fixed seed); no annotator runs")
    p.add_argument("--benchmark", default=None, help="--clusters: only this benchmark (default: every one)")
    add_db_argument(p)


def run(args) -> int:
    from pipeline.derive.annotate import annotate_warehouse, segment_warehouse
    from warehouse import db

    ANNOTATORS.get(args.annotator)          # an unknown name fails here, before the warehouse is opened
    opts = judge_options(args)
    path = db.db_path(args.db)
    if not path.exists():
        raise CLIError(f"no warehouse at {path}")
    if args.clusters:
        return clusters(path, args.benchmark)
    if args.segment:
        print(json.dumps(segment_warehouse(path)))
    if args.timeline or args.segment:       # new steps: the stored timelines' step indexes are stale
        from pipeline.derive.annotate import timeline_warehouse
        print(json.dumps(timeline_warehouse(path, every=args.segment)))
        if args.timeline:
            return 0
    resume = args.annotator == "judge" and not args.redo
    print(json.dumps(annotate_warehouse(path, args.annotator, limit=args.limit, resume=resume, **opts)))
    return 0


def judge_options(args) -> dict:
    """The annotator's options from --backend/--model, or from a judge --config (not both)."""
    opts = {k: v for k, v in (("backend", args.backend), ("model", args.model)) if v}
    if args.config is None:
        return opts
    if args.annotator != "judge":
        raise CLIError(f"--config configures the judge, not {args.annotator!r}")
    if opts:
        raise CLIError("give either --config or --backend/--model, not both")
    from pipeline.generation.config import load_judge

    return load_judge(args.config)


def clusters(path, benchmark: str | None) -> int:
    from pipeline.derive.annotate import cluster_warehouse, embed_warehouse
    from warehouse import db, lookup

    if benchmark is not None:
        with db.reader(path) as con:
            known = lookup.benchmark_names(con)
        if benchmark not in known:
            raise CLIError(f"no benchmark {benchmark!r} in {path} (stored: {', '.join(known) or 'none'})")
    print(json.dumps(embed_warehouse(path, benchmark)))
    for r in cluster_warehouse(path, benchmark):
        print(json.dumps(r))
    return 0
