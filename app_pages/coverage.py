"""Coverage vs accuracy: cov@n against avg@n per model (and per tier), the gap, pass@k, unstable questions."""
import streamlit as st

import charts
from app_pages import common
from app_pages import views

sel = common.selection()
st.title("Coverage vs accuracy")
st.caption("Potential (cov@n: at least one of n samples correct) against stability (avg@n). "
           "With one sample per question the two coincide.")
by = st.radio("Per", ["model", "group"], horizontal=True, key="cov_by")
r = common.q(views.coverage_report, sel, by)   # one query for everything below
m = r["overall"]
if m.is_empty():
    st.info("No trajectories match the filters.")
else:
    common.chart(charts.scatter_figure(m, "avg", "cov", "key", title="cov@n against avg@n", diagonal=True),
                 "coverage_vs_accuracy")
    mt = r["per_tier"]
    common.chart(charts.gap_figure(mt), "gap_per_tier")
    common.table(mt, "potential_vs_stability")
    pk = r["pass_at_k"]
    if pk.height and pk["k"].max() > 1:
        common.chart(charts.line_figure(pk, "k", "pass_at_k", color="key", title="pass@k", band=("lo", "hi")),
                     "pass_at_k")
    else:
        st.info("pass@k curves need more than one sample per question.")
    st.subheader("Unstable questions (solved by some samples, failed by others)")
    common.table(r["unstable"], "unstable_questions")
common.page_zip("coverage")
