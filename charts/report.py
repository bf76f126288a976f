"""A shareable static report: one self-contained HTML file of a selection's charts, tables and provenance.

``html_report(con, sel, ...)`` returns the document as text. It opens from disk in any browser with no server
and no network: plotly.js is embedded inline once (no CDN, no MathJax), each chart is an interactive Plotly
figure, and a Content-Security-Policy forbids every fetch (``default-src 'none'``), so nothing named in the
data can be loaded even if it slipped through. Every piece of text from the warehouse (model, question, group
and benchmark names, answers) is HTML-escaped; the figures' data is embedded as JSON with ``<`` escaped
(plotly's encoder), so no text can close the script it sits in.

What is drawn:
- every figure of every page in ``charts.pages.FIGURES`` (picked up generically: a figure added there appears
  here), each drawn from its page's view (``charts.pages.VIEWS``);
- the Scaling page's curves, question strips and ablations for every model factor that varies;
- the key tables: accuracy per tier, coverage per tier, unstable questions, per-question accuracy, the
  fitted curves, the models and the runs;
- the filters used (and the command that rebuilds the file) and the provenance: warehouse data and schema
  version, grader and version, the runs the numbers come from.

A figure or section that cannot be drawn for this selection (one sample per question: no pass@k; no varying
factor: no scaling; no tiers) is listed under "Not drawn" with the reason, never silently dropped.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import polars as pl

from charts import figures, pages, present
from warehouse import frames, inventory
from warehouse.filters import Selection

MAX_TABLE_ROWS = 500          # a table longer than this is cut (the file says so); the full tables are in the app
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; connect-src 'none'")
SECTION_TITLES = {"ladder": "Ladder", "coverage": "Coverage vs accuracy", "scaling": "Scaling",
                  "failures": "Exh failures: what goes wrong on the hardest questions", "step_errors": "Step errors"}


def _findings(page: str, view, by: str) -> list[str]:
    """The page's key figures in words (the app's findings), as plain text for the file."""
    fn = {"ladder": lambda v: pages.ladder_findings(v, str, by),
          "coverage": lambda v: pages.coverage_findings(v, str, by) or (
              [pages.ONE_SAMPLE.format(by=by)] if pages.samples_per_question(v) <= 1 else []),
          "failures": lambda v: pages.failures_findings(v, str),
          "step_errors": lambda v: pages.step_error_findings(v, "tier", str)}.get(page)
    return [t.replace("**", "").replace("`", "") for t in (fn(view) if fn else [])]


@dataclass
class Section:
    title: str
    items: list[tuple[str, Any]] = field(default_factory=list)   # ("figure", (name, fig)) | ("table", ...) | ("note", str)

    def figure(self, name: str, fig: go.Figure) -> None:
        self.items.append(("figure", (name, fig)))

    def table(self, name: str, df: pl.DataFrame, caption: str = "") -> None:
        self.items.append(("table", (name, df, caption)))

    def note(self, text: str) -> None:
        self.items.append(("note", text))


@dataclass
class Report:
    """What the file shows, before it is written as HTML (tests and callers can inspect it)."""
    selection: Selection
    options: dict[str, Any]
    info: dict[str, Any]
    sections: list[Section]
    skipped: list[tuple[str, str]]          # (what, why)

    @property
    def figures(self) -> dict[str, go.Figure]:
        return {name: fig for s in self.sections for kind, v in s.items if kind == "figure" for name, fig in [v]}


PROVENANCE = "Provenance"


def _why(exc: Exception) -> str:
    return f"it could not be computed for this selection ({type(exc).__name__}: {str(exc)[:200]})"


def _page_sections(con, sel: Selection, by: str, refs: pl.DataFrame | None, threshold: float,
                   skipped: list) -> tuple[list[Section], dict[str, Any]]:
    """One section per page of ``charts.pages.FIGURES`` with every figure it can draw; the views by page."""
    out, views = [], {}
    for page, figs in pages.FIGURES.items():
        sec = Section(SECTION_TITLES.get(page, page.replace("_", " ").capitalize()))
        view_fn = pages.VIEWS.get(page)
        if view_fn is None:
            skipped += [(f"{page}: {name}", "its page has no view in charts.pages.VIEWS") for name in figs]
            continue
        try:
            view = views[page] = view_fn(con, sel, by)
        except Exception as exc:        # noqa: BLE001 -- an odd warehouse: say so in the file, draw the rest
            skipped += [(f"{page}: {name}", _why(exc)) for name in figs]
            continue
        try:
            for line in _findings(page, view, by):
                sec.note(line)
        except Exception as exc:        # noqa: BLE001
            skipped.append((f"{page}: key figures", _why(exc)))
        for name, draw in figs.items():
            try:
                fig = draw(view, reference=refs, threshold=threshold, key=by)
            except Exception as exc:    # noqa: BLE001
                skipped.append((f"{page}: {name}", _why(exc)))
                continue
            if fig is None:
                skipped.append((f"{page}: {name}", _NONE_WHY.get(name, "nothing to draw for this selection")))
            else:
                sec.figure(name, fig)
        out.append(sec)
    return out, views


_NONE_WHY = {
    "pass_at_k": "pass@k curves need more than one sample per question",
    "solved_matrix": "no question is solved by any key at the threshold, or nothing to draw",
    "rasch_difficulty": "the Rasch fit needs questions solved by some keys and failed by others",
    "coverage_vs_accuracy": "one sample per question: cov@n equals avg@n, every point would lie on the diagonal",
    "gap_per_tier": "one sample per question: the gap cov@n − avg@n is zero everywhere",
    "wrong_answers": "no wrong answers in the studied tiers",
    "failure_flags": "no trajectory found the gold answer and lost it, and none was cut off",
    "step_error_labels": "no step-error labels in this selection (python -m pipeline annotate writes them)",
}


def _scaling_section(con, sel: Selection, skipped: list) -> Section:
    """The Scaling page for every factor that varies: avg@n per tier (with its band), the fits and the question
    strip for a numeric factor; grouped bars for a categorical one."""
    sec = Section(SECTION_TITLES["scaling"])
    try:
        num, cat = pages.scaling_factors(con, sel)
    except Exception as exc:            # noqa: BLE001
        skipped.append(("scaling", _why(exc)))
        return sec
    if num.is_empty() and cat.is_empty():
        skipped.append(("scaling", "the selected models vary in no model factor (sft_size, train_step, params_b, "
                                   "sft_category, ...): import them with --meta or a model manifest"))
        return sec
    for factor in num["factor"].to_list():
        try:
            pts = pages.scaling_points(con, sel, factor)
            sec.figure(f"scaling_points_{factor}", figures.line_figure(
                pts, "x", "avg", color="tier", log_x=True, band=("avg_lo", "avg_hi"), x_title=factor,
                title=f"avg@n per tier against {factor}"))
            fits = pages.scaling_curves(con, sel, factor, "avg")["fits"]
            sec.table(f"scaling_fits_{factor}", fits, "log: y = a + b ln x; saturating: y = c − (c − a) e^(−bx), "
                                                      "c is the plateau (fits with 95% bootstrap intervals)")
            mig = pages.scaling_migration(con, sel, factor)
            m = mig["migration"]
            sec.figure(f"migration_{factor}", figures.migration_figure(
                mig["series"], factor, dict(zip(m["question_id"], m["solved_at"])),
                title=f"Questions along the {factor} series"))
        except Exception as exc:        # noqa: BLE001
            skipped.append((f"scaling: {factor}", _why(exc)))
    for factor in cat["factor"].to_list():
        try:
            abl = pages.scaling_ablation(con, sel, factor)
            sec.figure(f"ablation_{factor}", figures.bar_figure(abl, "value", "avg", color="tier",
                                                                title=f"avg@n by {factor}"))
        except Exception as exc:        # noqa: BLE001
            skipped.append((f"scaling: {factor}", _why(exc)))
    return sec


def collect(con, sel: Selection, by: str | None = None, reference: bool = False, threshold: float = 0.5) -> Report:
    """Everything the report shows for ``sel``, computed through the pages' views (one fetch per view).
    ``by``: lines per model or per group; by default per group where the benchmark's models have groups."""
    skipped: list[tuple[str, str]] = []
    if by is None:
        by = "group" if inventory.options(con)["groups"].get(sel.benchmark) else "model"
    info = inventory.info(con)
    refs = frames.reference_values(con, sel) if reference else None
    if reference and (refs is None or refs.is_empty()):
        skipped.append(("reference overlay", "no reference values for this benchmark"))
    overview = Section("Overview")
    tm = pages.tier_metrics(con, sel)
    keys = sorted(set(tm["key"].to_list())) if tm.height else []
    if not tm.height:
        overview.note("No trajectories match these filters.")
    else:
        overview.table("accuracy_per_tier", tm.rename({"key": "model_id"}),
                       "avg@n and cov@n per model and tier, 95% bootstrap intervals over the tier's questions")
        if tm["tier"].is_null().all():
            overview.note(f"No question of this selection has a tier under the scheme {sel.scheme!r}: the ladder "
                          "orders questions by accuracy alone (`python -m pipeline tiers` assigns tiers).")
    sections, views = ([], {}) if not tm.height else _page_sections(con, sel, by, refs, threshold, skipped)
    if tm.height:
        sections.append(_scaling_section(con, sel, skipped))
    tables = Section("Tables")
    cov = views.get("coverage")
    if isinstance(cov, dict):
        if "per_tier" in cov:
            tables.table("coverage_per_tier", cov["per_tier"], "potential (cov@n) against stability (avg@n) per tier")
        if "unstable" in cov:
            tables.table("unstable_questions", cov["unstable"], "solved by some samples, failed by others")
    lad = views.get("ladder")
    if isinstance(lad, dict) and "accuracy" in lad:
        tables.table("question_accuracy", lad["accuracy"], f"accuracy per question and {by}, in the ladder's order")
    models = inventory.models(con, sel.benchmark)
    runs = inventory.runs(con, sel.benchmark)
    if keys:                        # tier_metrics is per model whatever ``by``: its keys are the selection's models
        models, runs = (df.filter(pl.col("model_id").is_in(keys)) for df in (models, runs))
    tables.table("models", models, "the models of the selection")
    prov = Section(PROVENANCE)
    prov.table("runs", runs, "where the numbers come from: one run per imported file or generation")
    opts = {"by": by, "reference": reference, "threshold": threshold}
    return Report(sel, opts, info, [overview, *sections, tables, prov], skipped)


