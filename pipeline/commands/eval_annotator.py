"""`python -m pipeline eval-annotator`: score an annotator on ProcessBench step labels."""
import json

from derivation.annotators import ANNOTATORS
from pipeline.commands.annotate import judge_options

NAME = "eval-annotator"
HELP = ("score an annotator's first-error predictions on a ProcessBench file: prints "
        '{"n", "error_acc", "correct_acc", "f1", "agreement": {exact, within1, kappa, ...}, '
        '"baseline": the same scores for "the middle step when the final answer is wrong"}')


def add_arguments(p) -> None:
    p.add_argument("--annotator", required=True, help=" | ".join(ANNOTATORS.names()))
    p.add_argument("--labels", required=True, help="ProcessBench JSON (e.g. ../shared/data/step-labels/processbench/gsm8k.json)")
    p.add_argument("--limit", type=int, default=None, help="first N items only")
    p.add_argument("--backend", default=None, help="judge: generation backend")
    p.add_argument("--model", default=None, help="judge/prm: model id or local path")
    p.add_argument("--config", default=None, help="judge: a judge config (YAML), e.g. configs/judge_openai.yaml")


def run(args) -> int:
    from pipeline.derive.processbench import eval_annotator

    ANNOTATORS.get(args.annotator)          # an unknown name fails here, before the labels are read
    opts = judge_options(args)
    print(json.dumps(eval_annotator(args.annotator, args.labels, args.limit, **opts)))
    return 0
