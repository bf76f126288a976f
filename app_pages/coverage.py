"""Coverage vs accuracy: cov@n against avg@n per model (and per tier), the gap, pass@k, unstable questions."""
import streamlit as st

from app_pages import common
from charts import pages

sel = common.selection()
st.title("Coverage vs accuracy")
st.caption("Potential (cov@n: at least one of n samples correct) against stability (avg@n). "
           "With one sample per question the two coincide.")
by = common.per("Per", "cov_by", sel)
r = common.q(pages.coverage_report, sel, by)   # one query for everything below
m = r["overall"]
if m.is_empty():
    st.info("No trajectories match the filters.")
else:
    common.page_chart("coverage", "coverage_vs_accuracy", r)
    common.page_chart("coverage", "gap_per_tier", r)
    common.table(r["per_tier"], "potential_vs_stability")
    if pages.figure("coverage", "pass_at_k", r) is None:
        st.info("pass@k curves need more than one sample per question.")
    else:
        common.page_chart("coverage", "pass_at_k", r)
    st.subheader("Unstable questions (solved by some samples, failed by others)")
    common.table(r["unstable"], "unstable_questions")
common.page_zip("coverage")
