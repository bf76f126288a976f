"""Coverage vs accuracy: cov@n against avg@n per model (and per tier), the gap, pass@k, unstable questions."""
import polars as pl
import streamlit as st

from app_pages import common
from warehouse import charts, coverage, metrics

sel = common.selection()
st.title("Coverage vs accuracy")
st.caption("Potential (cov@n: at least one of n samples correct) against stability (avg@n). "
           "With one sample per question the two coincide.")
by = st.radio("Per", ["model", "group"], horizontal=True, key="cov_by")
m = common.q(coverage.potential_vs_stability, sel, by, False)
if m.is_empty():
    st.info("No trajectories match the filters.")
else:
    common.chart(charts.scatter_figure(m, "avg", "cov", "key", title="cov@n against avg@n", diagonal=True),
                 "coverage_vs_accuracy")
    mt = common.q(coverage.potential_vs_stability, sel, by, True)
    common.chart(charts.bar_figure(mt, "tier", "gap", color="key", title="the gap cov@n − avg@n per tier"),
                 "gap_per_tier")
    common.table(mt, "potential_vs_stability")
    pk = common.q(coverage.pass_at_k_curves, sel, by, False)
    if pk.height and pk["k"].max() > 1:
        common.chart(charts.line_figure(pk, "k", "pass_at_k", color="key", title="pass@k", band=("lo", "hi")),
                     "pass_at_k")
    else:
        st.info("pass@k curves need more than one sample per question.")
    st.subheader("Unstable questions (solved by some samples, failed by others)")
    qa = common.q(metrics.question_accuracy, sel, by)
    unstable = (qa.filter((pl.col("accuracy") > 0) & (pl.col("accuracy") < 1))
                .select("key", "question_id", "tier", "n", "c", "accuracy").sort(["question_id", "key"]))
    common.table(unstable, "unstable_questions")
common.page_zip("coverage")
