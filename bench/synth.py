"""SYNTHETIC trajectories, for benchmarking only — never analysis.

Writes files in the generic ``jsonl`` import format whose every record says ``"synthetic": true``
and whose model names start with ``SYNTHETIC-``. Shapes follow real long chain-of-thought
output: ~40,000 characters, paragraphs with numeric claims (some wrong), "Wait" / "Alternatively"
backtracking, intermediate candidate answers, a final ``\\boxed{}`` (or a truncation). Correctness
follows a Rasch model over the paper's AIME24 tiers so the ladder, the gaps and the scaling
curves have realistic structure. Deterministic for a given seed.
"""
from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

SCALES = {
    # models x questions x samples x seeds
    "paper": dict(models=60, samples=8, seeds=4),
    "10x": dict(models=600, samples=8, seeds=4),
    "tiny": dict(models=4, samples=8, seeds=1),
}
TIER_DIFFICULTY = {"Easy": -2.0, "Medium": -0.3, "Hard": 1.2, "Exh": 4.0}
SIZES = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 114000, 1000000]
CATEGORIES = ["algebra", "number_theory", "geometry", "calculus", "combinatorics", "inequalities",
              "logic_and_puzzles", "diverse"]

_FILLER = [
    "We need to be careful about the constraints given in the problem statement.",
    "Let me denote the unknown quantity by x and write down what we know.",
    "This suggests looking at the structure of the expression more closely.",
    "Substituting back into the original equation gives a consistent system.",
    "By symmetry, it suffices to consider the case where the first variable is smallest.",
    "Let me consider the coordinates of each point and compute the distances.",
    "We can use casework on the parity of n to simplify the count.",
    "Using modular arithmetic, we reduce the expression modulo the prime.",
    "The inclusion-exclusion principle gives the number of valid arrangements.",
    "Consider the generating function whose coefficients count the configurations.",
    "Taking logarithms on both sides turns the product into a sum.",
    "So the equation becomes a quadratic in t, which we can solve directly.",
]
_OPENERS = ["", "", "", "Wait, ", "Alternatively, ", "Let me check: ", "Hmm, ", "But wait, "]


@dataclass
class SynthModel:
    name: str
    seed: int
    sft_size: int
    sft_category: str
    skill: float
    group: str


