"""No user error ends in a traceback: every bad invocation of `python -m pipeline` is one line
`error: ...` on stderr with exit status 2 (argparse's own usage errors: status 2 too).

Each row runs the real command in a subprocess against real files: a 0-byte file, a text file, an
SQLite database, a folder and a path under a file as the warehouse (``--db`` or ``$LADDER_DB``),
and bad arguments against a small real warehouse.
"""
from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
TRACE = SHARED / "traces" / "skythought-aime24" / "Qwen2.5-Math-7B.jsonl"
LABELS = SHARED / "step-labels" / "processbench" / "gsm8k.json"
IMPORT = ["import", "--format", "qwen-eval", "--benchmark", "aime24", str(TRACE)]
NO_VLLM = importlib.util.find_spec("vllm") is None


def _pipeline(args: list[str], env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "LADDER_DB"}
    full.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "LADDER_LOCK_TIMEOUT": "5"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=str(REPO), env=full, timeout=timeout)


@pytest.fixture(scope="module")
def good(shared, tmp_path_factory) -> Path:
    """A small real warehouse: one AIME24 trace file (30 trajectories)."""
    path = tmp_path_factory.mktemp("good") / "w.duckdb"
    r = _pipeline([*IMPORT, "--db", str(path)])
    assert r.returncode == 0, r.stderr
    return path


def _files(tmp: Path) -> dict[str, Path]:
    """The bad warehouses, made afresh for every row (a writer turns a 0-byte file into a warehouse)."""
    (tmp / "empty.duckdb").write_bytes(b"")
    (tmp / "text.duckdb").write_text("this is not a database\n")
    con = sqlite3.connect(tmp / "lite.duckdb")
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    (tmp / "folder").mkdir()
    (tmp / "afile").write_text("a file\n")
    (tmp / "labels.json").write_text("[")
    return {"empty": tmp / "empty.duckdb", "text": tmp / "text.duckdb", "sqlite": tmp / "lite.duckdb",
            "folder": tmp / "folder", "under_file": tmp / "afile" / "w.duckdb", "missing": tmp / "none.duckdb",
            "afile": tmp / "afile", "nofile": tmp / "none.json", "badjson": tmp / "labels.json"}


