"""Import dropped trace files in the browser (Get started and Overview draw ``uploader``).

The files go through the same code path as `python -m pipeline import`: ``pipeline.ingest.session.ImportSession``
(the chosen format, ``auto`` when the registry has it; the benchmark; optional model name, metadata and
``--strict``), one transaction per file, with a progress bar, each file's summary and its per-line problems
(file, line, field, message). An upload is written to a private temporary folder under its own name, path
separators replaced by ``_`` (the model name defaults to the file's stem, as on the command line) and removed
afterwards.

The app holds the warehouse read-only during a script run (``common``: one thread-local connection); the
import releases it first, then takes the writer. DuckDB refuses a writer in this process while another page
of the app is reading the same file, and another process may hold its lock: both are retried for a few
seconds, then reported as a busy warehouse, nothing written. The result is kept in the session and shown
after the rerun that refreshes the page (the app's caches key on the warehouse's data version, which a
written file changes).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from app_pages import common
from pipeline.ingest import benchmarks
from pipeline.ingest.importers import IMPORTERS
from warehouse import db
from warehouse.errors import LadderError, UsageError

NEW_BENCHMARK = "(a new benchmark: name it)"
RESULT_KEY = "_upload_result"
MAX_PROBLEMS_SHOWN = 500


def limit_mb() -> int:
    """Streamlit's upload limit per file (``server.maxUploadSize``, MB)."""
    return int(st.get_option("server.maxUploadSize"))


def default_format(names: list[str]) -> str:
    return "auto" if "auto" in names else names[0]


def _safe_name(name: str, i: int) -> str:
    """The upload's name as a file name in our folder, whole: path separators (and NUL) become ``_``, so the
    model name taken from it is never cut (``<script>x</script>.jsonl`` -> ``<script>x<_script>``)."""
    base = name.translate({ord("/"): "_", ord("\\"): "_", 0: "_"}).strip()
    return base if base and base not in (".", "..") and not base.startswith(".") else f"upload-{i}.jsonl"


def uploader(key: str, known: list[str] | tuple[str, ...] = ()) -> None:
    """The drop zone, its options and the Import button; then the last import's report."""
    fmts = IMPORTERS.names()
    limit = limit_mb()
    st.markdown(f"Drop trace files here (up to {limit} MB each; `server.maxUploadSize` sets the limit). "
                "They are imported as `python -m pipeline import` would (docs/IMPORT.md).")
    files = st.file_uploader("Trace files", accept_multiple_files=True, key=f"{key}_files",
                             help=f"Up to {limit} MB a file. A larger file: `python -m pipeline import FILE ...`.")
    c1, c2, c3 = st.columns(3)
    fmt = c1.selectbox("Format", fmts, index=fmts.index(default_format(fmts)), key=f"{key}_fmt",
                       help="; ".join(f"{n}: {getattr(IMPORTERS.get(n), 'DESCRIPTION', '')}" for n in fmts))
    bench_opts = list(known) + [b for b in benchmarks.LOADERS.names() if b not in known] + [NEW_BENCHMARK]
    bench = c2.selectbox("Benchmark", bench_opts, key=f"{key}_bench",
                         help="A benchmark in the warehouse, one we can load, or a new one created from the "
                              "files' problems and gold answers.")
    if bench == NEW_BENCHMARK:
        bench = c2.text_input("New benchmark name", key=f"{key}_newbench")
    model = c3.text_input("Model name (default: from the file)", key=f"{key}_model",
                          help="lm-eval samples files do not name their model: give it here.")
    meta = st.text_input("Model metadata (optional)", key=f"{key}_meta", placeholder="group=sft, sft_size=1000",
                         help="key=value pairs separated by commas, as `--meta`: family, params_b, base_model, "
                              "sft_size, group, train_step, ... or any other key.")
    strict = st.checkbox("Import a file only if none of its lines is rejected (--strict)", key=f"{key}_strict")
    if st.button("Import", key=f"{key}_go", type="primary", disabled=not files):
        result = import_files(files, fmt, bench, model.strip() or None, meta, strict)
        st.session_state[RESULT_KEY] = result
        if result.get("written"):
            st.rerun()              # the pages refresh: the data version changed
    show_result(st.session_state.get(RESULT_KEY))


