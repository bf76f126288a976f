"""Compare: is B really better than A? Two models (or two groups, or two values of a model factor) on the
questions both answered: the answer in words first (per tier: the difference in points with its interval and
its p-value after the Holm correction, or the smallest difference these questions could detect), then the
differences per tier with intervals, the table, and the questions that flipped, whose rows open the pair side
by side in Trajectories (its permalink: q, t, t2). The statistics: ``analysis.compare`` (docs/ANALYSIS.md)."""
import polars as pl
import streamlit as st

from app_pages import common
from charts import figures
from charts.present import label
from charts import compare_view as compare
from warehouse.errors import LadderError

KINDS = {"model": "two models", "group": "two groups"}

sel = common.selection()
st.title("Compare")
if sel is None:
    common.notice("No benchmark in the warehouse yet.")
    st.stop()
opts = common.q(compare.choices, sel)
if "model" not in opts:
    common.notice("A comparison needs two models on the same questions, and this selection has one. Import a "
                  "second model's traces of this benchmark (or widen the Models filter) to compare them.")
    st.stop()

c0, c1, c2, c3 = st.columns([2, 4, 4, 2])
kind = c0.selectbox("Compare", list(opts), key="cmp_kind",
                    format_func=lambda k: KINDS.get(k, f"two values of {label(k)}"))
values = opts[kind]
a = c1.selectbox("A (the baseline)", values, key=f"cmp_a_{kind}")
rest = [v for v in values if v != a]
b = c2.selectbox("B (compared with A)", rest, key=f"cmp_b_{kind}")
by_opts = common.question_attributes(sel)
by = c3.radio("Rows per", by_opts, horizontal=True, key="cmp_by", format_func=label) if by_opts else "tier"

try:
    v = common.q(compare.view, sel, kind, a, b, by)
except LadderError as exc:       # e.g. the two answered no common question
    common.notice(common.plain(exc))
    st.stop()
rows, paired = v["rows"], v["paired"]
common.findings(compare.findings(v, a, b, common.plain))
n1 = int(max(paired["n_a"].max(), paired["n_b"].max())) == 1
st.caption(f"Paired on the {paired.height} questions both answered (a question's accuracy is its share of right "
           "samples; B − A in percentage points). Interval: 95% bootstrap over questions"
           + ("" if n1 else ", resampling each question's samples") + "; p-value: "
           + ("exact McNemar (a sign test on the questions only one side got right)" if n1 else
              "paired permutation test on the per-question differences")
           + (f", Holm-corrected across the {label(by).lower()} rows that could reach 0.05" if rows.height > 1 else "")
           + ". Detectable: the smallest true difference found 80% of the time with this many questions "
           "(docs/ANALYSIS.md).")
common.chart(figures.difference_figure(rows, a, b, x_title=label(by) if rows.height > 1 else " "), "compare",
             "More common questions (or more samples per question) would give the difference room to show.")

name_by = label(by) if rows.height > 1 else "Scope"
shown = rows.select(
    pl.col("by").alias(name_by), pl.col("n_questions").alias("Questions"),
    pl.col("acc_a").alias("A accuracy"), pl.col("acc_b").alias("B accuracy"),
    (pl.col("diff") * 100).alias("B − A (points)"), (pl.col("ci_lo") * 100).alias("95% low"),
    (pl.col("ci_hi") * 100).alias("95% high"), pl.col("p_value").alias("p-value"), pl.col("p_holm").alias("p (Holm)"),
    (pl.col("mde") * 100).alias("Detectable (points)"), pl.col("a_only").alias("Solved by A only"),
    pl.col("b_only").alias("Solved by B only"), pl.col("test").alias("Test"))
common.table(shown, "compare")

st.subheader("Questions that flipped")
flipped = paired.filter(pl.col("flip").is_not_null())
if flipped.is_empty():
    st.caption("No question is solved by one side and not the other (solved: at least half of its samples right).")
else:
    pairs = common.q(compare.pair_trajectories, sel, kind, a, b)
    table = flipped.join(pairs, on="question_id", how="left")
    st.caption(f"{flipped.height} questions solved (at least half of the samples right) by one side only. Select a "
               "row to read a sample of each side side by side in Trajectories.")
    df = table.select(pl.col("question_id").alias("Question"), pl.col("tier").alias("Tier"),
                      pl.col("category").alias("Category"),
                      pl.when(pl.col("flip") == "a_only").then(pl.lit("A only")).otherwise(pl.lit("B only"))
                      .alias("Solved by"),
                      (pl.col("c_a").cast(pl.String) + "/" + pl.col("n_a").cast(pl.String)).alias("A right"),
                      (pl.col("c_b").cast(pl.String) + "/" + pl.col("n_b").cast(pl.String)).alias("B right"))
    df = df.select([c for c in df.columns if c not in ("Tier", "Category") or df[c].null_count() < df.height])
    picked = st.dataframe(df, key=f"cmp_flips_{kind}_{a}_{b}", on_select="rerun", selection_mode="single-row",
                          hide_index=True, width="stretch", height=min(df.height, 10) * 35 + 38)
    sel_rows = picked.selection.rows if picked else []
    if sel_rows:
        r = table.row(sel_rows[0], named=True)
        qp = {k: st.query_params[k] for k in common.FILTER_KEYS if k in st.query_params}
        qp["q"] = r["question_id"]
        qp.update({k: str(t) for k, t in (("t", r["t_a"]), ("t2", r["t_b"])) if t is not None})
        st.switch_page("app_pages/trajectories.py", query_params=qp)
common.page_zip("compare")
