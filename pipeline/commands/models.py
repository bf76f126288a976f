"""`python -m pipeline models list|set`: the models and their metadata; set it without re-importing."""
from pipeline.commands.common import CLIError, add_db_argument, check_models
from pipeline.ingest.importers.base import has_surrogates, model_from_meta

NAME = "models"
HELP = "list models, or set a model's metadata: models set MODEL KEY=VALUE ... (see docs/IMPORT.md)"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="one line per model: its id and the metadata it has")
    add_db_argument(ls)
    st = sub.add_parser("set", help="set models columns (params_b, family, group, train_step, ...); "
                                    "any other key goes into models.meta")
    st.add_argument("model", help="a model id in the warehouse")
    st.add_argument("items", nargs="+", metavar="KEY=VALUE")
    add_db_argument(st)


def run(args) -> int:
    from pipeline.ingest.session import parse_meta
    from warehouse import db, ingest, lookup

    if not db.db_path(args.db).exists():
        raise CLIError(f"no warehouse at {db.db_path(args.db)}")
    if args.action == "list":
        with db.reader(args.db) as con:
            models = lookup.models(con)
        for m in models:
            r = m.as_row()
            meta = r.pop("meta")
            print(r.pop("model_id"), *(f"{k}={v}" for k, v in {**r, **meta}.items() if v is not None))
        return 0
    if has_surrogates(args.model):
        raise CLIError(f"{args.model!r}: not valid UTF-8")
    m = model_from_meta(args.model, parse_meta(args.items, "models set"), "models set")
    with db.writer(args.db) as con:      # one transaction; bumps data_version (the app's caches)
        check_models(con, [args.model], "models set")
        ingest.upsert_model(con, m)
    print(f"{args.model}: set {', '.join(args.items)}")
    return 0
