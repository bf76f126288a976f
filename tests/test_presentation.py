"""The one presentation vocabulary (charts.present) and what the pages show with it: human labels, number
formats, palettes, shortened labels, flat charts replaced by a notice, bounded scaling intervals, and every page
on a one-sample warehouse without tiers (AppTest)."""
import json

import numpy as np
import polars as pl
import pytest

import charts
from analysis import scaling
from charts import figures, present
from warehouse.records import TIERS


def test_every_column_a_page_shows_has_a_human_label():
    for col in ("found_then_lost_rate", "pass_at_k", "key", "question_id", "model_id", "avg_lo", "n_questions",
                "median_frac_before_gold", "some_new_column"):
        assert not present.is_raw(present.label(col)), col
    assert present.label("key", "group") == "Group" and present.label("pass_at_k") == "pass@k"
    assert present.is_raw("found_then_lost_rate") and present.is_raw("key") and not present.is_raw("avg@n")


@pytest.mark.parametrize("value, col, text", [(None, None, "—"), (float("nan"), None, "—"),
                                              (0.30000000000000004, None, "0.3"), (0.125, "found_then_lost_rate", "12.5%"),
                                              (1234567, None, "1,234,567"), (True, None, "yes"), (2 / 3, "avg", "0.667")])
def test_numbers_are_written_one_way(value, col, text):
    assert present.fmt(value, col) == text


def test_intervals_and_short_labels():
    assert present.interval(0.31, 0.22, 0.4) == "0.31 [0.22–0.40]" and present.interval(None) == "—"
    assert present.interval(0.5, None, 0.6) == "0.50"
    long = "1" * 130
    assert len(present.short(long, 24)) == 24 and present.short(long, 24).endswith("…")
    assert present.short("a\nb") == "a b"


def test_palettes_tier_order_and_distinct_colours():
    assert list(present.TIER_COLORS) == list(TIERS) and len(set(present.TIER_COLORS.values())) == len(TIERS)
    assert len(set(present.PALETTE)) == len(present.PALETTE)
    assert not set(present.PALETTE[:4]) & set(present.TIER_COLORS.values())
    assert present.tier_sorted(["Exh", "zeta", "Easy", "Hard"]) == ["Easy", "Hard", "Exh", "zeta"]
    c = present.colors(["Hard", "g1", "g2", "(none)"])
    assert c["Hard"] == present.TIER_COLORS["Hard"] and c["g1"] != c["g2"] and c["(none)"] == present.NO_TIER_COLOR


def test_a_130_digit_answer_is_a_short_legend_entry_with_the_full_text_on_hover():
    answer = "9" * 130
    df = pl.DataFrame({"question_id": ["1", "1"], "n_samples": [3, 2], "answer": [answer, "\\text{Undefined}"]})
    fig = charts.bar_figure(df, "question_id", "n_samples", color="answer", barmode="stack")
    assert all(len(t.name) <= 28 for t in fig.data)
    assert any(answer in t.hovertemplate for t in fig.data)
    assert not any(present.is_raw(t) for t in (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text,
                                               fig.layout.legend.title.text))


def test_tier_bars_use_tier_colours_in_tier_order():
    df = pl.DataFrame({"key": ["m"] * 3, "tier": ["Hard", "Easy", "Exh"], "v": [0.2, 0.9, 0.0]})
    fig = charts.bar_figure(df, "key", "v", color="tier")
    assert [t.name for t in fig.data] == ["Easy", "Hard", "Exh"]
    assert [t.marker.color for t in fig.data] == [present.TIER_COLORS[t] for t in ("Easy", "Hard", "Exh")]