NOT_DUCKDB = "not a DuckDB warehouse file"
# (id, argv: "{name}" is a path from _files, {good} the real warehouse, {tmp} the test's folder; the
#  stderr fragment; the exit status). Warehouse rows pass the bad file as --db.
CASES = [
    # the warehouse path is not a warehouse
    ("stats-empty", ["stats", "--db", "{empty}"], "is empty (0 bytes)", 2),
    ("stats-text", ["stats", "--db", "{text}"], NOT_DUCKDB, 2),
    ("stats-sqlite", ["stats", "--db", "{sqlite}"], "is an SQLite database", 2),
    ("stats-folder", ["stats", "--db", "{folder}"], "is a folder", 2),
    ("stats-under-file", ["stats", "--db", "{under_file}"], "is a file, not a folder", 2),
    ("stats-missing", ["stats", "--db", "{missing}"], "no warehouse at", 2),
    ("grade-empty", ["grade", "--db", "{empty}"], "is empty (0 bytes)", 2),
    ("grade-text", ["grade", "--db", "{text}"], NOT_DUCKDB, 2),
    ("grade-folder", ["grade", "--db", "{folder}"], "is a folder", 2),
    ("tiers-empty", ["tiers", "--scheme", "auto", "--benchmark", "aime24", "--db", "{empty}"], "is empty", 2),
    ("tiers-text", ["tiers", "--scheme", "auto", "--benchmark", "aime24", "--db", "{text}"], NOT_DUCKDB, 2),
    ("tiers-paper-text", ["tiers", "--scheme", "paper", "--benchmark", "aime24", "--db", "{text}"], NOT_DUCKDB, 2),
    ("export-empty", ["export-charts", "--out", "{tmp}/out", "--db", "{empty}"], "is empty", 2),
    ("export-text", ["export-charts", "--out", "{tmp}/out", "--db", "{text}"], NOT_DUCKDB, 2),
    ("export-sqlite", ["export-charts", "--out", "{tmp}/out", "--db", "{sqlite}"], "is an SQLite database", 2),
    # import reads the warehouse before it writes: a 0-byte file is refused there too
    ("import-empty", [*IMPORT, "--db", "{empty}"], "is empty (0 bytes)", 2),
    ("import-text", [*IMPORT, "--db", "{text}"], NOT_DUCKDB, 2),
    ("import-sqlite", [*IMPORT, "--db", "{sqlite}"], "is an SQLite database", 2),
    ("import-folder", [*IMPORT, "--db", "{folder}"], "is a folder", 2),
    ("import-under-file", [*IMPORT, "--db", "{under_file}"], "is a file, not a folder", 2),
    ("benchmarks-text", ["benchmarks", "aime24", "--db", "{text}"], NOT_DUCKDB, 2),
    ("benchmarks-under-file", ["benchmarks", "aime24", "--db", "{under_file}"], "is a file, not a folder", 2),
    ("annotate-text", ["annotate", "--db", "{text}"], NOT_DUCKDB, 2),
    ("merge-into-text", ["merge", "{good}", "--db", "{text}"], NOT_DUCKDB, 2),
    ("generate-dry-run-text", ["generate", "--config", "configs/cpu_demo.yaml", "--dry-run", "--db", "{text}"],
     NOT_DUCKDB, 2),
    # bad arguments
    ("generate-no-config", ["generate", "--config", "{tmp}/none.yaml", "--dry-run", "--db", "{missing}"],
     "cannot read the config", 2),
    ("generate-config-folder", ["generate", "--config", "{folder}", "--dry-run", "--db", "{missing}"],
     "cannot read the config", 2),
    ("generate-bad-shard", ["generate", "--config", "configs/cpu_demo.yaml", "--dry-run", "--shard", "5/2",
                            "--db", "{missing}"], "--shard", 2),
    ("benchmarks-unknown", ["benchmarks", "nosuch", "--db", "{missing}"], "unknown benchmark 'nosuch'", 2),
    ("benchmarks-no-data-dir", ["benchmarks", "aime24", "--data-dir", "{tmp}/nodir", "--db", "{missing}"],
     "is not a directory", 2),
    ("tiers-paper-empty-data-dir", ["tiers", "--scheme", "paper", "--benchmark", "aime24", "--data-dir", "{folder}",
                                    "--db", "{missing}"], "no local copy of aime24", 2),
    ("tiers-unknown-benchmark", ["tiers", "--scheme", "auto", "--benchmark", "nosuch", "--db", "{good}"],
     "'nosuch' has no questions", 2),
    ("stats-unknown-benchmark", ["stats", "--benchmark", "nosuch", "--db", "{good}"], "'nosuch' is not in the warehouse", 2),
    ("export-unknown-benchmark", ["export-charts", "--out", "{tmp}/out", "--benchmark", "nosuch", "--format", "html",
                                  "--db", "{good}"], "'nosuch' is not in the warehouse", 2),
    ("export-unknown-scheme", ["export-charts", "--out", "{tmp}/out", "--scheme", "nosuch", "--format", "html",
                               "--db", "{good}"], "--scheme 'nosuch'", 2),
    ("export-out-is-a-file", ["export-charts", "--out", "{afile}", "--format", "html", "--db", "{good}"],
     "is a file", 2),
    ("export-out-under-a-file", ["export-charts", "--out", "{afile}/figs", "--format", "html", "--db", "{good}"],
     "Not a directory", 2),
    ("export-bad-format", ["export-charts", "--out", "{tmp}/out", "--format", "gif", "--db", "{good}"], "gif", 2),
    ("annotate-unknown", ["annotate", "--annotator", "nosuch", "--db", "{good}"], "unknown annotator", 2),
    ("annotate-missing", ["annotate", "--db", "{missing}"], "no warehouse at", 2),
    ("eval-no-labels", ["eval-annotator", "--annotator", "rules", "--labels", "{nofile}"], "no such file", 2),
    ("eval-labels-folder", ["eval-annotator", "--annotator", "rules", "--labels", "{folder}"], "Is a directory", 2),
    ("eval-labels-bad-json", ["eval-annotator", "--annotator", "rules", "--labels", "{badjson}"], "not valid JSON", 2),
    ("eval-unknown-annotator", ["eval-annotator", "--annotator", "nosuch", "--labels", str(LABELS)],
     "unknown annotator", 2),
    ("merge-missing-shard", ["merge", "{missing}", "--db", "{tmp}/m.duckdb"], "no such shard file", 2),
    ("merge-text-shard", ["merge", "{text}", "--db", "{tmp}/m.duckdb"], "cannot read as a DuckDB warehouse", 2),
    ("merge-into-itself", ["merge", "{good}", "--db", "{good}"], "both a shard and the merge target", 2),
    ("demo-no-traces", ["demo", "--data-dir", "{folder}", "--db", "{tmp}/d.duckdb"], "no traces/ folder", 2),
    ("import-no-path", ["import", "--format", "qwen-eval", "--benchmark", "aime24", "{tmp}/none.jsonl",
                        "--db", "{missing}"], "no such file", 2),
    ("import-bad-meta", [*IMPORT, "--meta", "bad", "--db", "{missing}"], "--meta 'bad'", 2),
]