# --- HTML -----------------------------------------------------------------------------------------

def esc(value) -> str:
    """Any value as HTML text (quotes too): no markup from the data survives."""
    return html.escape("" if value is None else str(value), quote=True)


def _cell(v) -> str:
    if v is None or isinstance(v, (float, int, bool)):
        return present.fmt(v)
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def table_html(df: pl.DataFrame, max_rows: int = MAX_TABLE_ROWS, key: str | None = None) -> str:
    """``df`` as an HTML table: headers are the columns' labels (``present.label``), numbers ``present.fmt``'s."""
    if df.is_empty():
        return '<p class="note">(no rows)</p>'
    head = "".join(f'<th title="{esc(c)}">{esc(present.label(c, key))}</th>' for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in r) + "</tr>"
                   for r in df.head(max_rows).iter_rows())
    cut = (f'<p class="note">First {max_rows} of {df.height:,} rows (the app and `report answers` give them '
           f'all).</p>') if df.height > max_rows else ""
    return f'<div class="tbl"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{cut}'


def figure_html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config=PLOTLY_CONFIG, default_width="100%", default_height=f"{fig.layout.height or 480}px")


def command(sel: Selection, options: dict) -> str:
    """The command line that rebuilds this report from the same warehouse."""
    parts = ["python", "-m", "pipeline", "report", "html", "--out", "report.html", "--benchmark", sel.benchmark]
    if sel.scheme != "paper":
        parts += ["--scheme", sel.scheme]
    for flag, vals in (("--tiers", sel.tiers), ("--categories", sel.categories), ("--models", sel.models),
                       ("--groups", sel.groups)):
        if vals:
            parts += [flag, *vals]
    if options.get("by", "model") != "model":
        parts += ["--by", options["by"]]
    if options.get("reference"):
        parts.append("--reference")
    return shlex.join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#1d2733}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #dde;padding:.2rem .45rem;text-align:left;