def test_a_chart_of_one_value_is_flat():
    gap = pl.DataFrame({"key": ["a", "a", "b"], "tier": ["Easy", "Hard", "Easy"], "gap": [0.0, 0.0, 0.0]})
    assert figures.flat_value(charts.gap_figure(gap)) == 0.0
    gap = gap.with_columns(pl.Series("gap", [0.0, 0.1, 0.0]))
    assert figures.flat_value(charts.gap_figure(gap)) is None
    one = pl.DataFrame({"key": ["a"], "tier": ["Easy"], "gap": [0.4]})
    assert figures.flat_value(charts.gap_figure(one)) is None          # one value: a bar, not a flat chart


def test_scaling_curves_and_plateau_intervals_stay_within_0_and_1():
    # an accuracy that rises steeply and noisily to 1: unbounded least squares extrapolates beyond 1
    rng = np.random.default_rng(3)
    xs = [1, 2, 4, 8, 16]
    rows = []
    for q in range(12):
        for i, x in enumerate(xs):
            p = min(1.0, 0.1 + 0.3 * i) if q % 3 else (0.0 if i < 4 else 1.0)
            n = 4
            rows.append(dict(key=f"m{x}", question_id=f"q{q}", tier="Hard", n=n, c=int(rng.binomial(n, p)), maj=0.0))
    pq = pl.DataFrame(rows)
    fac = pl.DataFrame({"model_id": [f"m{x}" for x in xs], "sft_size": [float(x) for x in xs]})
    b = scaling.bands(pq, fac, "sft_size", "avg", n_boot=200)
    assert b.height and b["lo"].min() >= 0 and b["hi"].max() <= 1 and b["y"].max() <= 1
    f = scaling.fits(pq, fac, "sft_size", "avg", n_boot=200).filter(pl.col("fit") == "saturating")
    assert f["lo"].min() >= 0 and f["hi"].max() <= 1
    assert b["clipped"].any() or f["clipped"].any()        # the unbounded fit did cross 1 here, and says so


# --- the pages on a one-sample warehouse without tiers ---------------------------------------------------

def _headers(at) -> list[str]:
    """What every displayed table shows as its column headers (the column_config labels, else the names)."""
    out = []
    for df in at.dataframe:
        cfg = json.loads(df.proto.columns or "{}")
        for col in df.value.columns:
            c = cfg.get(col) or cfg.get(f"col:{col}") or {}
            out.append(c.get("label") or str(col))
    return out


def _chart_titles(at) -> list[str]:
    out = []
    for c in at.get("plotly_chart"):
        lay = json.loads(c.proto.spec)["layout"]
        for ax in ("xaxis", "yaxis"):
            t = (lay.get(ax) or {}).get("title")
            out.append(t.get("text") if isinstance(t, dict) else t)
        out.append(((lay.get("legend") or {}).get("title") or {}).get("text"))
    return [t for t in out if t]


def check_presentation(at, page: str) -> None:
    """No raw column name as a header, axis or legend title; no chart whose every value is the same."""
    raw = [h for h in _headers(at) + _chart_titles(at) if present.is_raw(h)]
    assert not raw, (page, raw)
    if not page.endswith("trajectories.py"):        # a single question's sample grid may well be all right
        for c in at.get("plotly_chart"):
            fig = figures.go.Figure(json.loads(c.proto.spec))
            assert figures.flat_value(fig) is None, (page, fig.layout.title.text)
    assert not any("Download all 0" in b.proto.label for b in at.get("download_button"))


