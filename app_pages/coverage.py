"""Coverage vs accuracy: cov@n against avg@n per model (and per tier), the gap, pass@k, unstable questions."""
import streamlit as st

from app_pages import common
from charts import pages

sel = common.selection()


def timeline_section(prefix: str, report: dict) -> None:
    """Inside the trajectories, beside the gap: the answer timeline's aggregates (analysis/timeline.py)."""
    st.subheader("Inside the trajectories: when the gold answer is reached, and lost")
    st.caption("Facts from each step's asserted answer, graded against the gold (docs/ANALYSIS.md, answer "
               "timeline): found-then-lost = wrong trajectories whose steps held the gold at some point; the "
               "share of the response written before the first correct answer; overthinking = characters "
               "after it in correct trajectories; answer changes between consecutive asserted answers.")
    tby = st.radio("Timeline per", ["as above", "tier", "train_step"], horizontal=True, key=f"{prefix}_tl_by")
    agg = report["timeline"] if tby == "as above" else common.q(pages.timeline_aggregate, sel, tby)
    if agg.is_empty():
        st.info("No answer timelines for this selection (or no value to group by). A warehouse built before "
                "the timeline existed gets them with `python -m pipeline annotate --timeline`.")
        return
    common.page_chart("coverage", "answer_timeline", {"timeline": agg})
    common.table(agg, f"answer_timeline_by_{'key' if tby == 'as above' else tby}")


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
    pass_at_k = pages.figure("coverage", "pass_at_k", r)
    if pass_at_k is None:
        st.info("pass@k curves need more than one sample per question.")
    else:
        common.chart(pass_at_k, "pass_at_k")
    timeline_section("cov", r)
    st.subheader("Unstable questions (solved by some samples, failed by others)")
    common.table(r["unstable"], "unstable_questions")
common.page_zip("coverage")
