"""Pure figure builders: a polars DataFrame in, a plotly Figure out.

The app and the headless export (``python -m pipeline export-charts``) draw the same figures
from these functions. No queries here: callers pass the frames that warehouse/ functions return.
Every figure is in ``TEMPLATE``, which importing this module makes plotly's default.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from analysis.timeline import EVENTS as TIMELINE_EVENTS
from charts import present
from charts.present import PALETTE, TIER_COLORS, TIER_FILLS, label, short

TEMPLATE = "plotly_white"
TOP_KEYS = 12         # a chart of a bar group per key shows at most this many keys (its table has them all)
pio.templates.default = TEMPLATE

REF_COLORS = ["#555555", "#8c564b", "#9467bd"]


def _figure(data=None, **layout) -> go.Figure:
    """A Figure in TEMPLATE with ``layout`` (traces and layout validated as usual)."""
    fig = go.Figure(data=data)
    if pio.templates.default != TEMPLATE:
        layout = {"template": TEMPLATE, **layout}
    return fig.update_layout(**layout) if layout else fig


_tier_rank = present.tier_rank


def empty_figure(message: str = "nothing to show for this selection") -> go.Figure:
    fig = _figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(xaxis_visible=False, yaxis_visible=False, height=300)
    return fig


def _question_order(acc: pl.DataFrame, figure: str) -> list[str]:
    """Question ids in the order of ``acc``'s ``x`` column: the ladder position the analysis computed (by tier,
    then pooled solve rate) and its table shows. Figures never sort questions by a rule of their own."""
    if "x" not in acc.columns:
        raise ValueError(f"{figure} needs the ladder position column 'x' "
                         "(the frame of analysis.metrics.question_accuracy)")
    return acc.group_by("question_id").agg(pl.col("x").min()).sort("x", "question_id")["question_id"].to_list()


def ladder_figure(acc: pl.DataFrame, series: str = "key", reference: pl.DataFrame | None = None,
                  title: str = "Accuracy drops as reasoning difficulty increases", key: str | None = None) -> go.Figure:
    """The paper's Figure 1 for any selection.

    ``acc``: ``analysis.metrics.question_accuracy``'s frame: question_id, tier, accuracy, x (the question's position on
    the axis, as the table shows it) and the ``series`` column (key: a model or group) — one line per series.
    ``reference``: optional question_id, group, value (the paper's values), drawn dashed. ``key``: what the
    series are (model, group), for the legend's title.
    Tier bands are shaded rectangles named ``tier:<Tier>``.
    """
    if acc.is_empty():
        return empty_figure()
    order = _question_order(acc, "ladder_figure")
    if acc[series].null_count():
        acc = acc.with_columns(pl.col(series).fill_null("(none)"))
    # one point per (series, question): mean over models when series is a group
    pts = acc.group_by([series, "question_id"]).agg(pl.col("tier").first(), pl.col("accuracy").mean())
    pos = {q: i for i, q in enumerate(order)}
    names = sorted(pts[series].unique().to_list())
    colors = present.colors(names)
    traces = []       # plain dicts: plotly validates them once, in the Figure
    for i, name in enumerate(names):
        d = pts.filter(pl.col(series) == name).with_columns(
            pl.col("question_id").replace_strict(pos, return_dtype=pl.Int64).alias("_pos")).sort("_pos")
        traces.append(dict(type="scatter", x=d["question_id"].to_list(), y=d["accuracy"].to_list(),
                           name=short(name, 32), mode="lines+markers", marker={"color": colors[str(name)]},
                           line={"color": colors[str(name)]}, customdata=d["tier"].fill_null("no tier").to_list(),
                           hovertemplate=_esc(name) + "<br>question %{x} (%{customdata})<br>accuracy %{y:.2f}"
                           "<extra></extra>"))
    if reference is not None and not reference.is_empty():
        ref = reference.filter(pl.col("question_id").is_in(order))
        for i, g in enumerate(sorted(ref["group"].unique().to_list())):
            d = ref.filter(pl.col("group") == g).with_columns(
                pl.col("question_id").replace_strict(pos, return_dtype=pl.Int64).alias("_pos")).sort("_pos")
            traces.append(dict(type="scatter", x=d["question_id"].to_list(), y=d["value"].to_list(),
                               name=f"paper: {g}", mode="lines+markers",
                               line={"dash": "dot", "width": 1, "color": colors.get(str(g), REF_COLORS[i % 3])},
                               marker={"symbol": "x", "size": 6}, opacity=0.7, legendgroup="paper"))
    # tier bands: what add_vrect(..., annotation_position="top left") draws, built in one layout update
    tiers = {q: t for q, t in zip(pts["question_id"], pts["tier"])}
    shapes, notes = [], []
    start = 0
    for k in range(1, len(order) + 1):
        if k == len(order) or tiers.get(order[k]) != tiers.get(order[start]):
            t = tiers.get(order[start])
            if t is not None:
                shapes.append(dict(type="rect", x0=start - 0.5, x1=k - 0.5, xref="x", y0=0, y1=1, yref="y domain",
                                   fillcolor=TIER_FILLS.get(t, "rgba(0,0,0,0.05)"), line={"width": 0},
                                   layer="below", name=f"tier:{t}"))
                notes.append(dict(text=t, x=start - 0.5, xanchor="left", xref="x", y=1, yanchor="top",
                                  yref="y domain", showarrow=False))
            start = k
    return _figure(data=traces, title=title, height=460, legend_title_text=label(series, key), shapes=shapes,
                   annotations=notes,
                   xaxis={"title": "Questions, by tier, then solve rate", "type": "category",
                          "categoryorder": "array", "categoryarray": order},
                   yaxis={"title": "Accuracy (mean over samples)", "range": [-0.03, 1.05]})


def _esc(text) -> str:
    """Text from the warehouse inside a hover template: plotly reads a few HTML tags and %{...} there."""
    from html import escape

    return escape(str(text)).replace("%", "&#37;").replace("{", "&#123;")


def heatmap_figure(acc: pl.DataFrame, series: str = "key", title: str = "Accuracy per question and model",
                   key: str | None = None) -> go.Figure:
    """Question × key heatmap of ``ladder_figure``'s frame, the columns in its ``x`` order."""
    if acc.is_empty():
        return empty_figure()
    order = _question_order(acc, "heatmap_figure")
    pts = acc.group_by([series, "question_id"]).agg(pl.col("accuracy").mean())
    rows = sorted(pts[series].cast(pl.Utf8).fill_null("(none)").unique().to_list())
    lookup = {(str(r[series]) if r[series] is not None else "(none)", r["question_id"]): r["accuracy"]
              for r in pts.iter_rows(named=True)}
    z = [[lookup.get((m, q)) for q in order] for m in rows]
    fig = _figure(go.Heatmap(z=z, x=order, y=[short(r, 32) for r in rows], colorscale="Viridis", zmin=0, zmax=1,
                             colorbar={"title": "Accuracy"}, customdata=[[r] * len(order) for r in rows],
                             hovertemplate="%{customdata}<br>question %{x}<br>accuracy %{z:.2f}<extra></extra>"))
    fig.update_layout(title=title, height=max(300, 22 * len(rows) + 160),
                      xaxis={"type": "category", "title": "Question"}, yaxis={"title": label(series, key)})
    return fig


def migration_figure(series: pl.DataFrame, factor: str, solved_at: dict | None = None,
                     title: str = "Questions along the series") -> go.Figure:
    """Questions (rows, in the frame's tier-then-id order) × factor values (columns): accuracy per cell
    (``analysis.migration.series``); a question's tier labels its row, and ``solved_at`` (question ->
    value) marks where it is solved for good."""
    if series.is_empty():
        return empty_figure()
    qids = series["question_id"].unique(maintain_order=True).to_list()
    tiers = dict(zip(series["question_id"], series["tier"]))
    xs = sorted(series["x"].unique().to_list())
    label = lambda x: str(int(x)) if float(x).is_integer() else str(x)   # noqa: E731
    cols = [label(x) for x in xs]
    lookup = {(r["question_id"], label(r["x"])): r["accuracy"] for r in series.iter_rows(named=True)}
    rows = [f"{q} · {tiers.get(q) or '-'}" for q in qids]
    z = [[lookup.get((q, c)) for c in cols] for q in qids]
    fig = _figure(go.Heatmap(z=z, x=cols, y=rows, colorscale="Viridis", zmin=0, zmax=1,
                             colorbar={"title": "Accuracy"}))
    marks = [(label(v), f"{q} · {tiers.get(q) or '-'}") for q, v in (solved_at or {}).items() if v is not None]
    if marks:
        fig.add_trace(go.Scatter(x=[m[0] for m in marks], y=[m[1] for m in marks], mode="markers", name="solved from",
                                 marker={"symbol": "line-ns-open", "size": 14, "color": "#e76f51",
                                         "line": {"width": 3}}))
    fig.update_layout(title=title, height=max(320, 18 * len(rows) + 160), showlegend=bool(marks),
                      legend={"orientation": "h", "y": -0.12, "x": 0},
                      xaxis={"type": "category", "title": present.label(factor)},
                      yaxis={"type": "category", "autorange": "reversed", "title": "Question · tier"})
    return fig


def answer_class_figure(classes: list[dict], title: str = "Answer classes") -> go.Figure:
    """One bar per class of equivalent final answers (``analysis.answers``), largest first: gold classes in
    green, wrong ones in red, the no-answer class in grey; hover names the models."""
    if not classes:
        return empty_figure()
    colors = [present.OK_COLOR if c["is_gold"] else (present.NEUTRAL_COLOR if c["answer"] == "(no answer)"
                                                      else present.WRONG_COLOR) for c in classes]
    labels = [f"{i + 1}. {short(c['answer'], 40)}" for i, c in enumerate(classes)]   # numbered: spellings may repeat
    fig = _figure(go.Bar(x=labels, y=[c["n"] for c in classes], marker={"color": colors},
                         customdata=[", ".join(c["models"][:8]) + (" …" if len(c["models"]) > 8 else "")
                                     for c in classes],
                         hovertemplate="%{x}<br>%{y} samples<br>%{customdata}<extra></extra>"))
    fig.update_layout(title=title, height=360, xaxis={"type": "category", "title": "Final answer (class)"},
                      yaxis={"title": "Samples"})
    return fig


def _split(df: pl.DataFrame, color: str | None, key=None) -> list[tuple[str | None, pl.DataFrame]]:
    """(value, rows) per distinct ``color`` value (nulls as "(none)", booleans "yes"/"no"), sorted; one pass
    over ``df``."""
    if color is None:
        return [(None, df)]
    as_text = (pl.when(pl.col(color)).then(pl.lit("yes")).when(~pl.col(color)).then(pl.lit("no"))
               if df.schema[color] == pl.Boolean else pl.col(color).cast(pl.Utf8))
    tagged = df.with_columns(as_text.fill_null("(none)").alias("__series"))
    parts = tagged.partition_by("__series", as_dict=True, include_key=False)
    return sorted(((k[0], v) for k, v in parts.items()), key=lambda kv: key(kv[0]) if key else kv[0])


def bar_figure(df: pl.DataFrame, x: str, y: str, color: str | None = None, title: str = "",
               barmode: str = "group", y_title: str | None = None,
               interval: tuple[str, str] | None = None, x_title: str | None = None,
               color_title: str | None = None, percent: bool = False) -> go.Figure:
    """Grouped (or stacked) bars of ``y`` by ``x``, one trace per ``color`` value (tiers in tier order and
    colours, other values the qualitative palette); ``interval`` (lo, hi columns) draws each bar's interval as
    an error bar. Long category and legend labels are shortened, the full text is in the hover; axis and
    legend titles are the columns' labels (``charts.present``); ``percent``: a 0–1 axis written as %."""
    if df.is_empty():
        return empty_figure()

    def errors(d: pl.DataFrame) -> dict:
        if interval is None:
            return {}
        lo, hi, v = d[interval[0]].to_numpy(), d[interval[1]].to_numpy(), d[y].to_numpy()
        return {"error_y": {"type": "data", "symmetric": False, "array": (hi - v).tolist(),
                            "arrayminus": (v - lo).tolist(), "thickness": 1.2, "width": 3}}

    parts = _split(df, color, key=_tier_rank_or_name)
    cols = present.colors([g for g, _ in parts])
    yfmt = "%{y:.1%}" if percent else "%{y:.3g}"
    traces = []
    for i, (g, d) in enumerate(parts):     # plain dicts: plotly validates them once, in the Figure
        xs = d[x].cast(pl.Utf8).fill_null("(none)").to_list()
        head = (_esc(g) + "<br>") if g is not None else ""
        traces.append(dict(type="bar", x=xs, y=d[y].to_list(), name=short(g if g is not None else label(y), 28),
                           marker={"color": cols.get(g, PALETTE[0]) if g is not None else PALETTE[0]},
                           customdata=[_esc(v) for v in xs],
                           hovertemplate=head + "%{customdata}: " + yfmt + "<extra></extra>", **errors(d)))
    ticks = list(dict.fromkeys(df[x].cast(pl.Utf8).fill_null("(none)").to_list()))   # the frame's order, whatever
    ticks = present.tier_sorted(ticks) if x == "tier" else ticks                       # colour a bar has
    fig = _figure(data=traces)
    fig.update_layout(title=title, barmode=barmode, height=420, legend_title_text=color_title or
                      (label(color) if color else None), showlegend=color is not None,
                      xaxis={"type": "category", "title": x_title or label(x), "tickvals": ticks,
                             "ticktext": [short(t, 18) for t in ticks], "categoryorder": "array",
                             "categoryarray": ticks},
                      yaxis={"title": y_title or label(y), **({"tickformat": ".0%"} if percent else {})})
    return fig


def gap_figure(per_tier: pl.DataFrame, title: str | None = None, key_title: str | None = None) -> go.Figure:
    """``coverage.potential_vs_stability(per_tier=True)``: the gap of every key, one bar per tier (one trace a
    tier, however many keys: the legend names tiers, the axis keys), each with its bootstrap interval. Without
    tiers (every tier null), one bar per key and no legend (not one "(none)" entry); the default title says
    "per tier" only with tiers."""
    tiers = "tier" in per_tier.columns and per_tier["tier"].drop_nulls().len() > 0
    return bar_figure(per_tier, "key", "gap", color="tier" if tiers else None, y_title="cov@n − avg@n",
                      title=title or "The gap cov@n − avg@n" + (" per tier" if tiers else ""), x_title=key_title,
                      interval=("gap_lo", "gap_hi") if {"gap_lo", "gap_hi"} <= set(per_tier.columns) else None)


def scatter_figure(df: pl.DataFrame, x: str, y: str, text: str, color: str | None = None, title: str = "",
                   diagonal: bool = False) -> go.Figure:
    """Labelled scatter (e.g. cov@n against avg@n per model), optional y = x line."""
    if df.is_empty():
        return empty_figure()
    parts = _split(df, color)
    cols = present.colors([g for g, _ in parts])
    fig = _figure(data=[dict(type="scatter", x=d[x].to_list(), y=d[y].to_list(),
                             text=d[text].cast(pl.Utf8).to_list(), mode="markers",
                             name=short(g, 28) if g is not None else label(text),
                             marker={"size": 10, "color": cols.get(g, PALETTE[i % len(PALETTE)])},
                             hovertemplate="%{text}<br>" + f"{label(x)} %{{x:.3f}}<br>{label(y)} %{{y:.3f}}"
                             "<extra></extra>")
                        for i, (g, d) in enumerate(parts)])
    if diagonal:
        fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dash", "color": "#999"})
    fig.update_layout(title=title, height=440, xaxis_title=label(x), yaxis_title=label(y),
                      showlegend=color is not None)
    return fig


def line_figure(df: pl.DataFrame, x: str, y: str, color: str | None = None, title: str = "",
                log_x: bool = False, band: tuple[str, str] | None = None, fit: str | None = None,
                x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """One line per ``color`` value; optional shaded band (lo, hi columns) and a dashed ``fit`` column.

    Up to len(PALETTE) series, each has its own traces and legend entry. Beyond, colours repeat anyway, so
    the series of one colour share its traces (lines and bands separated by gaps, the hover naming each
    point's series) and there is no legend: at most 3 traces a colour however many series (plotly builds a
    figure at ~0.2 ms a trace plus ~1 us a listed value: pass@k per model at paper scale drew 480 traces).
    """
    if df.is_empty():
        return empty_figure()
    has_band, has_fit = bool(band and band[0] in df.columns), bool(fit and fit in df.columns)
    if color is not None and df[x].dtype.is_numeric() and df[color].n_unique() > len(PALETTE):
        traces = _shared_line_traces(df, x, y, color, band if has_band else None, fit if has_fit else None)
    else:
        traces = []
        parts = _split(df.sort(x), color, key=_tier_rank_or_name)
        cols = present.colors([g for g, _ in parts])
        for i, (g, d) in enumerate(parts):
            c = cols.get(g, PALETTE[i % len(PALETTE)]) if g is not None else PALETTE[0]
            name = short(g, 28) if g is not None else label(y)
            if has_band:
                traces.append(dict(type="scatter", x=d[x].to_list() + d[x].to_list()[::-1],
                                   y=d[band[1]].to_list() + d[band[0]].to_list()[::-1], fill="toself",
                                   line={"width": 0}, fillcolor=c, opacity=0.15, showlegend=False,
                                   hoverinfo="skip", legendgroup=name))
            traces.append(dict(type="scatter", x=d[x].to_list(), y=d[y].to_list(), name=name, marker={"color": c},
                               legendgroup=name, mode="lines+markers" if d.height <= 30 else "lines"))
            if has_fit:
                traces.append(dict(type="scatter", x=d[x].to_list(), y=d[fit].to_list(), name=f"{name} fit",
                                   mode="lines", line={"dash": "dash", "color": c}, legendgroup=name,
                                   showlegend=False))
    fig = _figure(data=traces)
    fig.update_layout(title=title, height=440, xaxis_title=x_title or label(x),
                      yaxis_title=y_title or label(y), legend_title_text=label(color) if color else None)
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def _shared_line_traces(df: pl.DataFrame, x: str, y: str, color: str, band: tuple[str, str] | None,
                        fit: str | None) -> list[dict]:
    """``line_figure``'s traces when series share colours. Per colour, its series' points one after another
    as float arrays with a NaN gap after each series (plotly takes an array whole and sends it as a typed
    array, where it checks a list value by value); the band is one closed shape per series."""
    label = pl.col(color).cast(pl.Utf8).fill_null("(none)")
    labels = sorted(df.select(label.unique())[color].to_list(), key=_tier_rank_or_name)
    df = df.with_columns(__rank=label.replace_strict(labels, list(range(len(labels))), return_dtype=pl.Int64)
                         ).sort("__rank", x)
    names = np.array(labels + [""])                                           # names[-1]: the gaps'
    lens = np.bincount(df["__rank"].to_numpy(), minlength=len(labels))
    starts = np.cumsum(lens) - lens
    data = {c: df[c].cast(pl.Float64).to_numpy() for c in dict.fromkeys(c for c in (x, y, fit, *(band or ())) if c)}

    def pick(col: str, idx: np.ndarray) -> np.ndarray:         # values at idx, NaN (a gap) where idx is -1
        return np.where(idx >= 0, data[col][idx], np.nan)

    mode = "lines+markers" if lens.max() <= 30 else "lines"
    traces = []
    for i, colour in enumerate(PALETTE[:len(labels)]):
        mine = np.arange(i, len(labels), len(PALETTE))           # the series of this colour
        s, n = starts[mine], lens[mine]
        seg, off = _segments(n + 1)                                # each series forward, then a gap
        fwd = np.where(off < n[seg], s[seg] + off, -1)
        if band:                                                   # forward along hi, back along lo, a gap
            bseg, boff = _segments(2 * n + 1)
            bn, bs = n[bseg], s[bseg]
            there = boff < bn
            idx = np.where(there, bs + boff, np.where(boff < 2 * bn, bs + 2 * bn - 1 - boff, -1))
            traces.append(dict(type="scatter", x=pick(x, idx), y=np.where(there, pick(band[1], idx), pick(band[0], idx)),
                               fill="toself", mode="lines", line={"width": 0}, fillcolor=colour, opacity=0.15,
                               showlegend=False, hoverinfo="skip"))
        traces.append(dict(type="scatter", x=pick(x, fwd), y=pick(y, fwd), text=names[np.where(fwd >= 0, mine[seg], -1)],
                           name=f"{len(mine)} series", marker={"color": colour}, mode=mode, showlegend=False,
                           hovertemplate="%{text}<br>" + f"{present.label(x)} %{{x}}<br>{present.label(y)} %{{y:.3f}}<extra></extra>"))
        if fit:
            traces.append(dict(type="scatter", x=pick(x, fwd), y=pick(fit, fwd), mode="lines",
                               line={"dash": "dash", "color": colour}, showlegend=False, hoverinfo="skip"))
    return traces


def _segments(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For consecutive segments of the given sizes: each position's segment and its offset inside it."""
    seg = np.repeat(np.arange(len(sizes)), sizes)
    return seg, np.arange(len(seg)) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _tier_rank_or_name(v: str) -> tuple[int, str]:
    return (_tier_rank(v), v)


def grid_figure(grid: pl.DataFrame, title: str = "Samples: models × samples") -> go.Figure:
    """Models × samples of one question coloured by correctness (green right, red wrong)."""
    if grid.is_empty():
        return empty_figure("no samples for this question")
    models = sorted(grid["model_id"].unique().to_list())
    n = int(grid["sample_idx"].max()) + 1
    cell = {(r["model_id"], r["sample_idx"]): r for r in grid.iter_rows(named=True)}
    z, text = [], []
    for m in models:
        z.append([None if (m, s) not in cell else float(bool(cell[(m, s)]["is_correct"])) for s in range(n)])
        text.append([("" if (m, s) not in cell else str(cell[(m, s)]["answer"] or "—")[:20]) for s in range(n)])
    fig = _figure(go.Heatmap(z=z, x=list(range(n)), y=models, text=text, texttemplate="%{text}",
                             colorscale=[[0, present.WRONG_COLOR], [1, present.OK_COLOR]], zmin=0, zmax=1,
                             showscale=False,
                             xgap=2, ygap=2, hovertemplate="%{y} sample %{x}<br>answer %{text}"))
    fig.update_layout(title=title, height=max(220, 26 * len(models) + 120),
                      xaxis={"title": "Sample", "dtick": 1}, yaxis={"autorange": "reversed", "title": "Model"})
    return fig


def solved_matrix_figure(sm: pl.DataFrame, title: str = "Solved matrix (Guttman scalogram)") -> go.Figure:
    """``ladder.solved_matrix`` output: keys (rows, best first) × questions (columns, easiest first)."""
    if sm.is_empty():
        return empty_figure()
    qs = sm.select("question_id", "q_rank").unique().sort("q_rank")["question_id"].to_list()
    ks = sm.select("key", "k_rank").unique().sort("k_rank")["key"].cast(pl.Utf8).to_list()
    cell = {(str(r["key"]), r["question_id"]): float(bool(r["solved"])) for r in sm.iter_rows(named=True)}
    z = [[cell.get((k, q)) for q in qs] for k in ks]
    fig = _figure(go.Heatmap(z=z, x=qs, y=ks, colorscale=[[0, "#f1f1f1"], [1, "#264653"]], zmin=0, zmax=1,
                             showscale=False, xgap=1, ygap=1))
    fig.update_layout(title=title, height=max(260, 22 * len(ks) + 160),
                      xaxis={"type": "category", "title": "Question (easiest first)"},
                      yaxis={"autorange": "reversed"})
    return fig


def difficulty_figure(diff: pl.DataFrame, title: str = "Rasch difficulty per question") -> go.Figure:
    """``ladder.difficulty`` output: difficulty b with its interval, coloured by tier."""
    if diff.is_empty():
        return empty_figure()
    d = diff.with_columns(pl.col("tier").map_elements(_tier_rank, return_dtype=pl.Int64).alias("_r")) \
            .sort(["_r", "rasch_b"])
    fig = _figure()
    tiers = sorted(d["tier"].fill_null("(none)").unique().to_list(), key=_tier_rank_or_name)
    cols = present.colors(tiers)
    for i, t in enumerate(tiers):
        x = d.filter(pl.col("tier").fill_null("(none)") == t)
        fig.add_trace(go.Scatter(x=x["question_id"].to_list(), y=x["rasch_b"].to_list(), mode="markers", name=t,
                                 error_y={"type": "data", "symmetric": False,
                                          "array": (x["rasch_hi"] - x["rasch_b"]).to_list(),
                                          "arrayminus": (x["rasch_b"] - x["rasch_lo"]).to_list()},
                                 marker_color=cols[t]))
    fig.update_layout(title=title, height=420, yaxis_title="Difficulty b (logit)", legend_title_text="Tier",
                      xaxis={"type": "category", "title": "Question",
                             "categoryorder": "array", "categoryarray": d["question_id"].to_list()})
    return fig


def agreement_figure(conf: pl.DataFrame, offs: pl.DataFrame, a: str, b: str,
                     title: str = "Agreement on the first wrong step") -> go.Figure:
    """Two annotators' first-error verdicts: ``analysis.agreement.confusion`` (a, b, n: the error /
    no-error table) as a heatmap on the left, ``analysis.agreement.offsets`` (label, n: b's step
    minus a's where both flag an error) as bars on the right. ``a``, ``b``: the annotators' names."""
    from html import escape

    from plotly.subplots import make_subplots

    if conf.is_empty() or int(conf["n"].sum()) == 0:
        return empty_figure("no trajectory judged by both annotators")
    a, b = escape(a), escape(b)        # names from the warehouse: plotly reads a few HTML tags in labels
    order = ["error", "no error"]
    z = [[int(conf.filter((pl.col("a") == ra) & (pl.col("b") == cb))["n"].sum()) for cb in order] for ra in order]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.18,
                        subplot_titles=("error / no error", "step offset where both flag an error"))
    fig.add_trace(go.Heatmap(z=z, x=[f"{b}: {c}" for c in order], y=[f"{a}: {r}" for r in order],
                             colorscale="Blues", showscale=False, text=z, texttemplate="%{text}",
                             hovertemplate="%{z} trajectories<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=offs["label"].to_list(), y=offs["n"].to_list(), marker_color=PALETTE[0],
                         name="trajectories", showlegend=False,
                         hovertemplate="offset %{x} steps: %{y} trajectories<extra></extra>"), row=1, col=2)
    fig.update_yaxes(autorange="reversed", ticksuffix="  ", row=1, col=1)
    fig.update_xaxes(type="category", title_text=f"{b} step − {a} step", row=1, col=2)
    fig.update_yaxes(title_text="trajectories", row=1, col=2)
    return fig.update_layout(title=title, height=380, template=TEMPLATE)


# --- the answer timeline (analysis/timeline.py) ------------------------------------------------------
TIMELINE_COLORS = {"gold reached": "#2a9d8f", "gold lost": "#e76f51", "answer changed": "#e9c46a",
                   "arithmetic slip": "#d62828", "backtrack": "#8d99ae", "first error?": "#1982c4"}


def timeline_strip_figure(events: pl.DataFrame, n_chars: int, title: str = "", x_max: int | None = None,
                          current: int | None = None) -> go.Figure:
    """One trajectory's strip: a mark per (step, event) at the step's first character, one lane per event
    (``analysis.timeline.EVENTS``, always all of them so that two strips line up). Verified findings are
    filled marks, the suspected first error (a judgement) an open diamond, backtracks small grey ticks.
    ``x_max``: the axis end (the longer of two compared trajectories: one scale); ``current``: the step
    shown, drawn as a vertical line. Each mark's customdata is its step index (click to jump)."""
    lanes = list(reversed(TIMELINE_EVENTS))
    data = [dict(type="scatter", x=[0, max(1, n_chars)], y=[lanes[0], lanes[0]], mode="lines",
                 line={"color": "rgba(0,0,0,0)"}, hoverinfo="skip", showlegend=False)]
    for ev in TIMELINE_EVENTS:
        d = events.filter(pl.col("event") == ev) if not events.is_empty() else events
        if d.is_empty():
            continue
        kind = d["kind"][0]
        symbol = {"verified": "circle", "judgement": "diamond-open", "marker": "line-ns-open"}[kind]
        hover = [f"step {i + 1}: {ev} ({k}{', ' + a if a else ''}"
                 + (f", score {s:.2f}" if s is not None else "") + ")"
                 + (f"<br>{str(det)[:120]}" if det else "")
                 for i, k, a, s, det in zip(d["step_idx"].to_list(), d["kind"].to_list(), d["annotator"].to_list(),
                                            d["score"].to_list(), d["detail"].to_list())]
        data.append(dict(type="scatter", x=d["start_char"].to_list(), y=[ev] * d.height, mode="markers",
                         name=f"{ev} · {kind}", customdata=d["step_idx"].to_list(), hovertext=hover,
                         hoverinfo="text",
                         marker={"symbol": symbol, "size": 7 if kind == "marker" else 11,
                                 "color": TIMELINE_COLORS[ev], "line": {"width": 2, "color": TIMELINE_COLORS[ev]}}))
    fig = _figure(data=data)
    if current is not None and not events.is_empty():
        hit = events.filter(pl.col("step_idx") == current)
        if hit.height:
            fig.add_vline(x=hit["start_char"][0], line={"color": "#444", "dash": "dot", "width": 1})
    fig.update_layout(title=title, height=260, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 30},
                      xaxis={"title": "character offset", "range": [0, max(1, x_max or n_chars)]},
                      yaxis={"type": "category", "categoryorder": "array", "categoryarray": lanes, "range":
                             [-0.5, len(lanes) - 0.5]},
                      legend={"orientation": "h", "y": -0.35}, clickmode="event+select")
    return fig


def timeline_aggregate_figure(agg: pl.DataFrame, title: str = "The answer timeline",
                              key_title: str | None = None) -> go.Figure:
    """``analysis.timeline.aggregate``: per key, the found-then-lost rate (wrong trajectories whose steps
    held the gold) and the median share of the response written before the first correct answer."""
    if agg.is_empty():
        return empty_figure("no answer timelines in this selection (python -m pipeline annotate --timeline)")
    long = agg.select("key", "found_then_lost_rate", "median_frac_before_gold").unpivot(
        index="key", variable_name="measure", value_name="share").with_columns(
        pl.col("measure").replace({"found_then_lost_rate": "found then lost (share of wrong)",
                                   "median_frac_before_gold": "response before the first correct answer"}))
    return bar_figure(long.filter(pl.col("share").is_not_null()), "key", "share", color="measure", title=title,
                      y_title="Share", x_title=key_title, color_title="Measure", percent=True)


def flat_value(fig: go.Figure) -> float | None:
    """The one value every data point of ``fig`` has, when it has at least two points and they are all equal
    (a chart of zeros, every line at 1.0, points on y = x at one value): such a chart says nothing and the page
    shows a notice instead. None when the values differ (or there are fewer than two)."""
    def numbers(values) -> list[float]:
        return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not np.isnan(v)]

    vals, xs = [], []
    for t in fig.data:
        if getattr(t, "fill", None) == "toself":
            continue                                       # a band: drawn around a line, not a value
        z, y = getattr(t, "z", None), getattr(t, "y", None)      # plotly may hold them as numpy arrays
        vals += numbers([v for row in z for v in (row if isinstance(row, (list, tuple)) else [row])] if z is not None
                        else ([] if y is None else list(y)))
        if t.type == "scatter" and getattr(t, "mode", None) == "markers":      # a 2-D scatter: x is a value too
            xs += numbers([] if t.x is None else list(t.x))
    flat = lambda v: len(v) >= 2 and max(v) - min(v) < 1e-12      # noqa: E731
    return vals[0] if flat(vals) and (not xs or flat(xs)) else None


