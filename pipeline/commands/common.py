"""What every command module shares: its user-error type and the common arguments."""
from __future__ import annotations

import argparse

from warehouse.errors import LadderError


class CLIError(LadderError):
    """A user-facing error of a command (a bad argument): printed as one line, exit status 2."""


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="warehouse file (default: $LADDER_DB, else warehouse/demo.duckdb)")


def add_data_dir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with aime24/, math500/, traces/ "
                   "(default: $LADDER_DATA_DIR, else ../shared/data when it exists)")
