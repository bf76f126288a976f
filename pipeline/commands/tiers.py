"""`python -m pipeline tiers`: assign question tiers (paper | rule | auto) and store them."""
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument

NAME = "tiers"
HELP = "assign difficulty tiers to a benchmark's questions: the paper's, the paper's rule, or automatic"


def add_arguments(p) -> None:
    p.add_argument("--scheme", choices=["paper", "rule", "auto"], required=True)
    p.add_argument("--benchmark", required=True)
    p.add_argument("--groups", nargs="+", metavar="GROUP",
                   help="rule: the base group, the small-SFT group, then any other reference groups "
                        "(default: base small_sft and every other group)")
    p.add_argument("--source", default="observed",
                   help="rule: 'observed' (pooled group accuracies in the warehouse) or a reference source "
                        "such as paper_fig1")
    p.add_argument("--easy", type=float, default=0.5, help="rule: Easy when the base group is above this")
    p.add_argument("--medium", type=float, default=0.5, help="rule: Medium when the small-SFT group is above this")
    p.add_argument("--exh", type=float, default=0.1, help="rule: Exh when every group is below this")
    p.add_argument("--k", type=int, default=4, help="auto: number of tiers including Exh")
    p.add_argument("--exh-threshold", type=float, default=0.0, help="auto: Exh when the solve rate is <= this")
    p.add_argument("--store-as", help="scheme name to store under (default: the --scheme value)")
    p.add_argument("--dry-run", action="store_true", help="print the tiers without storing them")
    add_db_argument(p)
    add_data_dir_argument(p)


def run(args) -> int:
    from pipeline.ingest import benchmarks
    from charts import tier_view as tiering
    from warehouse import db, lookup, tier_store as tiers
    from warehouse.filters import Selection

    target = args.store_as or args.scheme
    if args.scheme == "paper":
        if args.benchmark != "aime24":
            raise CLIError("the paper assigns tiers only to aime24")
        data = benchmarks.load("aime24", benchmarks.data_dir(args.data_dir))
        if not data.tiers:
            raise CLIError("no paper_reference.csv in the data directory: the paper's tiers are not available")
        with db.writer(args.db) as con:
            benchmarks.install(con, data)
            print(tiers.tier_counts(con, "aime24").filter(scheme="paper"))
        return 0
    with db.reader(args.db) as con:
        if not lookup.question_count(con, args.benchmark):
            raise CLIError(f"benchmark {args.benchmark!r} has no questions in {db.db_path(args.db)}")
        sel = Selection(args.benchmark)
        if args.scheme == "rule":
            g = args.groups or ["base", "small_sft"]
            if len(g) < 2:
                raise CLIError("--groups needs at least the base group and the small-SFT group")
            out = tiering.rule_tiers(con, sel, g[0], g[1], args.source, tuple(args.groups or ()),
                                     easy=args.easy, medium=args.medium, exh=args.exh)
        else:
            out = tiering.auto_tiers(con, sel, args.k, args.exh_threshold)
        disagree = (tiering.paper_rule_disagreements(con, args.benchmark)
                    if args.scheme == "rule" and args.benchmark == "aime24" and args.source == "paper_fig1" else None)
    counts = out.group_by("tier").len().sort("tier")
    print(f"{args.benchmark}: {out.height} questions -> " +
          ", ".join(f"{t} {n}" for t, n in counts.iter_rows()))
    if disagree is not None and not disagree.is_empty():
        print("disagreements with the paper's tiers:")
        print(disagree)
    if args.dry_run:
        print(out.select("question_id", "tier"))
        return 0
    with db.writer(args.db) as con:
        n = tiers.store_scheme(con, args.benchmark, target, out)
    print(f"stored {n} tiers as scheme {target!r}")
    return 0