def difference_figure(rows: pl.DataFrame, a: str, b: str, x: str = "by", color: str | None = None,
                      title: str | None = None, x_title: str | None = None, alpha: float = 0.05) -> go.Figure:
    """``analysis.compare.compare``'s rows: the paired difference B − A in percentage points per ``x`` value
    (overall and each tier or category), with its 95% interval as an error bar and a line at no difference.
    A filled marker: significant after the Holm correction (p_holm < ``alpha``); hollow: not. ``color``: one
    series per value (the Scaling page: tiers along consecutive factor values), grouped side by side;
    without it each point takes its tier's colour (overall: black)."""
    if rows.is_empty():
        return empty_figure()
    parts = _split(rows, color, key=_tier_rank_or_name)
    cols = present.colors([g for g, _ in parts] if color else [v for v in rows[x].to_list() if v != "overall"])
    traces = []
    for g, d in parts:
        xs = d[x].cast(pl.Utf8).to_list()
        diff = (d["diff"] * 100).to_numpy()
        lo = (d["ci_lo"].fill_null(float("nan")) * 100).to_numpy()
        hi = (d["ci_hi"].fill_null(float("nan")) * 100).to_numpy()
        sig = [p is not None and p < alpha for p in d["p_holm"].to_list()]
        colour = [cols.get(g, PALETTE[0])] * d.height if color else [cols.get(v, "#000000") for v in xs]
        hover = [f"{_esc(b)} − {_esc(a)}" + (f" · {_esc(g)}" if g is not None else "") + f"<br>{_esc(v)}: "
                 f"{dv:+.0f} points" + ("" if np.isnan(lv) else f" [{lv:+.0f}, {hv:+.0f}]")
                 + f"<br>p (Holm) = {p:.3g} · {n} questions"
                 for v, dv, lv, hv, p, n in zip(xs, diff, lo, hi, d["p_holm"].to_list(), d["n_questions"].to_list())]
        traces.append(dict(type="scatter", x=[short(v, 18) for v in xs], y=diff.tolist(), mode="markers",
                           name=short(g, 28) if g is not None else "B − A", hovertext=hover, hoverinfo="text",
                           marker={"size": 11, "color": ["#ffffff" if not s else c for s, c in zip(sig, colour)],
                                   "line": {"width": 2, "color": colour}, "symbol": "circle"},
                           error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - diff).tolist(),
                                    "arrayminus": np.nan_to_num(diff - lo).tolist(), "thickness": 1.5, "width": 4,
                                    "color": colour[0] if color else "#555555"}))
    fig = _figure(data=traces)
    fig.add_hline(y=0, line={"color": "#777", "dash": "dash", "width": 1})
    fig.update_layout(title=title if title is not None else f"{short(b, 40)} − {short(a, 40)}: accuracy difference "
                      "with 95% interval (filled: significant after correction)",
                      height=420, showlegend=color is not None, scattermode="group",
                      legend_title_text=label(color) if color else None,
                      xaxis={"type": "category", "title": x_title or label(x if x != "by" else "tier")},
                      yaxis={"title": "B − A (percentage points)", "zeroline": False})
    return fig


def failure_modes_figure(counts: pl.DataFrame, by: str = "tier",
                         title: str = "Failure modes: wrong trajectories per cluster") -> go.Figure:
    """Stacked bars: one per failure-mode cluster (``cluster``: its number and label), its wrong trajectories
    split by ``by`` (tier | model | group; tiers in tier order and colours)."""
    if counts.is_empty():
        return empty_figure("no wrong trajectories in the stored clusters for this selection")
    fig = bar_figure(counts, "cluster", "n", color=by, barmode="stack", title=title,
                     y_title="Wrong trajectories", x_title="Failure mode (its most distinctive words)")
    return fig
