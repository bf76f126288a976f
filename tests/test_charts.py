"""Figure builders: the app's template, the pass@k lines of many keys, the gap bars, the ladder's tier bands."""
import math

import plotly.io as pio
import polars as pl
import pytest

import charts
from charts import figures


def _curves(n_series: int, ks=range(1, 9)) -> pl.DataFrame:
    rows = [dict(key=f"m{s:03d}", k=k, p=0.01 * s + 0.02 * k, lo=0.01 * s, hi=0.01 * s + 0.2)
            for s in range(n_series) for k in ks]
    return pl.DataFrame(rows)


def test_figures_use_the_template_even_when_the_default_changed(monkeypatch):
    df = _curves(3)
    assert charts.line_figure(df, "k", "p", color="key").layout.template.layout.plot_bgcolor == "white"
    monkeypatch.setattr(pio.templates, "default", "plotly")
    fig = charts.line_figure(df, "k", "p", color="key")
    assert fig.layout.template == pio.templates[charts.TEMPLATE]
    assert charts.empty_figure().layout.template == pio.templates[charts.TEMPLATE]


def test_few_series_one_trace_each_with_its_band():
    fig = charts.line_figure(_curves(3), "k", "p", color="key", band=("lo", "hi"))
    lines = [t for t in fig.data if t.fill != "toself"]
    assert [t.name for t in lines] == ["m000", "m001", "m002"] and all(len(t.x) == 8 for t in lines)
    assert sum(t.fill == "toself" for t in fig.data) == 3


@pytest.mark.parametrize("n_series", [17, 240])
def test_many_series_share_one_trace_per_colour(n_series):
    df = _curves(n_series)
    fig = charts.line_figure(df, "k", "p", color="key", band=("lo", "hi"), fit="p")
    n_colours = len(charts.PALETTE)
    assert len(fig.data) == 3 * n_colours and not any(t.showlegend for t in fig.data)
    lines = [t for t in fig.data if t.hovertemplate]
    points = {}
    for colour, t in enumerate(lines):
        assert t.marker.color == charts.PALETTE[colour]
        for x, y, name in zip(t.x, t.y, t.text):
            if not math.isnan(y):
                points[(name, x)] = y
        # one gap (NaN) after each of this colour's series
        assert sum(math.isnan(y) for y in t.y) == len(range(colour, n_series, n_colours))
    assert points == {(r["key"], r["k"]): pytest.approx(r["p"]) for r in df.iter_rows(named=True)}
    bands = [t for t in fig.data if t.fill == "toself"]
    first = bands[0]          # m000's outline: along hi, back along lo, then a gap
    assert list(first.x[:16]) == [1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1]
    assert math.isnan(first.x[16]) and list(first.y[:8]) == pytest.approx([0.2] * 8)
    assert list(first.y[8:16]) == pytest.approx([0.0] * 8)


def test_gap_figure_one_bar_trace_per_tier_in_tier_order():
    df = pl.DataFrame({"key": ["a", "a", "b", "b", "b"], "tier": ["Exh", "Easy", "Hard", "Exh", "Easy"],
                       "gap": [0.1, 0.2, 0.3, 0.4, 0.5]})
    fig = charts.gap_figure(df)
    assert [t.name for t in fig.data] == ["Easy", "Hard", "Exh"]
    assert list(fig.data[0].x) == ["a", "b"] and list(fig.data[0].y) == [0.2, 0.5]


def test_ladder_tier_bands_are_what_add_vrect_draws():
    acc = pl.DataFrame({"key": ["g"] * 4, "question_id": ["1", "2", "3", "4"], "tier": ["Easy", "Easy", "Hard", "Exh"],
                        "accuracy": [0.9, 0.8, 0.3, 0.0], "x": [0, 1, 2, 3]})
    fig = charts.ladder_figure(acc, series="key")
    expected = figures._figure()
    for x0, x1, t in [(-0.5, 1.5, "Easy"), (1.5, 2.5, "Hard"), (2.5, 3.5, "Exh")]:
        expected.add_vrect(x0=x0, x1=x1, fillcolor=charts.TIER_FILLS[t], line_width=0, layer="below",
                           name=f"tier:{t}", annotation_text=t, annotation_position="top left")
    assert fig.to_dict()["layout"]["shapes"] == expected.to_dict()["layout"]["shapes"]
    assert fig.to_dict()["layout"]["annotations"] == expected.to_dict()["layout"]["annotations"]


