"""`python -m pipeline generate --config configs/X.yaml`: sample trajectories into the warehouse."""
import signal

from pipeline.generation.backends import BACKENDS
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument

NAME = "generate"
HELP = (f"sample reasoning trajectories with a local model ({', '.join(BACKENDS.names())}), here or on a "
        "Ray cluster; resumable, shardable")
EXECUTORS = ("local", "ray")


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, help="run config (YAML), e.g. configs/cpu_demo.yaml")
    p.add_argument("--dry-run", action="store_true", help="print the plan (generations, token bound, "
                   "what the warehouse already holds) and exit without loading a model")
    add_db_argument(p)
    p.add_argument("--shard", help="i/N: generate only shard i (0-based) of N; see docs/GENERATION.md")
    p.add_argument("--out", help="write to DIR/<config name>[.shard-i-of-N].duckdb instead of --db "
                   "(combine the shard files with `python -m pipeline merge`)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (default): this process loads each model; ray: a Ray Data job, one model-holding "
                        "worker per CPU slot or vLLM engine per GPU group, results written here (docs/SCALE.md)")
    p.add_argument("--address", help="with --executor ray: the cluster (auto, or ray://HOST:PORT; default: "
                   "$RAY_ADDRESS, else a new local cluster)")
    p.add_argument("--workers", type=int, help="with --executor ray: how many workers (default: the config's "
                   "ray.workers, else as many as the cluster holds)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_data_dir_argument(p)


def _interrupt(signum, frame):
    from pipeline.generation import runner as generate

    generate.STOP.set()           # kept even where a C callback swallows the raise below
    raise KeyboardInterrupt


def run(args) -> int:
    from pipeline.ingest import benchmarks, shards
    from pipeline.generation import config, runner as generate

    cfg = config.load(args.config)
    shard = shards.parse_shard(args.shard) if args.shard else None
    if args.out and args.db:
        raise CLIError("give either --db or --out, not both")
    if args.executor != "ray" and (args.address or args.workers is not None):
        raise CLIError("--address and --workers need --executor ray")
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers: expected at least 1, got {args.workers}")
    target = shards.shard_db_path(args.out, cfg.name, shard) if args.out else args.db
    plan = generate.make_plan(cfg, target, shard, benchmarks.data_dir(args.data_dir))
    print(plan.describe())
    if args.dry_run:
        return 0
    # SIGTERM behaves like Ctrl-C: the batch in flight is rolled back, committed batches stay.
    signal.signal(signal.SIGTERM, _interrupt)
    if args.executor == "ray":
        from pipeline.generation import ray_exec

        s = ray_exec.execute(plan, address=args.address, workers=args.workers, progress=not args.no_progress)
    else:
        s = generate.execute(plan, progress=not args.no_progress)   # a model that cannot load: ModelLoadError
    rate = s["generated"] / s["seconds"] if s["seconds"] else 0.0
    on = f" on {s['workers']} Ray worker(s)" if args.executor == "ray" and s["generated"] else ""
    print(f"generated {s['generated']} trajectories ({s['tokens']} tokens) in {s['batches']} batches{on}, "
          f"{s['seconds']}s ({rate:.2f} traj/s) into {plan.db}")
    return 0
