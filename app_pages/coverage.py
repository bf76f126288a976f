"""Coverage vs accuracy: potential (cov@n) against stability (avg@n) per model or group and tier, the gap,
pass@k, the answer timeline and the unstable questions. The page opens with its findings."""
import streamlit as st

from app_pages import common
from charts import pages, present

sel = common.selection()


@common.fragment     # the grouping re-cuts this section only
def timeline_section(prefix: str) -> None:
    """Inside the trajectories, beside the gap: the answer timeline's aggregates (analysis/timeline.py)."""
    st.caption("Facts from each step's asserted answer, graded against the gold (docs/ANALYSIS.md, answer "
               "timeline): found-then-lost = wrong trajectories whose steps held the gold at some point; the "
               "share of the response written before the first correct answer; overthinking = characters "
               "after it in correct trajectories; answer changes between consecutive asserted answers.")
    # only the groupings this selection has: tiers, and training steps that vary among its models
    opts = ["as above"] + (["tier"] if common.has_tiers(sel) else []) + (
        ["train_step"] if "train_step" in common.q(pages.scaling_factors, sel)[0]["factor"].to_list() else [])
    tby = common.pick("Timeline per", opts, f"{prefix}_tl_by",
                      format_func=lambda o: {"train_step": "training step"}.get(o, o))
    key = by if tby == "as above" else tby
    agg = common.q(pages.timeline_aggregate, sel, key)
    if agg.is_empty():
        common.notice("No answer timelines for this selection (or no value to group by). A warehouse built before "
                      "the timeline existed gets them with `python -m pipeline annotate --timeline`.")
        return
    common.page_chart("coverage", "answer_timeline", {"timeline": agg}, key_title=present.label("key", key))
    common.table(agg, f"answer_timeline_by_{'key' if tby == 'as above' else tby}", key=key)


st.title("Coverage vs accuracy")
by = common.per("Per", "cov_by", sel)
r = common.q(pages.coverage_report, sel, by, timeline=False)   # one query for all but the answer timeline
m = r["overall"]
if m.is_empty():
    common.notice("No trajectories match the filters: clear a filter in the sidebar.")
elif pages.samples_per_question(r) <= 1:
    common.notice(pages.ONE_SAMPLE.format(by=by))
    common.table(m.select("key", "n_questions", "avg"), "accuracy", key=by)
    st.subheader("Inside the trajectories: when the gold answer is reached, and lost")
    timeline_section("cov")          # one sample is enough for the answer timeline
else:
    common.findings(pages.coverage_findings(r, common.plain, by))
    st.caption("Potential (cov@n: at least one of n samples correct) against stability (avg@n: the mean "
               "sample). Above the diagonal: questions a model can solve but does not reliably.")
    common.page_chart("coverage", "coverage_vs_accuracy", r)
    gap, passk, timeline, unstable = common.tabs(["Gap per tier", "pass@k", "Answer timeline",
                                                  "Unstable questions"], "cov_tab")
    with common.tab(gap):
        common.page_chart("coverage", "gap_per_tier", r, key_title=present.label("key", by))
        common.table(r["per_tier"], "potential_vs_stability", key=by)
    with common.tab(passk):
        common.page_chart("coverage", "pass_at_k", r, missing="pass@k needs more than one sample of every question "
                                                             "of a key.")
    if timeline.open:       # its own query (0.05 s at paper scale): only while open, as Step errors' agreement
        with common.tab(timeline):
            timeline_section("cov")
    with common.tab(unstable):
        st.caption("Solved by some samples, failed by others.")
        common.table(present.by_question(r["unstable"]), "unstable_questions", key=by)
common.page_zip("coverage")
