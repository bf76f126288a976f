"""Exh failures: wrong-answer convergence, strategy tags, step-error types, found-then-lost cases."""
import polars as pl
import streamlit as st

from app_pages import common
from warehouse import browse, charts

sel = common.selection()
st.title("Failures on the hardest questions")
opts = common.q(browse.options)
tiers = opts["tiers"].get(sel.benchmark, [])
default = ["Exh"] if "Exh" in tiers else tiers[-1:]
pick = st.multiselect("Tiers to study", tiers, default=default, key="fail_tiers")
fsel = type(sel)(sel.benchmark, sel.scheme, tuple(pick) or sel.tiers, sel.categories, sel.models, sel.groups)

try:
    from warehouse import failures
except ImportError:
    failures = None

st.subheader("Trajectory flags (strategy tags, found-then-lost, truncation)")
fl = common.q(browse.flag_counts, fsel, "model")
if fl.is_empty():
    st.info("No trajectory flags yet: annotate with the pipeline's annotators.")
else:
    common.chart(charts.bar_figure(fl, "flag", "trajectories", color="model", title="flags per model",
                                   barmode="stack"), "flags")
    common.table(fl, "flags")

st.subheader("Step-error types")
se = common.q(browse.step_error_counts, fsel, "model")
if se.is_empty():
    st.info("No step annotations yet.")
else:
    common.chart(charts.bar_figure(se, "label", "steps", color="model", title="step errors per model",
                                   barmode="stack"), "step_error_types")

st.subheader("Questions")
qs = common.q(browse.questions, fsel)
common.table(qs, "failure_questions")
for row in qs.head(12).iter_rows(named=True):
    common.link("app_pages/trajectories.py", f"Open question {row['question_id']} ({row['tier']}) in Trajectories",
                q=row["question_id"])
if failures is None:
    st.info("Wrong-answer convergence arrives with warehouse/failures.py.")
common.page_zip("failures")