@pytest.mark.data
@pytest.mark.slow
def test_pages_on_a_one_sample_warehouse_say_what_cannot_be_drawn(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_any_warehouse import APP, PAGES, Shape, build, page_errors

    qs = [(f"q{i}", f"Problem {i}: compute {i} + {i}.", str(2 * i)) for i in range(6)]
    shape = Shape("user_bench", qs, [
        {"name": f"m{m}", "group": None, "size": None, "fmt": "jsonl",
         "samples": {q[0]: [i < 2 + m] for i, q in enumerate(qs)}} for m in range(3)])
    db = build(shape, tmp_path)
    monkeypatch.setenv("LADDER_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert "paper" not in [o for s in at.sidebar.selectbox for o in s.options]   # no scheme: none named
    for page in PAGES:
        at.switch_page(page).run()
        assert not page_errors(at), (page, page_errors(at))
        check_presentation(at, page)
        text = " ".join(e.value for e in at.info)
        if page.endswith("coverage.py"):
            titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
                      for c in at.get("plotly_chart")]
            # no scatter, gap or pass@k; the answer timeline needs only one sample
            assert "One sample per question" in text and all("found then lost" in t.lower() for t in titles), titles
            # no tiers, no training steps: no "Timeline per" choice of groupings this warehouse lacks
            assert not [r for r in at.radio if r.key == "cov_tl_by"]
        if page.endswith("overview.py"):
            assert at.get("plotly_chart") and "(paper tiers)" not in " ".join(h.value for h in at.subheader)
            labels = [e.label for e in at.expander]
            assert any(lb.startswith("The numbers") and "per model" in lb for lb in labels), labels   # no tiers
        if page.endswith("step_errors.py"):
            # no tiers, no categories, no groups: broken down by model, with no radio of one option and no
            # "(none)" tier; the labels on the axes are words
            assert not [r for r in at.radio if r.key == "se_by"]
            figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
            assert figs and all("model" in f["layout"]["title"]["text"] for f in figs)
            ticks = [t for f in figs for t in f["layout"]["xaxis"].get("ticktext", [])]
            names = [t.get("name") for f in figs for t in f["data"]]
            assert ticks and not any("_" in t for t in ticks) and "(none)" not in names, (ticks, names)


def test_question_ids_sort_numerically_and_boolean_legends_read_yes_no():
    """Question 10 after 2, not after 1 (present.by_question, analysis.answers.question_key), in tables and on a
    bar chart's axis whatever colour each bar has; a boolean colour column's legend says yes/no, never true/false."""
    from charts import present

    df = pl.DataFrame({"question_id": ["10", "1", "2", "x", "²"], "tier": [None] * 5, "share": [0.5, 0.1, 0.2, 0.3, 0.4],
                       "converged": [True, False, True, False, True]})
    assert present.by_question(df)["question_id"].to_list() == ["1", "2", "10", "x", "²"]
    fig = charts.bar_figure(present.by_question(df), "question_id", "share", color="converged")
    assert list(fig.layout.xaxis.categoryarray) == ["1", "2", "10", "x", "²"]
    assert sorted(t.name for t in fig.data) == ["no", "yes"]


def _table_app(n: int):
    import polars as pl

    from app_pages import common

    df = pl.DataFrame({"question_id": [str(i) for i in range(n)], "n": list(range(n)),
                       "accuracy": [i / max(n, 1) for i in range(n)], "top_share": [0.5] * n})
    common.table(df, "t")


@pytest.mark.parametrize("n", [100, 5000])
def test_a_big_table_is_formatted_by_the_browser_with_the_same_rules(n):
    """Up to STYLE_MAX_CELLS a table's cells are formatted on the server (present.fmt through pandas' Styler);
    a bigger one ships raw numbers with each column's format (integers localized, shares as percentages, other
    floats to 3 significant digits), so a filter change on a 6,000-question table formats nothing."""
    from streamlit.testing.v1 import AppTest

    from app_pages import common

    at = AppTest.from_function(_table_app, args=(n,)).run()
    assert not at.exception
    config = json.loads(at.dataframe[0].proto.columns)
    types = {c: (v.get("type_config") or {}).get("format") for c, v in config.items()}
    assert config["top_share"]["label"] == present.label("top_share")
    if n * 4 <= common.STYLE_MAX_CELLS:
        assert types["n"] is None and types["top_share"] is None       # the Styler wrote the text
    else:
        assert (types["n"], types["accuracy"], types["top_share"]) == ("localized", "%.3g", "percent")
        assert at.dataframe[0].value["accuracy"].tolist() == [i / n for i in range(n)]   # the raw values
