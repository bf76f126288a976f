"""What every page shares: the warehouse state, sidebar filters kept in the URL, cached queries,
and export widgets (every chart PNG/SVG/PDF/HTML, every table CSV/Parquet, a page's charts as a zip).

Queries run through ``q(fn, *args)``: results cached by ``(warehouse data_version, function,
arguments)`` so a filter change re-runs only aggregate queries and an unchanged warehouse is never
queried twice. Cache misses of one script run share one read-only connection, opened on the first
miss and closed by ``release()`` when the run ends (app.py), so a writer waits at most one run.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import importlib
import inspect
import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from charts import export
from derivation import grade
from warehouse import db, inventory
from warehouse.errors import LadderError
from warehouse.filters import Selection

FILTER_KEYS = ("b", "scheme", "tiers", "cats", "models", "groups")


# --- warehouse and cached queries ---------------------------------------------------------

FAILED = "This page could not be drawn"
log = logging.getLogger("ladder.app")


def warehouse_state() -> tuple[str, str]:
    """('missing' | 'empty' | 'ok' | 'unreadable', why): no file, no trajectories, fine, or a file
    that cannot be read as a warehouse (not DuckDB, locked too long, ...)."""
    p = db.db_path()
    if not db.exists(p):          # a file, or a Parquet folder (warehouse.lake)
        return "missing", ""
    try:
        return ("empty" if q(inventory.is_empty) else "ok"), ""
    except Exception as exc:          # noqa: BLE001 -- any failure here is shown, never raised
        log.warning("warehouse %s unreadable: %s", p, exc)
        return "unreadable", str(exc)


def run_page(page) -> None:
    """The page boundary: run the page; an error it raises is logged with its traceback and shown as
    a short message (what failed, what to try), never as a traceback. Streamlit's own stop and rerun
    signals pass through (they are BaseExceptions). The run's connection is released in every case."""
    try:
        page.run()
    except Exception as exc:          # noqa: BLE001 -- the boundary: nothing reaches the user raw
        log.error("page %r failed:\n%s", getattr(page, "title", page), traceback.format_exc())
        if isinstance(exc, LadderError):     # a user's error (a busy or unreadable warehouse, ...): its message
            st.error(f"{FAILED}: {plain(exc)}")
        else:
            st.error(f"{FAILED} for this selection ({type(exc).__name__}). The details are in the app's "
                     "log. Try other filters, or report it with this page's URL.")
    finally:
        release()   # never hold the warehouse between runs: the pipeline may want to write


def version() -> str:
    """The warehouse's data_version, re-read only when the file or its WAL changed (a read costs a connection)."""
    p = db.db_path()
    stamp = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in (p, p.with_name(p.name + ".wal")))
    return _version(str(p), stamp)


@st.cache_data(show_spinner=False, max_entries=64)
def _version(path: str, stamp: tuple) -> str:
    return db.data_version(path)


# This script run's connection lives in a thread-local, not in st.session_state: Streamlit runs each
# script in its own thread, and every session_state access is a yield point that raises StopException
# once the user has navigated away, so a release() reading session_state would leave the file locked.
_RUN = threading.local()


def _connection(path: str):
    """This script run's read-only connection (opening one costs ~20 ms and starts with cold caches)."""
    held = getattr(_RUN, "held", None)
    if held is None or held[0] != path:
        release()
        _RUN.held = (path, db.connect(path, read_only=True))
    return _RUN.held[1]


def release() -> None:
    """Close this run's connection, so that a writing pipeline is never kept waiting for long.
    Touches no Streamlit state, so it also runs to the end while a stopped script unwinds."""
    held, _RUN.held = getattr(_RUN, "held", None), None
    if held is not None:
        held[1].close()


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(data_version: str, path: str, module: str, name: str, args: tuple, kwargs: tuple):
    fn = getattr(importlib.import_module(module), name)
    return fn(_connection(path), *args, **dict(kwargs))


