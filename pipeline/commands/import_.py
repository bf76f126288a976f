"""`python -m pipeline import`: import real trajectory files (see docs/IMPORT.md for the formats) into the warehouse."""
import sys
from pathlib import Path

from pipeline.ingest import benchmarks
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument
from pipeline.ingest.importers import IMPORTERS

NAME = "import"
HELP = f"import trajectory files or folders (formats: {', '.join(IMPORTERS.names())}; see docs/IMPORT.md)"
MAX_PROBLEMS_SHOWN = 50


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders searched recursively")
    p.add_argument("--format", required=True, dest="fmt", choices=IMPORTERS.names(), help="input format")
    p.add_argument("--benchmark", required=True,
                   help=f"{', '.join(benchmarks.LOADERS.names())}, a benchmark already in the warehouse, or a new name "
                        "(then created from the file's problems and gold answers)")
    p.add_argument("--model", help="model name (default: from the file; see docs/IMPORT.md)")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                   help="model metadata: a models column (family, params_b, base_model, sft_size, group, "
                        "train_step, ...) or any other key (stored in models.meta); repeatable")
    p.add_argument("--models", metavar="FILE.yaml|csv", dest="manifest",
                   help="model manifest: metadata for many models at once (see docs/IMPORT.md); entries apply "
                        "to the imported models of those names")
    p.add_argument("--columns", metavar="ROLE=NAME,...",
                   help="; ".join(f"{n}: {m.COLUMNS_HELP}" for n in IMPORTERS.names()
                                  if (m := IMPORTERS.get(n)) and hasattr(m, "COLUMNS_HELP")))
    p.add_argument("--strict", action="store_true",
                   help="import a file only if none of its lines is rejected")
    add_db_argument(p)
    add_data_dir_argument(p)


def run(args) -> int:
    from pipeline.ingest import manifest
    from pipeline.ingest.importers.hf import parse_columns
    from pipeline.ingest.session import ImportSession, check_args, expand, parse_meta

    meta = parse_meta(args.meta)
    check_args(args.benchmark, args.model, meta)
    columns = parse_columns(args.columns)
    models = manifest.load(args.manifest) if args.manifest else []
    root = benchmarks.data_dir(args.data_dir)
    for p in args.paths:
        if not expand(Path(p), args.fmt):
            raise CLIError(f"{p}: no files to import in format {args.fmt}")
    session = ImportSession(args.db, root)
    failed = 0

    def report(rep) -> None:          # printed as each file is done
        nonlocal failed
        for prob in rep.problems[:MAX_PROBLEMS_SHOWN]:
            print(f"{prob.severity}: {prob}", file=sys.stderr)
        if len(rep.problems) > MAX_PROBLEMS_SHOWN:
            print(f"... and {len(rep.problems) - MAX_PROBLEMS_SHOWN} more problems in {rep.path}",
                  file=sys.stderr)
        print(rep.summary(), flush=True)
        failed += not rep.ok

    seen: set[str] = set()
    written = False
    for p in args.paths:
        for rep in session.import_path(p, args.fmt, args.benchmark, model=args.model, meta=meta,
                                       strict=args.strict, on_report=report, models=models, columns=columns):
            seen.update(rep.models)
            written |= rep.written
    if written:                       # a benchmark with stored failure modes: embed and cluster again
        from pipeline.derive.annotate import refresh_clusters, refresh_line

        for r in refresh_clusters(args.db, [args.benchmark]):
            print(refresh_line(r), flush=True)
    unused = [m.model_id for m in models if m.model_id not in seen]
    if unused:
        print(f"warning: {args.manifest}: {len(unused)} manifest models matched no imported model: "
              f"{', '.join(unused[:10])}{' ...' if len(unused) > 10 else ''}", file=sys.stderr)
    return 1 if failed else 0
