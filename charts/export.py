"""Export figures and tables: PNG/SVG/PDF (Kaleido, system Chromium), HTML, CSV, Parquet, zip.

One Kaleido browser is kept warm for the whole process (``kaleido.start_sync_server``) instead
of one Chromium per image; the app starts it in the background (``warm``) after its first page, so
the first download does not wait for Chromium (~4 s) but only for its rendering (~0.3 s). The browser
is Debian's ``/usr/bin/chromium`` (``$LADDER_CHROMIUM`` or ``$BROWSER_PATH`` override it); nothing is
ever downloaded, and MathJax is off (no network).
"""
from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from typing import Iterable, Mapping

import plotly.graph_objects as go
import polars as pl

from warehouse.errors import LadderError

IMAGE_FORMATS = ("png", "svg", "pdf")
FORMATS = IMAGE_FORMATS + ("html",)
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "html": "text/html",
        "csv": "text/csv", "parquet": "application/vnd.apache.parquet", "zip": "application/zip"}
DEFAULT_CHROMIUM = "/usr/bin/chromium"
_lock = threading.Lock()
_started = False
_warming: threading.Thread | None = None


class ExportError(LadderError, RuntimeError):
    """Chart export failed (no browser, bad format)."""


def chromium_path() -> str:
    return os.environ.get("LADDER_CHROMIUM") or os.environ.get("BROWSER_PATH") or DEFAULT_CHROMIUM


def _ensure_server() -> None:
    """Start the one warm Kaleido browser for this process (idempotent, thread-safe)."""
    global _started
    if _started:
        return
    with _lock:
        if _started:
            return
        import kaleido

        path = chromium_path()
        if not os.path.exists(path):
            raise ExportError(f"chart export needs Chromium at {path}: install it with "
                              f"`apt-get install chromium` (or set LADDER_CHROMIUM)")
        kaleido.start_sync_server(path=path, mathjax=False, timeout=60, silence_warnings=True)
        _started = True


def warm() -> threading.Thread | None:
    """Start the warm browser in a background thread and render one empty image, so that its page has loaded
    plotly.js: the next ``figure_bytes`` only renders. Once per process; returns the thread (None when it was
    started before). A failure (no Chromium) is left for the export itself to report."""
    global _warming
    with _lock:
        if _started or _warming is not None:
            return None
        _warming = threading.Thread(target=_warm, name="kaleido-warm", daemon=True)
    _warming.start()
    return _warming


def _warm() -> None:
    try:
        figure_bytes(go.Figure(), "png", width=10, height=10, scale=1)
    except Exception:          # noqa: BLE001 -- the first real export reports it
        pass


def stop_server() -> None:
    global _started, _warming
    with _lock:
        _warming = None
        if _started:
            import kaleido

            kaleido.stop_sync_server(silence_warnings=True)
            _started = False


def figure_bytes(fig: go.Figure, fmt: str, width: int = 1100, height: int | None = None, scale: float = 2) -> bytes:
    """The figure as PNG, SVG, PDF (rendered by the warm Kaleido browser) or standalone HTML."""
    fmt = fmt.lower()
    if fmt == "html":
        return fig.to_html(include_plotlyjs=True, full_html=True).encode()
    if fmt not in IMAGE_FORMATS:
        raise ExportError(f"unknown chart format {fmt!r}: use one of {', '.join(FORMATS)}")
    import kaleido

    _ensure_server()
    h = height or fig.layout.height or 500
    opts = {"format": fmt, "width": width, "height": h, "scale": scale if fmt == "png" else 1}
    with _lock:  # the sync server is one queue; keep callers from interleaving
        return kaleido.calc_fig_sync(fig.to_dict(), opts=opts)


def table_bytes(df: pl.DataFrame, fmt: str) -> bytes:
    """A table as CSV (nested columns flattened to text) or Parquet."""
    buf = io.BytesIO()
    if fmt == "parquet":
        df.write_parquet(buf)
    elif fmt == "csv":
        nested = [c for c, t in df.schema.items() if t.is_nested()]
        flat = df.with_columns([pl.col(c).map_elements(lambda v: str(list(v)) if v is not None else None,
                                                       return_dtype=pl.Utf8) for c in nested])
        flat.write_csv(buf)
    else:
        raise ExportError(f"unknown table format {fmt!r}: use csv or parquet")
    return buf.getvalue()


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")
    return s[:80] or "chart"


def zip_bytes(figures: Mapping[str, go.Figure], formats: Iterable[str] = ("png", "svg", "pdf", "html"),
              tables: Mapping[str, pl.DataFrame] | None = None) -> bytes:
    """All of a page's charts (every format) and tables (CSV and Parquet) as one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, fig in figures.items():
            for fmt in formats:
                z.writestr(f"{slug(name)}.{fmt}", figure_bytes(fig, fmt))
        for name, df in (tables or {}).items():
            for fmt in ("csv", "parquet"):
                z.writestr(f"{slug(name)}.{fmt}", table_bytes(df, fmt))
    return buf.getvalue()
