"""`python -m bench --scale paper|10x|tiny [--json]`: a paper-size (or 10x) warehouse stays fast.

Builds (or reuses, keyed by scale) a warehouse of SYNTHETIC trajectories (bench/synth.py; for
benchmarking only) through the real import path (jsonl importer + grading + rules annotation),
then prints: ingest rate, size on disk, peak memory, the latency (median of 5) of every analysis
function behind every page, the first-render and filter-change time of every page (Streamlit
AppTest, in its own process: its peak memory is the app's), opening one trajectory with its
annotations, a full-text search, and the plain approach (pandas over the same JSONL, per-tier
avg@n as the paper's view_results.py) with the ratio.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
TARGETS = {"ingest_per_s": 300, "analysis_ms": {"paper": 300, "10x": 1000, "tiny": 300},
           "first_render_s": 2.0, "filter_change_s": 0.5, "trajectory_ms": 300, "search_s": 2.0,
           "app_memory_mb": 2048, "indexed_search_s": {"paper": 0.3, "10x": 1.0, "tiny": 0.3},
           "index_share_of_ingest": 0.2, "index_vs_warehouse": 0.5}


def _median_ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def _questions(data_dir: Path) -> list[dict]:
    with open(data_dir / "aime24" / "paper_reference.csv", newline="") as f:
        return [dict(question_id=r["id"], answer=r["answer"], tier=r["paper_tier"]) for r in csv.DictReader(f)]


def build(scale: str, chars: int, log, rebuild: bool = False, cache: Path = CACHE, index: bool = True,
          via_import: bool = False) -> tuple[Path, Path, dict]:
    """The warehouse of ``scale`` (reused when built): through the importer, or, for 10x unless
    ``via_import``, as renamed copies of the paper-scale one through import-parquet (``_build_copies``).
    ``index=False``: no full-text index during the build (searches scan until it is built)."""
    from bench import synth
    from pipeline.ingest import benchmarks
    from pipeline.ingest.session import ImportSession

    root = Path(cache) / f"{scale}-{chars}"
    path, traces, info_file = root / "bench.duckdb", root / "traces", root / "build.json"
    if info_file.exists() and path.exists() and not rebuild:
        log(f"reusing {path}")
        return path, traces, json.loads(info_file.read_text())
    for p in [info_file, *root.glob("bench.duckdb*")]:      # the synthetic traces are kept: deterministic
        if p.is_dir():                                       # the full-text index
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    if scale == "10x" and not via_import:
        info = _build_copies(path, root, chars, log, cache, index)
        info_file.write_text(json.dumps(info))
        return path, traces, info
    data_dir = benchmarks.data_dir()
    t0 = time.perf_counter()
    files = synth.write(scale, _questions(data_dir), traces, target_chars=chars)
    gen_s = time.perf_counter() - t0
    log(f"wrote {len(files)} synthetic files in {gen_s:.0f}s; importing")
    session = ImportSession(path, data_dir)
    t0 = time.perf_counter()
    n = done = 0

    def progress(rep) -> None:
        nonlocal n, done
        n, done = n + rep.new, done + 1
        if done % 20 == 0:
            log(f"  {done}/{len(files)} files, {n} trajectories, {n / (time.perf_counter() - t0):.0f}/s")

    with _index_syncs(index) as index_s:
        session.import_path(traces, "jsonl", "aime24", on_report=progress)   # the folder, as the CLI does
    ingest_s = time.perf_counter() - t0
    spent_indexing = index_s()
    _set_models(path, scale)
    info = {"trajectories": n, "files": len(files), "jsonl_bytes": sum(f.stat().st_size for f in files),
            "ingest_s": round(ingest_s, 1), "ingest_per_s": round(n / ingest_s, 1),
            "ingest_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "synth_write_s": round(gen_s, 1),
            # the full-text index's share of the import (its syncs, timed inside the same run)
            "index_sync_s": round(spent_indexing, 1),
            "ingest_per_s_without_index": round(n / max(ingest_s - spent_indexing, 1e-9), 1),
            "index_share_of_ingest": round(spent_indexing / ingest_s, 3)}
    info_file.write_text(json.dumps(info))
    return path, traces, info


def _set_models(path: Path, scale: str) -> None:
    """The experiment factors of the synthetic models (sft size, category, group, seed), for the scaling pages."""
    from bench import synth
    from warehouse import db, ingest
    from warehouse.records import Model

    with db.writer(path) as con:
        for m in synth.models(scale):
            ingest.upsert_model(con, Model(m.name, seed=m.seed, sft_size=m.sft_size, sft_category=m.sft_category,
                                           group=m.group, params_b=32.0, meta={"synthetic": True}))


def _build_copies(path: Path, root: Path, chars: int, log, cache: Path, index: bool) -> dict:
    """The 10x warehouse without the hours of the importer on 2 cores: the paper-scale warehouse (built
    through the importer, reused) written 10 times as a Parquet folder, each copy's models renamed
    (``synth.scale_up``: copy k holds m000..m059 as m{60k}..m{60k + 59}), each folder merged by
    ``import-parquet`` (``warehouse.lake_import.merge``, as a team merges the folders of 10 machines), then
    the models' factors set as for any scale. Texts, grades, steps, annotations and timelines are those
    the real import derived for the paper-scale traces."""
    from bench import synth
    from warehouse import lake_import

    src, _, src_info = build("paper", chars, log, cache=cache)
    copies, shift = synth.SCALES["10x"]["models"] // synth.SCALES["paper"]["models"], synth.SCALES["paper"]["models"]
    lake_s = lake_cpu = import_s = import_cpu = lake_mb = 0.0
    n = 0
    with _index_syncs(index) as index_s:
        for k in range(copies):
            lake_dir = root / f"lake-{k}"
            if lake_dir.exists():
                shutil.rmtree(lake_dir)
            t0, c0 = time.perf_counter(), time.process_time()
            synth.scale_up(src, lake_dir, k, shift)
            lake_s, lake_cpu = lake_s + time.perf_counter() - t0, lake_cpu + time.process_time() - c0
            lake_mb += sum(f.stat().st_size for f in lake_dir.rglob("*") if f.is_file()) / 2**20
            t0, c0 = time.perf_counter(), time.process_time()
            res = lake_import.merge(lake_dir, path)
            import_s, import_cpu = import_s + time.perf_counter() - t0, import_cpu + time.process_time() - c0
            n += res.tables.get("trajectories", (0, 0))[1]
            shutil.rmtree(lake_dir)           # the warehouse file holds it all
            log(f"  copy {k + 1}/{copies}: {n} trajectories; folders written in {lake_s:.0f}s, "
                f"merged in {import_s:.0f}s")
    _set_models(path, "10x")
    return {"trajectories": n, "built_from": f"{copies} renamed copies of the paper-scale warehouse "
            "(bench/synth.py scale_up), each merged by import-parquet", "source_build": src_info,
            "lake_write_s": round(lake_s, 1), "lake_write_cpu_s": round(lake_cpu, 1),
            "lake_mb_per_copy": round(lake_mb / copies, 1),
            "import_parquet_s": round(import_s, 1), "import_parquet_cpu_s": round(import_cpu, 1),
            "build_s": round(lake_s + import_s, 1), "load_avg_after": [round(x, 2) for x in os.getloadavg()],
            "index_sync_s": round(index_s(), 1), "indexed_during_build": index,
            "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


@contextmanager
def _index_syncs(index: bool = True):
    """Time every ``textindex.follow`` the import makes (it calls it through the module) while inside;
    yields a function giving the seconds spent. ``index=False``: no sync at all (the index is built later)."""
    from warehouse import textindex

    spent = [0.0]
    follow = textindex.follow

    def timed(*args, **kwargs):
        if not index:
            return None
        t0 = time.perf_counter()
        try:
            return follow(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    textindex.follow = timed
    try:
        yield lambda: spent[0]
    finally:
        textindex.follow = follow


def text_index(path: Path, log) -> dict:
    """The full-text index beside the warehouse: built when missing (timed), its size against the
    warehouse's."""
    from warehouse import textindex

    d = textindex.index_dir(path)
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    rep = textindex.sync(path)
    if rep.indexed:
        log(f"indexed {rep.indexed} trajectories")
        out["index_build_s"] = round(time.perf_counter() - t0, 1)
        out["index_build_cpu_s"] = round(time.process_time() - c0, 1)     # every thread of this process
    size = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    wh = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    out.update(index_mb=round(size / 2**20, 1), index_vs_warehouse=round(size / wh, 3))
    return out


