"""Hostile `--models` manifests: each is refused in well under a second with one line naming the file, the line
(YAML) or row (CSV) and the field, before anything is read or written. The import runs as a subprocess under a
memory limit and a timeout, so a regression fails the test instead of hanging or swapping the machine."""
from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest

from conftest import REPO

MEM = 2 << 30          # address space: a normal import of a small file needs well under 1 GiB


def run_cli(*args: str, timeout: float = 60, mem: int = MEM) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m pipeline ARGS`` under RLIMIT_AS = ``mem``; (the result, seconds taken)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=timeout, preexec_fn=limit)
    return r, time.monotonic() - t


def merge_bomb(levels: int) -> str:
    """A manifest whose one field nests ``levels`` mappings, each merging nine copies of the one before: built,
    level 8 is 9**8 = 43 million key/value pairs (7 levels took 19.5 s, 8 over 90 s)."""
    text = "- model: m\n  group:\n    a0: &a0 {k: v}\n"
    for i in range(1, levels + 1):
        text += f"    a{i}: &a{i} {{<<: [{','.join([f'*a{i - 1}'] * 9)}]}}\n"
    return text


def alias_bomb(levels: int) -> str:
    """The "billion laughs" of YAML: lists of nine aliases of the list before."""
    text = "m:\n  group:\n    - &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels + 1):
        text += f"    - &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n"
    return text


BIG = "9" * 5000


@pytest.mark.parametrize("name, text, where, message", [
    ("merge.yaml", merge_bomb(8), "line 4: group", "YAML merge keys (<<) are not accepted"),
    ("laughs.yaml", alias_bomb(9), "line 4: group", "YAML aliases (*name) are not accepted"),
    ("alias.yaml", "- model: a\n  family: &f qwen\n- model: b\n  family: *f\n", "line 4: family",
     "YAML aliases (*name) are not accepted"),
    ("merge2.yml", "m: {group: x, <<: {family: q}}\n", "line 1: <<", "YAML merge keys (<<) are not accepted"),
    ("digits.yaml", f"- model: m\n  schema_version: {BIG}\n", "line 2: schema_version",
     "cannot be read: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits"),
    ("digits2.yaml", f"- model: m\n  sft_size: {BIG}\n", "line 2: sft_size", "cannot be read: Exceeds the limit (4300 digits)"),
    ("date.yaml", "- model: m\n  released: 2024-13-01\n", "line 2: released", "cannot be read: month must be in 1..12"),
    ("hex.yaml", f"- model: m\n  seed: 0x{'f' * 5000}\n", "line 2: seed", "an integer of over 4300 digits"),
    ("digits.csv", f"model,sft_size\nm,{BIG}\n", "row 2: sft_size", "sft_size must be int, got '999"),
    ("digits2.csv", f"model,params_b\nm,{BIG}\n", "row 2: params_b", "params_b must be a finite number >= 0"),
    ("digits3.csv", f"model,schema_version,seed\nm,1,{BIG}\n", "row 2: seed", "seed must be"),
    ("deep.yaml", f"- model: m\n  group: {'[' * 100_000}{']' * 100_000}\n", "line 2: group",
     "nested over 100 levels deep"),
    ("cell.csv", f"model,group\na,x\nb,{'x' * 200_000}\n", "row 3: row", "field larger than field limit"),
])
def test_hostile_manifest_is_one_line_naming_file_line_and_field(tmp_path, name, text, where, message):
    m = tmp_path / name
    m.write_text(text)
    f = tmp_path / "x.jsonl"
    f.write_text("")
    db_path = tmp_path / "never.duckdb"
    r, took = run_cli("import", "--format", "jsonl", "--benchmark", "aime24", "--models", str(m),
                      "--db", str(db_path), str(f))
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 500, r.stderr[-2000:]
    assert lines[0].startswith(f"error: {m}:{where}: {message}"), lines[0]
    assert took < 20 and not db_path.exists()