vertical-align:top;max-width:28rem;overflow-wrap:anywhere}th{background:#f2f4f8}
.tbl{overflow-x:auto;margin:.5rem 0 1.2rem}.note{color:#555;font-size:.9rem}.chart{margin:1rem 0 2rem}
code,pre{background:#f5f5f5;padding:.15rem .3rem;overflow-wrap:anywhere;white-space:pre-wrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
"""


def render(rep: Report, title: str | None = None, generated: str | None = None, plotly_js: str | None = None) -> str:
    """The report as one HTML document (plotly.js inline: ``plotly_js`` overrides the bundled copy)."""
    from plotly.offline import get_plotlyjs

    sel, info = rep.selection, rep.info
    title = title or f"ladder report — {sel.benchmark}"
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    grader = info.get("active_grader") or "source harness verdicts"
    filters = [("benchmark", sel.benchmark), ("tier scheme", sel.scheme),
               ("tiers", ", ".join(sel.tiers) or "all"), ("categories", ", ".join(sel.categories) or "all"),
               ("models", ", ".join(sel.models) or "all"), ("groups", ", ".join(sel.groups) or "all"),
               ("lines per", rep.options.get("by", "model")),
               ("reference overlay", "yes" if rep.options.get("reference") else "no"),
               ("solved when accuracy >", rep.options.get("threshold", 0.5))]
    prov = [("warehouse data version", info.get("data_version")), ("schema version", info.get("schema_version")),
            ("grader", f"{grader} {info.get('active_grader_version') or ''}".strip()), ("generated", generated)]
    dl = lambda pairs: "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"  # noqa: E731
    body = [f"<h1>{esc(title)}</h1>",
            '<p class="note">A static report written by <code>python -m pipeline report html</code>: the charts are '
            "interactive (hover, zoom, legend) and everything is inside this one file; it needs no server and "
            "no network.</p>",
            "<h2>Filters</h2>", dl(filters),
            f'<p class="note">Rebuild it: <code>{esc(command(sel, rep.options))}</code></p>',
            f"<h2>{PROVENANCE}</h2>", dl(prov)]
    n = 0
    sections = ([s for s in rep.sections if s.title == PROVENANCE]       # one provenance block, at the top
                + [s for s in rep.sections if s.title != PROVENANCE])
    for sec in sections:
        if not sec.items:
            continue
        if sec.title != PROVENANCE:
            body.append(f"<h2>{esc(sec.title)}</h2>")
        for kind, v in sec.items:
            if kind == "figure":
                name, fig = v
                n += 1
                body.append(f'<div class="chart" data-name="{esc(name)}">{figure_html(fig, f"chart-{n}")}</div>')
            elif kind == "table":
                name, df, caption = v
                body.append(f"<h3>{esc(name.replace('_', ' '))}</h3>")
                if caption:
                    body.append(f'<p class="note">{esc(caption)}</p>')
                body.append(table_html(df, key=rep.options.get("by")))
            else:
                body.append(f'<p class="note">{esc(v)}</p>')
    if rep.skipped:
        body.append("<h2>Not drawn</h2><p class=\"note\">What this selection cannot show, and why:</p><ul>"
                    + "".join(f"<li><b>{esc(what)}</b>: {esc(why)}</li>" for what, why in rep.skipped) + "</ul>")
    js = (plotly_js if plotly_js is not None else get_plotlyjs()).replace("</script", "<\\/script")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_CSS}</style>"
            f'<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: "local"}};</script>'
            f'<script type="text/javascript">{js}</script></head>\n<body>\n' + "\n".join(body)
            + f'\n<p class="note">{n} charts.</p></body></html>\n')


def html_report(con, sel: Selection, by: str | None = None, reference: bool = False, threshold: float = 0.5,
                title: str | None = None) -> str:
    """The self-contained HTML report of ``sel`` (see the module's docstring)."""
    return render(collect(con, sel, by, reference, threshold), title)


def file_bytes(db_path, sel: Selection, **options) -> bytes:
    """The report as the bytes of its file, read through its own read-only connection (the app's download
    button calls this when clicked, after the script run has released its connection)."""
    from warehouse import db

    with db.reader(db_path) as con:
        return html_report(con, sel, **options).encode("utf-8")
