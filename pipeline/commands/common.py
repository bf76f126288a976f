"""What every command module shares: its user-error type and the common arguments."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from warehouse.errors import LadderError, NotFound


class CLIError(LadderError):
    """A user-facing error of a command (a bad argument): printed as one line, exit status 2."""


def check_benchmark(name: str | None, known: Sequence[str]) -> None:
    """Raise ``NotFound`` naming the known benchmarks when ``--benchmark name`` is given and is not one of
    ``known`` (the warehouse's benchmarks, e.g. ``lookup.benchmark_names(con)``), as ``check_models`` does."""
    if name and name not in known:
        raise NotFound(f"--benchmark {name!r} is not in the warehouse: known are {', '.join(known) or '(none yet)'}")


def check_models(con, names: Sequence[str] | None, flag: str = "--models") -> None:
    """Raise ``NotFound`` naming each of ``names`` (the values of ``flag``) that is not a model of the warehouse
    open on ``con``, and the models it has."""
    if not names:
        return
    from warehouse import lookup

    known = [m.model_id for m in lookup.models(con)]
    missing = [n for n in names if n not in set(known)]
    if missing:
        more = f" and {len(known) - 20} more (`models list` shows them)" if len(known) > 20 else ""
        raise NotFound(f"{flag}: {', '.join(map(repr, missing))} not in the warehouse: known are "
                       f"{', '.join(known[:20]) or '(none yet)'}{more}")


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="warehouse file (default: $LADDER_DB, else warehouse/demo.duckdb)")


def add_data_dir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with aime24/, math500/, traces/ "
                   "(default: $LADDER_DATA_DIR, else ../shared/data when it exists)")
