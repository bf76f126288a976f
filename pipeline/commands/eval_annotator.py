"""`python -m pipeline eval-annotator`: score an annotator on ProcessBench step labels."""
import json

from pipeline.annotators import ANNOTATORS
from pipeline.commands.common import CLIError

NAME = "eval-annotator"
HELP = ("score an annotator's first-error predictions on a ProcessBench file: prints "
        '{"n", "error_acc", "correct_acc", "f1"}')


def add_arguments(p) -> None:
    p.add_argument("--annotator", required=True, help=" | ".join(ANNOTATORS.names()))
    p.add_argument("--labels", required=True, help="ProcessBench JSON (e.g. ../shared/data/step-labels/processbench/gsm8k.json)")
    p.add_argument("--limit", type=int, default=None, help="first N items only")
    p.add_argument("--backend", default=None, help="judge: generation backend")
    p.add_argument("--model", default=None, help="judge/prm: model id or local path")


def run(args) -> int:
    from pipeline.processbench import eval_annotator

    try:
        ANNOTATORS.get(args.annotator)
    except KeyError as exc:
        raise CLIError(exc.args[0]) from None
    opts = {k: v for k, v in (("backend", args.backend), ("model", args.model)) if v}
    try:
        print(json.dumps(eval_annotator(args.annotator, args.labels, args.limit, **opts)))
    except (ValueError, KeyError, ImportError, OSError) as exc:     # bad labels; a backend or model that cannot load
        raise CLIError(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)) from exc
    return 0