def models(scale: str) -> list[SynthModel]:
    cfg = SCALES[scale]
    rng = random.Random(7)
    out = []
    for m in range(cfg["models"]):
        size = SIZES[m % len(SIZES)]
        cat = CATEGORIES[(m // len(SIZES)) % len(CATEGORIES)]
        base = -1.5 + 0.45 * math.log(size / 100 + 1) + rng.gauss(0, 0.3)
        group = "base" if size <= 100 else ("small_sft" if size <= 1000 else "large")
        for s in range(cfg["seeds"]):
            out.append(SynthModel(f"SYNTHETIC-m{m:03d}-s{s}", s, size, cat, base + rng.gauss(0, 0.15), group))
    return out


def _paragraph(rng: random.Random, slip_rate: float) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    c = a * b if rng.random() > slip_rate else a * b + rng.choice([-10, -1, 1, 10])
    parts = [rng.choice(_OPENERS) + rng.choice(_FILLER)]
    parts += [rng.choice(_FILLER) for _ in range(rng.randint(3, 6))]
    parts.append(f"Computing, ${a} \\times {b} = {c}$, and then ${a} + {b} = {a + b}$.")
    return " ".join(parts)


def response(rng: random.Random, gold: int, correct: bool, wrong: list[int], target_chars: int) -> tuple[str, str, str]:
    """(text, finish_reason, final answer or '')."""
    paras, n = [], 0
    truncated = (not correct) and rng.random() < 0.08
    while n < target_chars:
        p = _paragraph(rng, 0.03)
        if rng.random() < 0.06:  # an intermediate candidate answer
            cand = gold if rng.random() < 0.3 else rng.choice(wrong)
            p += f" So the answer might be ${cand}$."
        paras.append(p)
        n += len(p) + 2
    if truncated:
        return "\n\n".join(paras), "length", ""
    final = gold if correct else rng.choice(wrong)
    paras.append(f"Therefore, the final answer is $\\boxed{{{final}}}$.")
    return "\n\n".join(paras), "stop", str(final)


def write(scale: str, questions: list[dict], out_dir: Path, target_chars: int = 40_000) -> list[Path]:
    """One JSONL file per model; ``questions``: dicts with question_id, answer, tier. Returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SCALES[scale]
    qrng = random.Random(11)
    wrong = {q["question_id"]: [qrng.randint(0, 999) for _ in range(3)] for q in questions}
    diff = {q["question_id"]: TIER_DIFFICULTY[q["tier"]] + qrng.gauss(0, 0.4) for q in questions}
    files = []
    for m in models(scale):
        path = out_dir / f"{m.name}.jsonl"
        files.append(path)
        if path.exists():
            continue
        rng = random.Random(m.name)
        tmp = path.with_suffix(".part")
        with open(tmp, "w", encoding="utf-8") as f:
            for q in questions:
                p = 1 / (1 + math.exp(-(m.skill - diff[q["question_id"]])))
                gold = int(q["answer"])
                for i in range(cfg["samples"]):
                    ok = rng.random() < p
                    text, finish, pred = response(rng, gold, ok, wrong[q["question_id"]],
                                                  int(target_chars * rng.uniform(0.6, 1.4)))
                    f.write(json.dumps({"synthetic": True, "model": m.name, "question_id": q["question_id"],
                                        "sample_idx": i, "response": text, "finish_reason": finish,
                                        "n_tokens": len(text) // 4, "pred": pred,
                                        "correct": bool(pred) and int(pred) == gold}) + "\n")
        tmp.rename(path)
    return files


def copy_model(model_id: str, copy: int, shift: int) -> str:
    """``SYNTHETIC-m007-s2`` in copy ``copy``: the model ``m{7 + copy * shift}`` of the larger scale."""
    m = re.fullmatch(r"SYNTHETIC-m(\d+)-s(\d+)", model_id)
    if m is None:
        raise ValueError(f"{model_id!r} is not a synthetic model name (SYNTHETIC-mNNN-sN)")
    return f"SYNTHETIC-m{int(m.group(1)) + copy * shift:03d}-s{m.group(2)}"


def scale_up(source_db: Path, out: Path, copy: int, shift: int) -> dict:
    """Write a Parquet folder (the shape ``export-parquet`` writes: one file per table, a manifest) holding
    copy number ``copy`` of the SYNTHETIC warehouse ``source_db``, for ``import-parquet``: model ``mNNN``
    becomes ``m{NNN + copy * shift}`` (its runs, run ids and trajectory ids follow: ids are recomputed with
    ``records.trajectory_key``); every other value is the source's own: texts, grades, steps, annotations,
    flags and timelines, as the real import derived them. Questions, tiers, reference values, the
    benchmark and meta travel unchanged (import-parquet keeps the rows it holds). Returns the manifest."""
    import time
    import uuid

    import duckdb
    import pyarrow as pa

    from warehouse import lake
    from warehouse.records import trajectory_key

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists: remove it first")
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        import shutil
        shutil.rmtree(tmp)
    con = duckdb.connect()
    con.execute("ATTACH ? AS src (READ_ONLY)", [str(source_db)])
    runs = con.execute("SELECT run_id, model_id FROM src.runs").fetchall()
    bad = [r for r, m in runs if not r.startswith(m + "/")]
    if bad:
        raise ValueError(f"{source_db}: run {bad[0]!r} does not start with its model id (not an imported run)")
    run_map = {r: copy_model(m, copy, shift) + r[len(m):] for r, m in runs}
    model_map = {m: copy_model(m, copy, shift) for _, m in runs}
    con.register("_runs", pa.table({"old": list(run_map), "new": list(run_map.values())}))
    con.register("_models", pa.table({"old": list(model_map), "new": list(model_map.values())}))
    keys = con.execute("SELECT trajectory_id, run_id, question_id, sample_idx FROM src.trajectories").fetchall()
    con.register("_ids", pa.table({"old": pa.array([k[0] for k in keys], pa.int64()),   # copy 0: the same ids
                                   "new": pa.array([trajectory_key(run_map[r], q, i) for _, r, q, i in keys],
                                                   pa.int64())}))
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' "
                                        "ORDER BY table_name").fetchall()]
    meta = dict(con.execute("SELECT key, value FROM src.meta").fetchall())
    manifest = {"format": lake.FORMAT, "format_version": lake.FORMAT_VERSION,
                "schema_version": meta.get("schema_version", ""), "data_version": meta.get("data_version", "0"),
                "grader": {"name": meta.get("active_grader"), "version": meta.get("active_grader_version")},
                "export_id": uuid.uuid4().hex, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "source": f"SYNTHETIC: copy {copy} of {source_db}", "partition": [], "tables": {}}
    for table in tables:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'src' AND table_name = ? "
            "ORDER BY column_index", [table]).fetchall()]
        sel, joins = [], []
        for c in cols:
            if c in ("trajectory_id", "run_id", "model_id"):
                alias, names = c[0], {"trajectory_id": "_ids", "run_id": "_runs", "model_id": "_models"}[c]
                joins.append(f"JOIN {names} {alias} ON {alias}.old = x.{c}")
                sel.append(f"{alias}.new AS {c}")
            else:
                sel.append(f'x."{c}"')
        if table in lake.ROWID_TABLES:
            sel.append("x.rowid AS _rowid")
        order = " ORDER BY x.rowid" if table in lake.ROWID_TABLES else ""
        (tmp / table).mkdir(parents=True)
        dest = tmp / table / "data_0.parquet"
        con.execute(f"COPY (SELECT {', '.join(sel)} FROM src.\"{table}\" x {' '.join(joins)}{order}) "
                    f"TO '{dest}' (FORMAT parquet, COMPRESSION zstd)")
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{dest}')").fetchall()[0][0]
        manifest["tables"][table] = {"rows": int(rows), "columns": cols, "partition_by": [], "added_columns": []}
    con.close()
    (tmp / lake.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.rename(out)
    return manifest