def test_ladder_and_heatmap_follow_the_frames_x_not_a_rule_of_their_own():
    # within Easy, "b" is placed first by x (pooled solve rate) though "a"'s mean accuracy over the lines is higher
    acc = pl.DataFrame({"key": ["m1", "m1", "m1", "m2", "m2", "m2"], "question_id": ["a", "b", "c"] * 2,
                        "tier": ["Easy", "Easy", "Hard"] * 2, "accuracy": [1.0, 0.5, 0.1, 0.9, 0.7, 0.2],
                        "x": [1, 0, 2] * 2})
    ladder = charts.ladder_figure(acc)
    assert list(ladder.layout.xaxis.categoryarray) == ["b", "a", "c"]
    assert all(list(t.x) == ["b", "a", "c"] for t in ladder.data)
    assert list(charts.heatmap_figure(acc).data[0].x) == ["b", "a", "c"]
    with pytest.raises(ValueError, match="'x'"):
        charts.ladder_figure(acc.drop("x"))
    with pytest.raises(ValueError, match="'x'"):
        charts.heatmap_figure(acc.drop("x"))


def test_tier_order_is_records_tiers():
    from warehouse.records import TIERS

    assert list(charts.TIER_COLORS) == list(TIERS)
    assert sorted(["Exh", "(none)", "Hard", "Easy", "Medium"], key=figures._tier_rank_or_name) == [*TIERS, "(none)"]


def test_gap_bars_carry_their_bootstrap_interval():
    per_tier = pl.DataFrame({"key": ["m1", "m1", "m2"], "tier": ["Hard", "Easy", "Hard"], "gap": [0.3, 0.1, 0.2],
                             "gap_lo": [0.2, 0.05, 0.1], "gap_hi": [0.5, 0.1, 0.25]})
    fig = charts.gap_figure(per_tier)
    easy, hard = fig.data                                      # one trace a tier, in tier order
    assert easy.name == "Easy" and list(easy.error_y.array) == pytest.approx([0.0])
    assert list(hard.error_y.array) == pytest.approx([0.2, 0.05])
    assert list(hard.error_y.arrayminus) == pytest.approx([0.1, 0.1])


def test_gap_chart_of_many_keys_shows_the_widest_gaps_first():
    """Past charts.TOP_KEYS keys (240 models at paper scale: 960 bars under unreadable ticks, 1 s to draw) the gap
    chart keeps the keys with the widest overall gap, widest first, and its title says so; below it, every key in
    the view's order."""
    from charts import pages

    def view(n):
        keys = [f"m{i:02d}" for i in range(n)]
        gap = {k: ((i * 7) % n) / n for i, k in enumerate(keys)}          # widths in a shuffled order
        overall = pl.DataFrame({"key": keys, "gap": [gap[k] for k in keys]})
        per_tier = pl.DataFrame([dict(key=k, tier=t, gap=gap[k] * f, gap_lo=0.0, gap_hi=1.0)
                                 for k in keys for t, f in (("Easy", 0.5), ("Hard", 1.0))])
        return {"overall": overall, "per_tier": per_tier}, gap

    v, gap = view(charts.TOP_KEYS + 3)
    fig = pages.figure("coverage", "gap_per_tier", v, key_title="Model")
    widest = sorted(gap, key=gap.get, reverse=True)[:charts.TOP_KEYS]
    assert list(fig.layout.xaxis.categoryarray) == widest
    assert all(list(t.x) == widest for t in fig.data)
    assert fig.layout.title.text.endswith(f"the {charts.TOP_KEYS} models of {charts.TOP_KEYS + 3} with the widest "
                                          "overall gap")
    v, gap = view(charts.TOP_KEYS)
    fig = pages.figure("coverage", "gap_per_tier", v, key_title="Group")
    assert list(fig.layout.xaxis.categoryarray) == list(gap)
    assert fig.layout.title.text == "The gap cov@n − avg@n per tier" and fig.layout.xaxis.title.text == "Group"


def test_gap_chart_without_tiers_has_one_bar_per_key_and_no_legend(maj8):
    """The real 8-sample MATH set has no tiers: one bar for its model with its interval, no "(none)" legend entry,
    and a title that does not promise tiers."""
    from charts import pages
    from warehouse.filters import Selection

    v = pages.coverage_report(maj8, Selection("math_cot_100"), "model", timeline=False)
    fig = pages.figure("coverage", "gap_per_tier", v, key_title="Model")
    (bar,) = fig.data
    assert list(bar.x) == ["qwen25-math-7b"] and not fig.layout.showlegend
    assert bar.y[0] == pytest.approx(v["overall"]["gap"][0]) and bar.error_y.array[0] > 0
    assert fig.layout.title.text == "The gap cov@n − avg@n"
