"""Every registered thing is documented (in the way Datasette tests its docs): a command, a report, an
import format, a generation backend, an annotator or a benchmark added to its registry without its line in
README.md / docs/ fails here, naming what is missing and where it belongs."""
import re
from pathlib import Path

import pytest

from derivation.annotators import ANNOTATORS
from pipeline.generation.backends import BACKENDS
from pipeline.ingest.benchmarks import LOADERS
from pipeline.cli import COMMANDS
from pipeline.commands.report import SUBCOMMANDS as REPORTS
from pipeline.ingest.importers import IMPORTERS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}


def _row(text: str, start: str) -> str:
    """The table row (one line) of ``text`` that starts with ``start``."""
    rows = [line for line in text.splitlines() if line.startswith(start)]
    assert rows, f"no table row starting with {start!r}"
    return rows[0]


def _alternatives(row: str, option: str) -> set[str]:
    """The values ``--option a\\|b\\|c`` lists in a README row (``\\|`` escapes a pipe inside a table)."""
    m = re.search(rf"{option} ([\w\-]+(?:\\\|[\w\-]+)*)", row)
    assert m, f"{option} lists no values in {row[:80]!r}"
    return set(m.group(1).split("\\|"))


@pytest.mark.parametrize("name", COMMANDS.names())
def test_command_in_readme(name):
    assert f"`python -m pipeline {name} " in README or f"`python -m pipeline {name}`" in README, \
        f"README.md: the command table has no `python -m pipeline {name} ...` (pipeline/cli.COMMANDS)"


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_in_readme_and_docs(name):
    usage = f"python -m pipeline report {name}"
    assert f"| `{usage}" in README, f"README.md: the command table has no row `{usage} ...`"
    assert any(usage in text for text in DOCS.values()), f"docs/: no section on `{usage}` (docs/ANALYSIS.md)"


def test_import_formats_in_readme():
    row = _row(README, "| `python -m pipeline import ")
    assert _alternatives(row, "--format") == set(IMPORTERS.names()), \
        "README.md: the import row's --format list differs from pipeline.ingest.importers.IMPORTERS"


@pytest.mark.parametrize("name", IMPORTERS.names())
def test_import_format_has_a_section(name):
    assert re.search(rf"^### `{re.escape(name)}`", DOCS["IMPORT.md"], re.M), \
        f"docs/IMPORT.md: no section '### `{name}` — ...' for the import format {name!r}"


@pytest.mark.parametrize("name", BACKENDS.names())
def test_backend_in_generation_doc(name):
    assert f"`{name}`" in _row(DOCS["GENERATION.md"], "| `backend` |"), \
        f"docs/GENERATION.md: the run config's `backend` row does not name the backend {name!r}"


def test_annotators_in_readme():
    row = _row(README, "| `python -m pipeline annotate ")
    assert _alternatives(row, "--annotator") == set(ANNOTATORS.names()), \
        "README.md: the annotate row's --annotator list differs from derivation.annotators.ANNOTATORS"


@pytest.mark.parametrize("name", ANNOTATORS.names())
def test_annotator_in_docs(name):
    assert f"`{name}`" in DOCS["ANALYSIS.md"], f"docs/ANALYSIS.md: the annotator {name!r} is never named"


def test_benchmarks_in_readme():
    row = _row(README, "| `python -m pipeline benchmarks ")
    assert set(re.search(r"\[([\w\- ]+)\]", row).group(1).split()) == set(LOADERS.names()), \
        "README.md: the benchmarks row's list differs from pipeline.ingest.benchmarks.LOADERS"


def test_the_check_itself_finds_a_missing_name():
    """The helpers above do fail on an undocumented name (a registry grows, the docs do not)."""
    with pytest.raises(AssertionError):
        _row(README, "| `python -m pipeline no-such-command ")
    assert "no-such-format" not in _alternatives(_row(README, "| `python -m pipeline import "), "--format")