# Word and phrase queries for the index against the plain scan, in the same run: words and phrases
# everywhere, rare and absent, either case (an upper-case letter makes it case-sensitive)
SEARCHES = ["wait", "vieta", "xyzzy", "Therefore", "let me check", "So the answer might be $17$",
            "so the answer might be $17$", "the answer is not", "xyzzy plugh", "Therefore, the answer",
            "final answer is", "modulo the prime"]


def analysis(path: Path) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_analysis
    from warehouse import db

    out = {}
    with db.reader(path) as con:
        for name, fn in bench_analysis.functions("aime24").items():
            try:
                out[name] = _median_ms(lambda: fn(con))
            except Exception as exc:  # report and keep timing the others
                out[name] = f"error: {type(exc).__name__}: {exc}"
    return out


def browsing(path: Path) -> dict:
    from warehouse import db, search, trajectory
    from warehouse.filters import Selection

    with db.reader(path) as con:
        n = con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
        tid = con.execute("SELECT trajectory_id FROM trajectories ORDER BY trajectory_id LIMIT 1 OFFSET ?",
                          [n // 2]).fetchall()[0][0]

        def open_one():
            for fn in (trajectory.trajectory, trajectory.steps, trajectory.annotations, trajectory.flags):
                fn(con, tid)

        sel = Selection("aime24")

        def find(text):
            return _median_ms(lambda: search.search(con, sel, text), repeat=3)

        def index_vs_scan(text):
            mode = search.find(con, sel, text).mode
            ix = _median_ms(lambda: search.find(con, sel, text), repeat=3)
            scan = _median_ms(lambda: search.find(con, sel, text, use_index=False), repeat=3)
            return {"mode": mode, "index_ms": ix, "scan_ms": scan, "ratio": round(ix / max(scan, 1e-9), 3)}

        return {"open_trajectory_ms": _median_ms(open_one),
                # smart case: an upper-case letter makes a case-sensitive search, all lower-case does not
                "search_ms": find("So the answer might be $17$"),
                "search_ci_ms": find("so the answer might be $17$"),
                # other shapes: a rare word, a phrase in every response, absent phrases without a
                # caseless part to check first (the slowest case: every response is case-folded)
                "search_more_ms": {t: find(t) for t in ("vieta", "let me check", "the answer is not",
                                                          "xyzzy plugh", "Therefore, the answer")},
                "search_index_vs_scan": {t: index_vs_scan(t) for t in SEARCHES}}


def pages(path: Path) -> dict:
    env = dict(os.environ, LADDER_DB=str(path), OPENBLAS_NUM_THREADS="1")   # as `make serve` runs the app
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "apptiming.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        return {"error": res.stderr[-2000:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def plain_pandas(traces: Path, data_dir: Path) -> dict:
    """What a researcher does without the tool: read every JSONL with pandas, per-tier avg@n."""
    import pandas as pd

    tiers = {q["question_id"]: q["tier"] for q in _questions(data_dir)}
    files = sorted(traces.glob("*.jsonl"))
    if not files:
        return {"pandas_per_tier_avg_s": None, "pandas_note": f"not run: no JSONL in {traces}"}
    size = sum(f.stat().st_size for f in files)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size * 2 > ram:                  # pandas holds every string, plus the frame: it would not fit
        return {"pandas_per_tier_avg_s": None,
                "pandas_note": f"not run: {size / 2**30:.1f} GiB of JSONL does not fit in pandas on this "
                               f"{ram / 2**30:.0f} GiB machine"}
    t0 = time.perf_counter()
    df = pd.concat([pd.read_json(f, lines=True) for f in files], ignore_index=True)
    df["tier"] = df["question_id"].astype(str).map(tiers)
    per_q = df.groupby(["model", "tier", "question_id"])["correct"].mean()
    per_q.groupby(["model", "tier"]).mean()
    return {"pandas_per_tier_avg_s": round(time.perf_counter() - t0, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=["paper", "10x", "tiny"], default="paper")
    ap.add_argument("--chars", type=int, default=40_000, help="mean response length (default 40,000)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--skip-pages", action="store_true")
    ap.add_argument("--rebuild", action="store_true", help="re-import the warehouse (the synthetic traces are kept)")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where built warehouses are kept (default bench/.cache)")
    ap.add_argument("--build-only", action="store_true", help="build (or reuse) the warehouse, print its size and stop")
    ap.add_argument("--no-index", action="store_true",
                    help="no full-text index (neither during the build nor after: searches scan)")
    ap.add_argument("--via-import", action="store_true",
                    help="10x: import synthetic JSONL through the importer (hours on 2 cores) instead of copies")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from pipeline.ingest import benchmarks

    log = (lambda m: print(m, file=sys.stderr, flush=True))
    path, traces, built = build(args.scale, args.chars, log, args.rebuild, args.cache, not args.no_index,
                                args.via_import)
    out = {"scale": args.scale, "synthetic": True, "path": str(path), "build": built,
           "size_on_disk_mb": round(sum(p.stat().st_size for p in path.parent.glob("bench.duckdb*") if p.is_file())
                                      / 2**20, 1)}
    if not args.no_index:
        out.update(text_index(path, log))
    if args.build_only:
        print(json.dumps(out) if args.json else json.dumps(out, indent=2))
        return 0
    log("timing analysis functions")
    out["analysis_ms"] = analysis(path)
    log("timing browsing")
    out.update(browsing(path))
    if not args.skip_pages:
        log("timing pages (AppTest)")
        out["pages"] = pages(path)
    log("timing the plain pandas approach")
    out.update(plain_pandas(traces, benchmarks.data_dir()))
    ours = max(v for v in out["analysis_ms"].values() if isinstance(v, float)) / 1000
    if out["pandas_per_tier_avg_s"] is not None:
        out["pandas_vs_slowest_query_ratio"] = round(out["pandas_per_tier_avg_s"] / max(ours, 1e-6), 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    limit = TARGETS["analysis_ms"][args.scale]
    out["misses"] = ([f"analysis {k}: {v} ms" for k, v in out["analysis_ms"].items()
                      if not isinstance(v, float) or v >= limit]
                     + ([f"ingest {built['ingest_per_s']}/s"] if built["ingest_per_s"] < TARGETS["ingest_per_s"] else [])
                     + ([f"open trajectory {out['open_trajectory_ms']} ms"] if out["open_trajectory_ms"] >= 300 else [])
                     + [f"{k} {out[k]} ms" for k in ("search_ms", "search_ci_ms") if out[k] >= 2000]
                     + [f"search {t!r} {v} ms" for t, v in out["search_more_ms"].items() if v >= 2000])
    limit_s = TARGETS["indexed_search_s"][args.scale]
    out["misses"] += [f"indexed search {t!r} {v['index_ms']} ms ({v['mode']})"
                      for t, v in out["search_index_vs_scan"].items() if v["index_ms"] >= 1000 * limit_s]
    if "index_share_of_ingest" in built and built["index_share_of_ingest"] >= TARGETS["index_share_of_ingest"]:
        out["misses"].append(f"index share of ingest {built['index_share_of_ingest']}")
    if out["index_vs_warehouse"] >= TARGETS["index_vs_warehouse"]:
        out["misses"].append(f"index size {out['index_vs_warehouse']} of the warehouse")
    for kind, target in (("first_render_s", 2.0), ("filter_change_s", 0.5)):
        for page, v in out.get("pages", {}).get(kind, {}).items():
            if v >= target:
                out["misses"].append(f"{kind} {page}: {v} s")
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
