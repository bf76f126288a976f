"""Exh failures (any tier): wrong-answer convergence, strategy tags, step-error types,
found-then-lost cases, with permalinks into the trajectories."""
import dataclasses

import polars as pl
import streamlit as st

import charts
from analysis.answers import shared_delusions
from app_pages import common
from charts import pages
from pipeline import answers
from warehouse import failures, inventory, questions

sel = common.selection()
st.title("Failures on the hardest questions")
tiers = common.q(inventory.options)["tiers"].get(sel.benchmark, [])
pick = st.multiselect("Tiers to study", tiers, default=["Exh"] if "Exh" in tiers else tiers[-1:], key="fail_tiers")
fsel = dataclasses.replace(sel, tiers=tuple(pick)) if pick else sel
by = common.per("Per", "fail_by", sel)

st.subheader("Do models converge on the same wrong answer?")
conc = common.q(failures.wrong_answer_concentration, fsel)
if conc.is_empty():
    st.info("No wrong answers in this selection.")
else:
    common.chart(charts.bar_figure(conc, "question_id", "top_share", color="converged",
                                   title="share of wrong samples giving the most common wrong answer",
                                   y_title="top wrong answer share"), "wrong_answer_convergence")
    common.table(conc, "wrong_answer_concentration")
    wa = common.q(failures.wrong_answers, fsel, 5)
    common.chart(charts.bar_figure(wa, "question_id", "n_samples", color="answer", barmode="stack",
                                   title="the five most common wrong answers per question"), "wrong_answers")
    for qid in conc["question_id"].to_list()[:12]:
        common.link("app_pages/trajectories.py", f"Open question {qid} in Trajectories", q=qid)

st.subheader("Answer classes per question")
st.caption("Every sample's final answer, grouped into classes of equivalent answers (as the grader decides). "
           "Confidently wrong: a wrong class holds the majority. Shared delusion: the same wrong class from two or "
           "more models. pass@k and maj@k are exact for this selection's samples (docs/ANALYSIS.md).")
n_questions = common.q(questions.questions, fsel).height
# the grader compares every distinct spelling (~1 s per 100 questions with symbolic answers): a big
# selection waits for the reader to ask
run = st.toggle(f"Group the answers of these {n_questions} questions", value=n_questions <= 150, key="fail_classes")
recs = common.q(answers.answer_classes, fsel) if run else None
if recs is None:
    st.info("Switch on to group the answers (the grader compares the spellings of every question: about a "
            "second per hundred questions), or narrow the tiers, categories or models.")
elif not recs:
    st.info("No trajectories in this selection.")
else:
    common.table(pl.DataFrame([{
        "question_id": r["question_id"], "tier": r["tier"], "samples": r["n_samples"], "correct": r["n_correct"],
        "classes": len(r["classes"]), "entropy_bits": r["entropy_bits"], "majority_answer": r["majority_answer"],
        "majority_is_gold": r["majority_is_gold"], "confidently_wrong": r["confidently_wrong"],
        "pass@1": r["pass_at_k"]["1"], "pass@n": r["pass_at_k"][str(r["n_samples"])],
        "maj@n": r["maj_at_k"][str(r["n_samples"])]} for r in recs]), "answer_classes")
    delusions = [{"question_id": q, "answer": a, "models": ", ".join(ms)} for q, a, ms in shared_delusions(recs)]
    if delusions:
        st.markdown(f"**Shared delusions** — {len(delusions)} wrong answers given by two or more models:")
        common.table(pl.DataFrame(delusions), "shared_delusions")

st.subheader("Strategy tags")
tags = common.q(failures.strategy_tags, fsel)
if tags.is_empty():
    st.info("No strategy flags in this selection (the rules annotator writes 'strategy:<name>' flags).")
else:
    long = tags.unpivot(index="strategy", on=["share_correct", "share_incorrect"], variable_name="outcome",
                        value_name="share")
    common.chart(charts.bar_figure(long, "strategy", "share", color="outcome",
                                   title="strategies in correct vs incorrect trajectories"), "strategy_tags")
    common.table(tags, "strategy_tags")

st.subheader("Step-error types")
se = common.q(failures.step_error_types, fsel)
if se.is_empty():
    st.info("No step annotations in this selection.")
else:
    common.chart(charts.bar_figure(se, "label", "n_trajectories", color="annotator",
                                   title="step-error labels (trajectories)"), "step_error_types")
    common.table(se, "step_error_types")

st.subheader("Found the answer, then lost it")
rates = common.q(failures.flag_rates, fsel, by)
if not rates.is_empty():
    common.chart(charts.bar_figure(rates.unpivot(index="key", on=["found_then_lost_rate", "truncated_rate"],
                                                 variable_name="flag", value_name="rate"),
                                   "key", "rate", color="flag", title="found-then-lost and truncation rates"),
                 "flag_rates")
tl = common.q(pages.timeline_aggregate, fsel, by)
if tl.is_empty():
    st.info("No answer timelines in this selection (`python -m pipeline annotate --timeline` derives them for a "
            "warehouse built before the timeline existed).")
else:
    st.caption("From the answer timeline (facts: each step's asserted answer graded against the gold): the share "
               "of wrong trajectories whose steps held the gold, and the median share of the response written "
               "before the first correct answer. The flag rates above come from the rules annotator.")
    common.page_chart("coverage", "answer_timeline", {"timeline": tl})
    common.table(tl, "answer_timeline")
ftl = common.q(failures.flagged, fsel, "found_then_lost", 50)
if ftl.is_empty():
    st.info("No found-then-lost trajectories in this selection.")
else:
    common.table(ftl.drop("detail"), "found_then_lost")
    for r in ftl.head(15).iter_rows(named=True):
        common.link("app_pages/trajectories.py", f"{r['model_id']} · question {r['question_id']} · "
                    f"sample {r['sample_idx']}", q=r["question_id"], t=r["trajectory_id"])
common.page_zip("failures")
