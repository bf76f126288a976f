"""`python -m pipeline COMMAND ...`: one small module per command under pipeline/commands/.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``,
and keeps heavy imports inside ``run`` so that ``--help`` stays fast. Adding a command is one
file plus one line in ``COMMANDS`` (name -> module, imported when the parser is built).
"""
from __future__ import annotations

import argparse
import sys
from types import ModuleType

from pipeline import __version__
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument
from pipeline.registry import Registry
from warehouse.errors import LadderError

COMMANDS: Registry[ModuleType] = Registry("command")
COMMANDS.register_lazy("benchmarks", "pipeline.commands.benchmarks")
COMMANDS.register_lazy("generate", "pipeline.commands.generate")
COMMANDS.register_lazy("merge", "pipeline.commands.merge")
COMMANDS.register_lazy("tiers", "pipeline.commands.tiers")
COMMANDS.register_lazy("import", "pipeline.commands.import_")
COMMANDS.register_lazy("models", "pipeline.commands.models")
COMMANDS.register_lazy("stats", "pipeline.commands.stats")
COMMANDS.register_lazy("demo", "pipeline.commands.demo")
COMMANDS.register_lazy("export-charts", "pipeline.commands.export_charts")
COMMANDS.register_lazy("grade", "pipeline.commands.grade")
COMMANDS.register_lazy("annotate", "pipeline.commands.annotate")
COMMANDS.register_lazy("eval-annotator", "pipeline.commands.eval_annotator")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline",
                                     description="Sample, import, grade and annotate reasoning trajectories "
                                                 "into the ladder warehouse.")
    parser.add_argument("--version", action="version", version=f"ladder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS.names():
        mod = COMMANDS.get(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except LadderError as exc:       # CLIError, and the warehouse's own (missing, busy, unreadable)
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# CLIError and the argument helpers live in pipeline.commands.common (a command module need not
# import this one); they stay importable from here, where HACKING.md documents them
__all__ = ["COMMANDS", "CLIError", "add_data_dir_argument", "add_db_argument", "build_parser", "main"]