def _fill(argv: list[str], files: dict[str, Path], good: Path, tmp: Path) -> list[str]:
    return [a.format(good=good, tmp=tmp, **files) for a in argv]


def _one_error_line(r: subprocess.CompletedProcess, fragment: str) -> None:
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("argv,fragment,status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_invocation_is_one_line(argv, fragment, status, good, tmp_path):
    files = _files(tmp_path)
    before = {k: files[k].read_bytes() for k in ("text", "sqlite")}
    r = _pipeline(_fill(argv, files, good, tmp_path))
    assert r.returncode == status, r.stderr
    _one_error_line(r, fragment)
    assert {k: files[k].read_bytes() for k in before} == before        # a foreign file is never written


@pytest.mark.parametrize("kind,fragment", [("empty", "is empty"), ("text", NOT_DUCKDB), ("folder", "is a folder")])
def test_the_warehouse_from_the_environment(kind, fragment, tmp_path):
    files = _files(tmp_path)
    r = _pipeline(["stats"], env={"LADDER_DB": str(files[kind])})
    assert r.returncode == 2
    _one_error_line(r, fragment)


@pytest.mark.skipif(not os.path.ismount("/sys"), reason="needs sysfs, where nobody (not even root) creates folders")
def test_export_into_a_folder_nobody_may_write(good):
    r = _pipeline(["export-charts", "--out", "/sys/ladder-charts", "--format", "html", "--db", str(good)])
    assert r.returncode == 2
    _one_error_line(r, "cannot write the charts to /sys/ladder-charts")


@pytest.mark.data                   # the labels file and aime24 (the config's benchmark) from ../shared
@pytest.mark.skipif(not NO_VLLM, reason="vllm is installed")
def test_vllm_not_installed_is_one_line(tmp_path):
    r = _pipeline(["eval-annotator", "--annotator", "judge", "--backend", "vllm", "--model", "some/model",
                   "--labels", str(LABELS), "--limit", "1"])
    assert r.returncode == 2
    _one_error_line(r, "requirements-gpu.txt")
    cfg = tmp_path / "vllm.yaml"
    cfg.write_text("name: v\nbackend: vllm\nsamples: 1\nmax_tokens: 8\nbenchmarks: [{name: aime24, limit: 1}]\n"
                   "models: [{model: some/model, model_id: m}]\n")
    r = _pipeline(["generate", "--config", str(cfg), "--db", str(tmp_path / "w.duckdb"), "--no-progress"])
    assert r.returncode == 2
    _one_error_line(r, "the vllm backend needs the `vllm` package")


@pytest.mark.parametrize("argv", [["stats", "--nosuch"], ["nosuch"], ["import", "x.jsonl", "--benchmark", "aime24"]],
                         ids=["unknown-flag", "unknown-command", "missing-required"])
def test_argparse_usage_errors(argv):
    r = _pipeline(argv)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("usage: ") and "error: " in r.stderr.strip().splitlines()[-1]


@pytest.mark.data                   # `benchmarks aime24` installs it from the data dir (../shared/data)
def test_a_zero_byte_file_becomes_a_warehouse_when_written(tmp_path):
    """A 0-byte file (touch, mktemp) holds nothing: a writing command starts a new warehouse in it."""
    files = _files(tmp_path)
    r = _pipeline(["benchmarks", "aime24", "--db", str(files["empty"])])
    assert r.returncode == 0, r.stderr
    r = _pipeline(["stats", "--db", str(files["empty"])])
    assert r.returncode == 0 and r.stdout.strip() == "no trajectories in the warehouse yet", r.stderr
