"""Step errors: the error taxonomy (step annotation labels, trajectory flags) by tier, category, model."""
import streamlit as st

import charts
from app_pages import common
from warehouse import failures

sel = common.selection()
st.title("Step errors")
by = st.radio("Break down by", ["tier", "category", "model"] + (["group"] if common.has_groups(sel) else []),
              horizontal=True, key="se_by")
se = common.q(failures.step_error_counts, sel, by)
fl = common.q(failures.flag_counts, sel, by)
if se.is_empty() and fl.is_empty():
    st.info("No step annotations or trajectory flags in this selection yet. The pipeline's annotators write "
            "them (`python -m pipeline annotate ...`).")
if not se.is_empty():
    common.chart(charts.bar_figure(se, by, "steps", color="label", title=f"step-error labels by {by}",
                                   barmode="stack"), "step_error_labels")
    common.table(se, "step_error_labels")
if not fl.is_empty():
    common.chart(charts.bar_figure(fl, by, "trajectories", color="flag", title=f"trajectory flags by {by}",
                                   barmode="stack"), "trajectory_flags")
    common.table(fl, "trajectory_flags")
common.page_zip("step_errors")
