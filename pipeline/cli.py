"""`python -m pipeline COMMAND ...`: one small module per command under pipeline/commands/.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``,
and keeps heavy imports inside ``run`` so that ``--help`` stays fast. Adding a command is one
file plus one entry in the ``COMMANDS`` table (name -> module, imported when the parser is built).
Installed (``pip install -e .``, pyproject.toml), the same is the ``ladder`` console command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType

from pipeline import __version__
from pipeline.commands.common import CLIError, add_data_dir_argument, add_db_argument
from warehouse.registry import Registry
from warehouse.errors import LadderError

COMMANDS: Registry[ModuleType] = Registry("command")
for _name, _module in [("benchmarks", "benchmarks"), ("generate", "generate"), ("merge", "merge"),
                       ("tiers", "tiers"), ("import", "import_"), ("models", "models"), ("stats", "stats"),
                       ("demo", "demo"), ("export-charts", "export_charts"), ("grade", "grade"),
                       ("annotate", "annotate"), ("eval-annotator", "eval_annotator"),
                       ("report", "report"), ("export-parquet", "export_parquet"),
                       ("import-parquet", "import_parquet"),
                       ("timeline", "timeline"), ("search", "search"), ("reindex", "reindex")]:   # one entry per command
    COMMANDS.register_lazy(_name, f"pipeline.commands.{_module}")


def build_parser() -> argparse.ArgumentParser:
    prog = "ladder" if Path(sys.argv[0]).name == "ladder" else "python -m pipeline"   # the console command, or -m
    parser = argparse.ArgumentParser(prog=prog,
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
