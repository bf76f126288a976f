"""Step errors: the error taxonomy (step annotation labels, trajectory flags) by tier, category, model,
and how far two annotators agree on the first wrong step."""
import polars as pl
import streamlit as st

import charts
from analysis import agreement
from app_pages import common
from charts import pages
from charts.figures import agreement_figure
from charts.present import label
from warehouse import verdicts as agreement_q
from warehouse.records import VERIFIED_FLAGS

SECOND_ANNOTATOR = ("python -m pipeline annotate --annotator judge --backend BACKEND --model MODEL",
                    "python -m pipeline annotate --annotator prm --model MODEL")


def agreement_view(sel) -> None:
    """Agreement of two annotators on the first wrong step of the trajectories both judged."""
    st.markdown("**Annotator agreement on the first wrong step**")
    verdicts = common.q(agreement_q.first_errors, sel)
    names = agreement.annotators(verdicts)
    if len(names) < 2:
        who = f"only {common.plain(names[0])}" if names else "no annotator"
        common.notice(f"Agreement needs two annotators on the same trajectories; {who} judged this selection. "
                "A second annotator unlocks it, e.g. the LLM judge or a process reward model:")
        for cmd in SECOND_ANNOTATOR:
            st.code(cmd, language="bash")
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox("Annotator A (reference)", names, index=names.index("rules") if "rules" in names else 0,
                     key="se_agree_a")
    rest = [n for n in names if n != a]
    b = c2.selectbox("Annotator B", rest, key="se_agree_b")
    pairs = agreement.pair(verdicts, a, b)
    if pairs.is_empty():
        common.notice(f"{common.plain(a)} and {common.plain(b)} judged no trajectory of this selection in common.")
        return
    xa, xb = pairs["a"].to_list(), pairs["b"].to_list()
    s = agreement.agreement(xa, xb)
    pct = lambda v: "—" if v is None else f"{v:.0%}"   # noqa: E731
    cols = st.columns(4)
    cols[0].metric("trajectories judged by both", f"{s['n']:,}")
    cols[1].metric("same first-error step", pct(s["exact"]), help="both 'no error', or the same step")
    cols[2].metric("within ±1 step", pct(s["within1"]), help="both 'no error', or error steps at most one apart")
    cols[3].metric("Cohen's kappa (error / no error)", "—" if s["kappa"] is None else f"{s['kappa']:.2f}",
                   help="undefined (—) when both annotators give every trajectory the same verdict")
    st.caption("Both annotators' first errors are judgements (heuristics or models), not established facts: "
               "agreement says how far they coincide, not which one is right. "
               f"Where both flag an error ({s['both_error']:,} trajectories), the steps coincide in "
               f"{pct(s['exact_when_both'])} and lie within ±1 in {pct(s['within1_when_both'])}.")
    conf = agreement.confusion(xa, xb)
    common.chart(agreement_figure(conf, agreement.offsets(xa, xb), a, b), "annotator_agreement")
    st.caption(f"A = {common.plain(a)}, B = {common.plain(b)}.")
    common.table(conf.rename({"a": "A verdict", "b": "B verdict", "n": "trajectories"}),
                 "annotator_agreement_confusion")


sel = common.selection()
st.title("Step errors")
# only what this selection has: tiers and categories when its questions have them, groups when its models do
by = common.pick("Break down by", common.question_attributes(sel) + ["model"]
                 + (["group"] if common.has_groups(sel) else []), "se_by")
v = common.q(pages.step_error_view, sel, by)
se, fl = v["labels"], v["flags"]
if se.is_empty() and fl.is_empty():
    common.notice("No step annotations or trajectory flags in this selection yet. The pipeline's annotators write "
                  "them (`python -m pipeline annotate ...`).")
else:
    common.findings(pages.step_error_findings(v, by, common.plain))
    fig = pages.figure("step_errors", "step_error_labels", v)
    if fig is None:
        common.notice("No step-error label in this selection (only milestones such as the gold answer reached).")
    else:
        common.chart(fig, "step_error_labels", common.FLAT_UNLOCK)
        st.caption(f"Each bar: the share of the {by}'s trajectories carrying the label (the {by}s differ in size, "
                   "so counts would mislead). The eight most frequent labels; all of them in the table.")
    flags = fl.filter(pl.col("flag").is_in(list(VERIFIED_FLAGS))) if fl.height else fl
    t1, t2, t3 = common.tabs(["Trajectory flags", "All labels (table)", "Annotator agreement"], "steps_tab")
    with common.tab(t1):
        if flags.is_empty():
            common.notice("No verified trajectory flag (found then lost, answer flip, truncated, repetition loop) in "
                          "this selection.")
        else:
            flags = flags.with_columns(pl.col("flag").map_elements(label, return_dtype=pl.String))  # as words
            common.chart(charts.bar_figure(flags, "flag", "rate", color=by, percent=True, x_title="Flag",
                                           title=f"Trajectory flags: share of each {by}'s trajectories",
                                           y_title="Share of trajectories"), "trajectory_flags", common.FLAT_UNLOCK)
        common.table(fl, "trajectory_flags", key=by)
    with common.tab(t2):
        common.table(se, "step_error_labels", key=by)
    if t3.open:    # its own query (every annotator's first error: 1.4 s at 10x scale): only while open
        with common.tab(t3):
            agreement_view(sel)
if se.is_empty() and fl.is_empty():
    agreement_view(sel)
common.page_zip("step_errors")