def q(fn, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` on this run's read-only connection, cached by warehouse version."""
    return _cached(version(), str(db.db_path()), fn.__module__, fn.__name__, args,
                   tuple(sorted(kwargs.items())))


# --- warming up: what later pages need, loaded while the user reads the first one ---------------------

# The heavy modules only some pages import (their first visit would pay ~0.3-0.8 s CPU each): scipy's stats and
# optimizers (Ladder's Rasch fit, Scaling, Compare), the grader's sympy (Exh failures), pandas' Styler (tables).
# Streamlit's own lazy imports on a first run: the emoji catalogue (set_page_config's icon, 0.09 s), material icons.
WARM_MODULES = ("pandas.io.formats.style", "scipy.stats", "scipy.optimize", "analysis.compare", "charts.answer_view",
                "analysis.failure_modes", "derivation.embed", "warehouse.search", "analysis.agreement",
                "warehouse.verdicts", "streamlit.emojis", "streamlit.material_icon_names")
_warm_started = threading.Event()
WARM_DELAY_S = 1.5


def warm_up() -> threading.Timer | None:
    """Once per server process, after its first page has run (app.py): import ``WARM_MODULES``, start the chart
    export's browser (``export.warm``), open the search index and load the grader's math-verify in a background
    thread, so that the first visit to every other page, the first PNG download, the first search and the first
    answer classes do not pay for them. Not under AppTest (no server: nothing to warm)."""
    if _warm_started.is_set() or not _serving():
        return None
    _warm_started.set()
    # after a short delay: the first page's browser is still drawing, and Kaleido's Chromium starting beside it
    # (on the same 2 cores) made the first page 0.9 s slower at paper scale
    t = threading.Timer(WARM_DELAY_S, _warm)
    t.name, t.daemon = "ladder-warm", True
    t.start()
    return t


def page_modules() -> list[str]:
    """Every module a page (``app_pages/*.py``) imports at its top, read from their source, then ``WARM_MODULES``."""
    import ast

    names: set[str] = set()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)     # a submodule, or (skipped) a name
    return sorted(n for n in names if n.split(".")[0] != "__future__") + list(WARM_MODULES)


def preload() -> None:
    """Import ``page_modules()`` (what is loaded stays loaded: ~1.1 s on a 2-core machine, ~0.8 s of it on the first
    page's first run otherwise). ``app_pages.server`` calls it before the server accepts a connection, the warm-up
    after the first page."""
    for name in page_modules():
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:     # ``from pkg import a_name``: not a module; anything else is a real failure
                log.warning("preloading %s failed:\n%s", name, traceback.format_exc())
        except Exception:            # noqa: BLE001 -- the page that imports it reports it
            log.warning("preloading %s failed:\n%s", name, traceback.format_exc())
    # The first element a Streamlit process sends calls inspect.stack() (its "use `streamlit run`" check), whose
    # inspect.getmodule maps the file of every loaded module (a realpath each: 0.08 s for ~2,300 modules, on the
    # first page's run). Fill that cache now: a code object has no __module__, so getmodule walks sys.modules.
    inspect.getmodule(preload.__code__)


def _warm() -> None:
    preload()
    export.warm()           # starts its own thread: Kaleido's Chromium
    warm_search()
    grade.warm_worker()     # math-verify (0.35 s): else the first answer classes with a symbolic answer pay for it
    freeze_heap()           # what was just loaded too


def freeze_heap() -> int:
    """Take every object alive now out of the cyclic garbage collector's reach (``gc.freeze``); returns how many.
    Streamlit collects every generation after each script run (``runner.postScriptGC``), and the modules the pages
    load (plotly, polars, pandas, scipy, sympy through math-verify: ~270,000 objects) made that full collection
    cost 0.1-0.3 s of CPU on every click, holding the GIL while the run's last messages waited. Objects made
    later are still collected after each run; what is frozen is freed by reference counting as ever, and only a
    cycle alive now that dies later is kept. ``app_pages.server`` freezes after its preload, the warm-up after
    its own loads. The heap is unfrozen at exit, so that extensions that count their instances then (DuckDB's
    nanobind) see them freed."""
    gc.collect()
    gc.freeze()
    atexit.unregister(gc.unfreeze)      # once, however many freezes
    atexit.register(gc.unfreeze)
    return gc.get_freeze_count()


def warm_search() -> bool:
    """Open the warehouse's full-text index once for this process (``textindex.status`` keeps its private copy:
    at 10x scale copying and checking 719 MB costs the first search 2.5 s). True when an index is open."""
    from warehouse import textindex

    try:
        with db.reader() as con:
            return textindex.status(con).fresh
    except Exception:                # noqa: BLE001 -- the search itself reports what is wrong
        log.warning("opening the search index failed:\n%s", traceback.format_exc())
        return False


def _serving() -> bool:
    """Whether this is a real `streamlit run` server (not AppTest, whose runtime is a mock)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


# --- sidebar filters <-> query params -----------------------------------------------------

def _qp_list(key: str) -> list[str]:
    v = st.query_params.get(key)
    return [x for x in v.split(",") if x] if v else []


def _sync(key: str, value) -> None:
    text = ",".join(value) if isinstance(value, (list, tuple)) else (value or "")
    if st.query_params.get(key, "") != text:
        if text:
            st.query_params[key] = text
        elif key in st.query_params:
            del st.query_params[key]


def _store() -> dict:
    """Filter values that outlive page switches (widget state is dropped with the page)."""
    return st.session_state.setdefault("_filters", {})


def _multi(label: str, key: str, options: list[str], container) -> tuple[str, ...]:
    wkey, store = f"f_{key}", _store()
    init = st.session_state.get(wkey, store.get(key, _qp_list(key)))
    st.session_state[wkey] = [v for v in init if v in options]  # drop what this benchmark lacks
    val = container.multiselect(label, options, key=wkey)
    store[key] = val
    _sync(key, val)
    return tuple(val)


def _single(label: str, key: str, options: list[str], container) -> str | None:
    if not options:
        return None
    wkey, store = f"f_{key}", _store()
    init = st.session_state.get(wkey, store.get(key, st.query_params.get(key)))
    st.session_state[wkey] = init if init in options else options[0]
    val = container.selectbox(label, options, key=wkey)
    store[key] = val
    _sync(key, val)
    return val


def selection() -> Selection | None:
    """Draw the sidebar filters (benchmark, tier scheme, tiers, categories, models, groups), kept in
    st.query_params so a URL reproduces the view; every page calls this first. Returns the Selection,
    or None with no benchmark."""
    opts = q(inventory.options)
    sb = st.sidebar
    sb.header("Filters")
    bench = _single("Benchmark", "b", opts["benchmarks"], sb)
    if bench is None:
        return None
    schemes = opts["schemes"].get(bench)
    if schemes:
        scheme = _single("Tier scheme", "scheme", schemes, sb)
    else:           # no scheme: say so, never name one ("paper") that does not exist
        scheme = None
        sb.caption("Tier scheme: none. `python -m pipeline tiers --scheme auto` assigns tiers from the data.")
    tiers = _multi("Tiers", "tiers", opts["tiers"].get(bench, []), sb)
    cats = _multi("Categories", "cats", opts["categories"].get(bench, []), sb)
    groups = _multi("Model groups", "groups", opts["groups"].get(bench, []), sb)
    models = _multi("Models", "models", opts["models"].get(bench, []), sb)
    return Selection(bench, scheme or "paper", tiers, cats, models, groups)


def fragment(fn):
    """``st.fragment`` for a section whose widgets only re-cut its own view (the Ladder's threshold, the
    Coverage timeline's grouping): moving them reruns that section, not the page. Its cache misses' connection
    is released when the section ends (a fragment's rerun does not reach app.py's ``release``)."""
    @functools.wraps(fn)
    def section(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            release()
    return st.fragment(section)


def tabs(labels: list[str], key: str):
    """Tabs whose closed ones draw no chart and no table: the browser draws only what the reader sees (a Plotly
    chart costs headless Chromium ~0.1-0.3 s of CPU, on every filter change, open or not). The open tab is kept in
    the URL (``key``=label: a permalink opens it). Enter each with ``with common.tab(t):``; choosing a tab reruns
    the page, whose queries are cached. A tab that needs a slow query of its own runs it only when open (``if
    t.open:``: Step errors' annotator agreement, Scaling's value-by-value tests, Coverage's answer timeline, Exh
    failures' answer classes, strategies and found-then-lost list): its charts and tables join the page's zip once it
    has been opened."""
    return st.tabs(labels, key=key, on_change="rerun", bind="query-params")


@contextlib.contextmanager
def tab(container):
    """Write into one of ``tabs``'s containers. While it is closed, ``chart`` and ``table`` keep their figure and
    table for the page's zip (``page_zip``: every chart of the page, open tab or not) but send nothing."""
    before = getattr(_RUN, "closed", False)
    _RUN.closed = getattr(container, "open", None) is False      # a plain container is always open
    try:
        with container:
            yield
    finally:
        _RUN.closed = before


@contextlib.contextmanager
def expander(label: str, key: str):
    """``st.expander`` whose charts and tables are drawn only while it is open (as ``tab`` does for a closed tab;
    they still go into the page's zip): opening it reruns the page, whose queries are cached. For expanders that
    hold tables (at paper scale Overview's four cost every run ~0.12 s of server CPU and the browser four grids)."""
    with tab(st.expander(label, key=key, on_change="rerun")):
        yield


def _closed() -> bool:
    return getattr(_RUN, "closed", False)


def has_groups(sel: Selection) -> bool:
    """Whether any model of the selection's benchmark has a group (``--meta group=...``)."""
    return bool(q(inventory.options)["groups"].get(sel.benchmark))


def has_tiers(sel: Selection) -> bool:
    """Whether the selection's benchmark has a tier scheme (``python -m pipeline tiers``, or the paper's)."""
    return bool(q(inventory.options)["schemes"].get(sel.benchmark))


def question_attributes(sel: Selection) -> list[str]:
    """What the selection's questions can be broken down by: "tier" when they have tiers, "category" when they
    have categories (Compare's rows, Step errors' breakdown)."""
    opt = q(inventory.options)
    return [k for k, o in (("tier", opt["tiers"]), ("category", opt["categories"])) if o.get(sel.benchmark)]


GROUPS_HELP = "No model of this benchmark has a group: import with `--meta group=NAME` (or `models set`) for group views."


MANY_KEYS = 60     # more models than this in a selection: one bar or line each is unreadable, groups come first
MANY_SAMPLES = 500  # more samples of a question than this (19,200 at 10x scale: two 0.8 MB lists to the browser on
                    # each question change): Trajectories picks a model first, then one of its samples


def _models_selected(sel: Selection) -> int:
    """How many models the selection holds: those named, else those of the chosen groups, else all."""
    if sel.models:
        return len(sel.models)
    opt = q(inventory.options)
    if sel.groups:
        sizes = opt["group_sizes"].get(sel.benchmark, {})
        return sum(sizes.get(g, 0) for g in sel.groups)
    return len(opt["models"].get(sel.benchmark, []))


def pick(label: str, options: list[str], key: str, container=st, **kwargs) -> str:
    """A horizontal radio over the ``options`` this selection has (e.g. "tier" only with a tier scheme): a value kept
    from a selection that had more options gives way to the first option, and a single option is no choice at
    all: no radio, that option."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    if len(options) == 1:
        return options[0]
    return container.radio(label, options, horizontal=True, key=key, **kwargs)


def per(label: str, key: str, sel: Selection, first: str = "model", container=st) -> str:
    """A "per model / per group" choice; group only where groups exist (the data sets the default: groups
    first when the selection holds more than ``MANY_KEYS`` models, e.g. 2,400 at 10x scale). Until the reader picks
    one, the default follows the filters on every run; once picked, the pick is kept (this page, any filter)."""
    opts = ["model", "group"] if has_groups(sel) else ["model"]
    n_models = _models_selected(sel)
    if (first == "group" or n_models > MANY_KEYS) and len(opts) == 2:
        opts.reverse()
    help_ = GROUPS_HELP if len(opts) == 1 else (f"{n_models:,} models: per group by default (one bar per model "
                                                 "would be unreadable)" if n_models > MANY_KEYS else None)
    # The reader's choice wins; until there is one, the data decides on every run. (A widget keeps its value when
    # its options change order: a group filter of 40 models opened the page per model, and clearing the filter
    # left it per model over 240 models, 960 bars, 1 s to draw.)
    chosen = _store().setdefault("per", {})
    want = chosen.get(key) if chosen.get(key) in opts else opts[0]
    if st.session_state.get(key) != want:
        st.session_state[key] = want
    return container.radio(label, opts, horizontal=True, key=key, help=help_,
                           on_change=lambda: chosen.__setitem__(key, st.session_state[key]))


# --- export widgets -----------------------------------------------------------------------

def _figures() -> dict[str, go.Figure | Callable[[], go.Figure | None]]:
    return st.session_state.setdefault("_page_figures", {})


def reset_page() -> None:
    """Forget the previous page's charts (called by app.py before each page runs)."""
    st.session_state["_page_figures"] = {}
    st.session_state["_page_tables"] = {}


def _downloads(name: str, kind: str, files: dict) -> None:
    """One compact download menu: a popover holding a button per format (``files``: format -> bytes callable)."""
    with st.popover("Download", icon=":material/download:", key=f"dlmenu_{kind}_{name}", type="tertiary",
                    help=f"Download this {kind}: {plain(name.replace('_', ' '))}"):
        for fmt, data in files.items():
            st.download_button(fmt.upper(), data=data, file_name=f"{export.slug(name)}.{fmt}", mime=export.MIME[fmt],
                               key=f"dl_{name}_{fmt}", on_click="ignore", width="stretch")


FLAT_UNLOCK = "Questions or models with different outcomes would give it something to compare."


def chart(fig: go.Figure, name: str, unlock: str | None = None) -> None:
    """Show a chart with one download menu (PNG, SVG, PDF, interactive HTML). With ``unlock`` (a chart of values
    to compare, not of counts per category), a chart whose every value is the same (``charts.figures.flat_value``)
    says nothing: one line says so instead, and ``unlock`` what would help."""
    from charts import figures

    flat = figures.flat_value(fig) if unlock else None
    if flat is not None:
        title = fig.layout.title.text or name.replace("_", " ")
        notice(f"{plain(title)}: every value is {flat:.3g}, nothing to compare. {unlock}")
        return
    _figures()[name] = fig
    if _closed():
        return
    st.plotly_chart(fig, key=f"chart_{name}", width="stretch")
    _downloads(name, "chart", {fmt: (lambda f=fig, x=fmt: export.figure_bytes(f, x)) for fmt in export.FORMATS})


def page_chart(page: str, name: str, view, missing: str | None = None, **options) -> None:
    """Figure ``name`` of ``page`` (``charts.pages.FIGURES``, the list export-charts renders too), drawn
    from the page's view; when the view has nothing to draw, nothing, or the line ``missing``."""
    from charts import pages

    if _closed():        # a closed tab: the figure is built only if the page's zip is downloaded (``_zip_figures``)
        _figures()[name] = functools.partial(pages.figure, page, name, view, **options)
        return
    fig = pages.figure(page, name, view, **options)
    if fig is not None:
        chart(fig, name, FLAT_UNLOCK)
    elif missing:
        notice(missing)


def _zip_figures(figs: dict) -> dict[str, go.Figure]:
    """The page's figures for its zip: a closed tab's (a ``page_chart`` not built yet) built now, and, like
    ``chart`` with ``FLAT_UNLOCK``, left out when there is nothing to draw or every value is the same."""
    from charts import figures

    out = {}
    for name, fig in figs.items():
        if callable(fig):
            fig = fig()
            if fig is None or figures.flat_value(fig) is not None:
                continue
        out[name] = fig
    return out


# Up to this many cells a table's numbers are formatted here (pandas' Styler: ``present.fmt`` on every cell, ~5 µs
# of CPU a cell on each rerun); beyond, by the browser from each column's format (``_browser_formats``), the same
# rules to the browser's rounding, so a 6,000-question table costs a filter change nothing to format.
STYLE_MAX_CELLS = 12_000


def _browser_formats(df: pl.DataFrame, key: str | None) -> dict:
    """Column configs that format ``df``'s numbers in the browser as ``present.fmt`` does here: integers with
    thousands separators, shares as percentages, other floats to 3 significant digits."""
    from charts import present

    out = {}
    for c, t in df.schema.items():
        if t.is_integer():
            fmt = "localized"
        elif t.is_float():
            fmt = "percent" if present.is_percent(c) else "%.3g"
        else:
            continue
        out[c] = st.column_config.NumberColumn(present.label(c, key), format=fmt)
    return out


TRAJECTORIES = "app_pages/trajectories.py"


def opens(df: pl.DataFrame) -> bool:
    """Whether a table's rows each name a question (a ``question_id`` column): selecting one opens it."""
    return "question_id" in df.columns and df.height > 0


def open_trajectory(question_id, trajectory_id=None, **more) -> None:
    """Switch to Trajectories on question ``question_id`` (and trajectory ``trajectory_id``), the sidebar's
    filters kept: what selecting a row that names a question or trajectory does, on every page."""
    qp = {k: st.query_params[k] for k in FILTER_KEYS if k in st.query_params}
    qp.update({k: str(v) for k, v in dict(q=question_id, t=trajectory_id, **more).items() if v is not None})
    st.switch_page(TRAJECTORIES, query_params=qp)


def table(df: pl.DataFrame, name: str, key: str | None = None, **kwargs) -> None:
    """Show a table the way every page does: headers are the columns' labels (``charts.present.label``; ``key``
    names what a ``key`` column holds), numbers in the app's formats with ``—`` for missing; one download
    menu (CSV, Parquet) with the columns as stored. The value behind each cell stays the raw number.
    A table whose rows name a question (``question_id``; ``trajectory_id``, hidden, names the sample) is
    selectable: selecting a row opens that question (that trajectory) in Trajectories (``open_trajectory``)."""
    from charts import present

    st.session_state.setdefault("_page_tables", {})[name] = df
    if _closed():
        return
    config = {c: st.column_config.Column(present.label(c, key), help=None) for c in df.columns}
    data = df
    if df.height * max(df.width, 1) <= STYLE_MAX_CELLS:
        formats = {c: (lambda v, c=c: present.fmt(v, c)) for c, t in df.schema.items()
                   if t.is_numeric() or t == pl.Boolean}
        data = df.to_pandas().style.format(formats, na_rep=present.MISSING)
    else:
        config.update(_browser_formats(df, key))
    config.update(kwargs.pop("column_config", None) or {})
    # never shown: an opaque 64-bit id (it opens the row), a tier or category column with no value at all
    hidden = {"trajectory_id"} | {c for c in ("tier", "category") if c in df.columns and df[c].null_count() == df.height}
    if hidden & set(df.columns):
        kwargs.setdefault("column_order", [c for c in df.columns if c not in hidden])
    if opens(df):
        # the key changes after each opening, so coming back to this page shows no stale selection
        wkey = f"open_{name}_{st.session_state.get('_open_pick', 0)}"
        kwargs.update(key=wkey, on_select="rerun", selection_mode="single-row")
    picked = st.dataframe(data, width="stretch", hide_index=True, column_config=config,
                          placeholder=present.MISSING, **kwargs)
    if opens(df):
        st.caption("Select a row to open it in Trajectories.")
    _downloads(name, "table", {fmt: (lambda d=df, x=fmt: export.table_bytes(d, x)) for fmt in ("csv", "parquet")})
    rows = picked.selection.rows if opens(df) and picked else []
    if rows:
        r = df.row(rows[0], named=True)
        st.session_state["_open_pick"] = st.session_state.get("_open_pick", 0) + 1
        open_trajectory(r["question_id"], r.get("trajectory_id"))


def notice(text: str) -> None:
    """One line where a chart cannot say anything: why, and what would unlock it (``text`` is Markdown the
    page wrote; untrusted parts through ``plain``)."""
    st.info(text, icon=":material/info:")


def findings(lines: list[str]) -> None:
    """The page's answer, first: 2–4 findings in plain words, each with its number (Markdown the page wrote;
    untrusted parts through ``plain``)."""
    if lines:
        with st.container(border=True):
            st.markdown("\n".join(f"- {line}" for line in lines))


def page_zip(page: str) -> None:
    """One button: every chart of this page (PNG, SVG, PDF, HTML) and table (CSV, Parquet) as a zip."""
    # this run's dicts themselves: a fragment's rerun (common.fragment) replaces its own charts and tables there
    figs, tables = _figures(), st.session_state.setdefault("_page_tables", {})
    if not figs and not tables:
        return
    what = " and ".join(f"{n} {w}{'s' if n > 1 else ''}" for n, w in ((len(figs), "chart"), (len(tables), "table"))
                        if n)
    st.divider()
    st.download_button(f"Download this page: {what} (zip)", icon=":material/folder_zip:",
                       data=lambda: export.zip_bytes(_zip_figures(dict(figs)), tables=dict(tables)),
                       file_name=f"{export.slug(page)}.zip", mime=export.MIME["zip"], key=f"zip_{page}", on_click="ignore")


# --- the one way untrusted text reaches a page -----------------------------------------------
# Everything the warehouse holds came from a user's files or a model: responses, problems, answers, model
# and question ids, group names, evidence. It reaches Streamlit only through ``plain`` (literal text in
# any Markdown context: labels, metrics, captions, headers) or ``rich`` (a response or problem rendered as
# Markdown with math). Neither can produce Markdown image syntax, so nothing is ever fetched from a host
# named in the data; st.markdown escapes raw HTML itself (never pass unsafe_allow_html here).

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")          # every ASCII punctuation character
_IMAGE_OPEN = "!["                                   # the only opening of an image in CommonMark/GFM
_BROKEN_OPEN = "!\u2060["                           # the same characters with a word joiner between


def plain(value) -> str:
    """``value`` as literal text inside Markdown: every ASCII punctuation character backslash-escaped
    (CommonMark renders each as itself), line breaks as spaces. No syntax of any kind survives: no
    image, link, emphasis, code span, math or HTML."""
    text = "" if value is None else str(value)
    return _PUNCT.sub(r"\\\1", " ".join(text.split("\n")).replace("\r", " "))


# Math in a response or problem, as KaTeX delimits it: $$…$$, \[…\], \(…\), and $…$ the way pandoc reads it (the
# opening $ not escaped and followed by a non-space, the closing one preceded by a non-space and not followed
# by a digit, no blank line inside: "$5 and $10" is text).
_MATH = re.compile(r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<bd>.+?)\\\]|\\\((?P<bp>.+?)\\\)"
                   r"|(?<![\\$])\$(?P<d>(?=\S)(?:[^$\\\n]|\\.|\n(?![ \t]*\n))+?)(?<=\S)\$(?!\d)", re.S)
_TEXT_PUNCT = re.compile(r"([!-/:-@\[-`|~])")       # ASCII punctuation but { } (no Markdown syntax uses them)
_LEADING = re.compile(r"(?<=\n)[ \t]+")
_HARD_BREAK = re.compile(r"(?<!\n)\n(?!\n)")