def import_files(files, fmt: str, bench: str | None, model: str | None, meta_text: str, strict: bool) -> dict:
    """Import the uploaded files; the result as a dict (kept in the session): error | summaries, problems."""
    limit = limit_mb()
    too_big = [f for f in files if f.size > limit * 2**20]
    if too_big:
        return {"error": "Above the upload limit of {} MB: {}. Import it with `python -m pipeline import` or raise "
                         "`server.maxUploadSize`.".format(limit, ", ".join(f"{f.name} ({f.size / 2**20:.1f} MB)"
                                                                          for f in too_big))}
    from pipeline.ingest.session import ImportSession, check_args, parse_meta   # the derivations: on import only

    try:
        meta = parse_meta([x for x in meta_text.split(",") if x.strip()], "metadata")
        check_args(bench or "", model, meta)
    except LadderError as exc:
        return {"error": str(exc).replace("--benchmark", "the benchmark").replace("--model", "the model name")}
    except ValueError as exc:
        return {"error": str(exc)}
    progress = st.progress(0.0, text=f"Importing {len(files)} file{'s' * (len(files) != 1)} …")
    summaries, problems, written = [], [], False
    with tempfile.TemporaryDirectory(prefix="ladder-upload-") as tmp:
        paths = []
        for i, f in enumerate(files):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            p = folder / _safe_name(f.name, i)
            p.write_bytes(f.getbuffer())
            paths.append((p, f.name))
        common.release()          # this run's reader: a writer cannot open while it is held
        session = ImportSession(None, None)
        for n, (p, name) in enumerate(paths):
            progress.progress(n / len(paths), text=f"Importing {name} ({n + 1} of {len(paths)}) …")
            try:
                reps = _import_one(session, p, fmt, bench, model, meta, strict)
            except db.WarehouseBusy as exc:
                return _busy(summaries, problems, written, str(exc))
            except LadderError as exc:
                summaries.append({"file": name, "summary": str(exc).replace(str(p), name), "ok": False})
                continue
            for rep in reps:
                summaries.append({"file": name, "summary": rep.summary().replace(str(p), name), "ok": rep.ok})
                written |= rep.written
                problems += [{"file": name, "line": pr.line, "field": pr.field, "message": pr.message,
                              "severity": pr.severity} for pr in rep.problems]
        modes = []
        if written and bench:         # a benchmark with stored failure modes: embed and cluster again
            progress.progress(1.0, text="Updating the failure modes …")
            from pipeline.derive.annotate import refresh_clusters, refresh_line

            try:
                modes = [refresh_line(r) for r in refresh_clusters(None, [bench])]
            except db.WarehouseBusy as exc:
                modes = [f"The failure modes of {bench} were not updated: the warehouse is busy ({exc}). "
                         f"`python -m pipeline annotate --clusters --benchmark {bench}` updates them."]
        progress.progress(1.0, text="Done.")
    return {"summaries": summaries, "problems": problems, "written": written, "clusters": modes}


def _import_one(session, p: Path, fmt, bench, model, meta, strict):
    """One file through the session (a ``pipeline.ingest.session.ImportSession``)."""
    from pipeline.ingest.importers import auto

    if model is None and (fmt == "lm-eval" or (fmt == "auto" and auto.detect(p) == "lm-eval")):
        # lm-eval names the model by its folders; an upload's folder is a temporary number
        raise UsageError(f"{p.name}: an lm-eval samples file does not name its model: give the model name")
    # a reader of another page of this app (this process) is waited for like another process's lock (db.connect)
    return session.import_path(p, fmt, bench, model=model, meta=meta, strict=strict)


def _busy(summaries, problems, written, why: str) -> dict:
    return {"summaries": summaries, "problems": problems, "written": written,
            "error": f"The warehouse is busy ({why}): the remaining files were not imported. Try again in a "
                     "moment, when the other import or command has finished."}


def show_result(result: dict | None) -> None:
    """The last import's report: one line per file, then every problem (file, line, field, message)."""
    if not result:
        return
    if result.get("error"):
        st.error(common.plain(result["error"]))
    for s in result.get("summaries", []):
        (st.success if s["ok"] else st.warning)(common.plain(s["summary"]))
    for line in result.get("clusters", []):
        st.info(common.plain(line))
    probs = result.get("problems") or []
    if probs:
        n_err = sum(p["severity"] == "error" for p in probs)
        st.markdown(f"**{n_err} rejected lines, {len(probs) - n_err} warnings** (line 0: the file as a whole):")
        df = pl.DataFrame(probs[:MAX_PROBLEMS_SHOWN], schema={"file": pl.Utf8, "line": pl.Int64, "field": pl.Utf8,
                                                              "message": pl.Utf8, "severity": pl.Utf8})
        st.dataframe(df, hide_index=True, width="stretch")
        if len(probs) > MAX_PROBLEMS_SHOWN:
            st.caption(f"The first {MAX_PROBLEMS_SHOWN} of {len(probs)} problems.")
