"""`python -m pipeline COMMAND ...`: one small module per command under pipeline/commands/.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``,
and keeps heavy imports inside ``run`` so that ``--help`` stays fast. Adding a command is one
file plus one line in ``COMMANDS``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from warehouse.errors import LadderError

COMMANDS = [
    "pipeline.commands.benchmarks",
    "pipeline.commands.generate",
    "pipeline.commands.merge",
    "pipeline.commands.tiers",
    "pipeline.commands.import_",
    "pipeline.commands.models",
    "pipeline.commands.stats",
    "pipeline.commands.demo",
    "pipeline.commands.export_charts",
    "pipeline.commands.grade",
    "pipeline.commands.annotate",
    "pipeline.commands.eval_annotator",
]


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="warehouse file (default: $LADDER_DB, else warehouse/demo.duckdb)")


def add_data_dir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with aime24/, math500/, traces/ "
                   "(default: $LADDER_DATA_DIR, else ../shared/data when it exists)")


def build_parser() -> argparse.ArgumentParser:
    from pipeline import __version__

    parser = argparse.ArgumentParser(prog="python -m pipeline",
                                     description="Sample, import, grade and annotate reasoning trajectories "
                                                 "into the ladder warehouse.")
    parser.add_argument("--version", action="version", version=f"ladder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        mod = importlib.import_module(name)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


class CLIError(LadderError):
    """A user-facing error of a command (a bad argument): printed as one line, exit status 2."""


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