def _literal(text: str, line_start: bool) -> str:
    """Text outside math as Markdown that shows every character as written: punctuation escaped, a line
    break kept (a hard break), leading spaces kept (no-break spaces: never an indented code block)."""
    t = ("\n" if line_start else "") + _TEXT_PUNCT.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n"))
    t = _LEADING.sub(lambda m: "\u00a0" * len(m.group(0).expandtabs(4)), t)
    return _HARD_BREAK.sub("  \n", t[1:] if line_start else t)


def rich(text) -> str:
    """Model output (or a problem statement) as Markdown that changes no character: math (``$…$``,
    ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) renders with KaTeX, everything else is literal text (every Markdown
    syntax character escaped, line breaks kept), so ``3/7 = (3*30)/(7*30)`` keeps its stars. No image can
    parse: outside math "![" is escaped, inside it gets an invisible word joiner between its characters."""
    t = "" if text is None else str(text)
    out, at = [], 0
    for m in _MATH.finditer(t):
        kind, body = next((k, v) for k, v in m.groupdict().items() if v is not None)
        if "$" in body:              # a $ inside would end the math early: show it as text
            continue
        out.append(_literal(t[at:m.start()], at == 0 or t[at - 1] == "\n"))
        fence = "$$" if kind in ("dd", "bd") else "$"
        out.append(fence + body.replace(_IMAGE_OPEN, _BROKEN_OPEN) + fence)
        at = m.end()
    out.append(_literal(t[at:], at == 0 or t[at - 1] == "\n"))
    return "".join(out)


def link(page: str, label: str, **params) -> None:
    """A permalink to another page with query params (the filters travel along). ``label`` is
    untrusted text (model and question ids): shown literally."""
    qp = {k: st.query_params[k] for k in FILTER_KEYS if k in st.query_params}
    qp.update({k: str(v) for k, v in params.items()})
    st.page_link(page, label=plain(label), query_params=qp)


def int_param(key: str) -> int | None:
    """An integer query parameter, or None when absent or not a plain (ASCII) integer."""
    v = st.query_params.get(key)
    return int(v) if v and _INT.fullmatch(v) else None


_INT = re.compile(r"-?[0-9]{1,19}")
