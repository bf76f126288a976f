"""Coverage vs accuracy: cov@n against avg@n per model (and per tier), the gap, pass@k curves."""
import polars as pl
import streamlit as st

from pages import common
from warehouse import charts, metrics

sel = common.selection()
st.title("Coverage vs accuracy")
st.caption("Potential (cov@n: at least one of n samples correct) against stability (avg@n). "
           "With one sample per question the two coincide.")
by = st.radio("Per", ["model", "group"], horizontal=True, key="cov_by")
m = common.q(metrics.metrics, sel, by, False)
if m.is_empty():
    st.info("No trajectories match the filters.")
else:
    m = m.with_columns((pl.col("cov") - pl.col("avg")).alias("gap"))
    common.chart(charts.scatter_figure(m, "avg", "cov", "key", title="cov@n against avg@n", diagonal=True),
                 "coverage_vs_accuracy")
    mt = common.q(metrics.metrics, sel, by, True).with_columns((pl.col("cov") - pl.col("avg")).alias("gap"))
    common.chart(charts.bar_figure(mt, "tier", "gap", color="key", title="cov@n − avg@n per tier"), "gap_per_tier")
    common.table(mt, "metrics_per_tier")
    pk = common.q(metrics.pass_at_k, sel, by, False)
    if pk.height and pk["k"].max() > 1:
        common.chart(charts.line_figure(pk, "k", "pass_at_k", color="key", title="pass@k", band=("lo", "hi")),
                     "pass_at_k")
    else:
        st.info("pass@k curves need more than one sample per question.")
common.page_zip("coverage")
