"""Exh failures (any tier): what goes wrong on the hardest questions, on one screen (findings, the most common
wrong answers), then the details in tabs: convergence, answer classes, found-then-lost, strategies, step-error
types, with permalinks into the trajectories."""
import dataclasses
import shlex

import polars as pl
import streamlit as st

import charts
from analysis.answers import shared_delusions
from app_pages import common
from charts import pages
from charts import answer_view as answers
from warehouse import failures, inventory, questions


def bars_and_table(df, empty: str, chart_name: str, table_name: str, x: str, y: str, **fig) -> bool:
    """A bar chart of ``df`` (shares) and its table, or the notice ``empty`` when it has no rows."""
    if df.is_empty():
        common.notice(empty)
        return False
    common.chart(charts.bar_figure(df, x, y, percent=True, **fig), chart_name, common.FLAT_UNLOCK)
    common.table(df, table_name)
    return True


sel = common.selection()
st.title("What goes wrong on the hardest questions")
tiers = common.q(inventory.options)["tiers"].get(sel.benchmark, [])
c1, c2 = st.columns([2, 1])
if tiers:
    pick = c1.multiselect("Tiers to study", tiers, default=["Exh"] if "Exh" in tiers else tiers[-1:],
                          key="fail_tiers")
else:
    pick = []
    c1.caption("No tiers on this benchmark: every question is studied. `python -m pipeline tiers --scheme auto` "
               "assigns tiers from the data, and this page then defaults to the hardest.")
fsel = dataclasses.replace(sel, tiers=tuple(pick)) if pick else sel
by = common.per("Per", "fail_by", sel, container=c2)
v = common.q(pages.failures_view, fsel, by)

common.findings(pages.failures_findings(v, common.plain))
if v["concentration"].is_empty():
    common.notice("No wrong answers in this selection: every sample is correct (or there are none). Harder "
                  "questions or other models would give this page something to show.")
else:
    common.page_chart("failures", "wrong_answers", v)
    st.caption("Each bar is a question; its segments are its most common wrong answers (#1 the most frequent) as "
               "shares of its wrong samples. A tall #1 segment: the models agree on the same wrong answer. "
               "Hover for the answer; select a question's row in the tables below to read its samples.")

conv, classes, lost, strat, steps = common.tabs(["Convergence", "Answer classes", "Found then lost", "Strategies",
                                                 "Step-error types"], "fail_tab")


with common.tab(conv):
    if bars_and_table(v["concentration"], "No wrong answers in this selection.", "wrong_answer_convergence",
                      "wrong_answer_concentration", "question_id", "top_share", color="converged",
                      title="Share of wrong samples giving the most common wrong answer",
                      color_title="Two or more models agree"):
        common.table(v["wrong_answers"], "wrong_answers")

if classes.open:        # its own query (0.6 s at 10x scale): only while open, as Step errors' agreement
    with common.tab(classes):
        st.caption("Every sample's final answer, grouped into classes of equivalent answers (as the grader decides). "
                   "Confidently wrong: a wrong class holds the majority. Shared delusion: the same wrong class from two "
                   "or more models. pass@k and maj@k are exact for this selection's samples (docs/ANALYSIS.md).")
        n_questions = common.q(questions.questions, fsel).height
        # the grader compares every distinct spelling (~1 s per 100 questions with symbolic answers): a big
        # selection waits for the reader to ask
        run = st.toggle(f"Group the answers of these {n_questions} questions", value=n_questions <= 150,
                        key="fail_classes")
        recs = common.q(answers.answer_classes, fsel, True) if run else None     # the table shows maj@n only
        if recs is None:
            common.notice("Switch on to group the answers (the grader compares the spellings of every question: about a "
                          "second per hundred questions), or narrow the tiers, categories or models.")
        elif not recs:
            common.notice("No trajectories in this selection.")
        else:
            common.table(pl.DataFrame([{
                "question_id": r["question_id"], "tier": r["tier"], "samples": r["n_samples"], "correct": r["n_correct"],
                "classes": len(r["classes"]), "entropy_bits": r["entropy_bits"], "majority_answer": r["majority_answer"],
                "majority_is_gold": r["majority_is_gold"], "confidently_wrong": r["confidently_wrong"],
                "pass@1": r["pass_at_k"]["1"], "pass@n": r["pass_at_k"][str(r["n_samples"])],
                "maj@n": r["maj_at_k"][str(r["n_samples"])]} for r in recs]), "answer_classes")
            delusions = [{"question_id": q, "answer": a, "models": ", ".join(ms)} for q, a, ms in shared_delusions(recs)]
            if delusions:
                st.markdown(f"**Shared delusions**: {len(delusions)} wrong answers given by two or more models.")
                common.table(pl.DataFrame(delusions), "shared_delusions")

with common.tab(lost):
    fig = pages.figure("failures", "failure_flags", v)
    if fig is None:
        common.notice("No trajectory of this selection found the gold answer and then lost it, and none was cut "
                      "off: nothing to chart (the rules annotator flags both on import).")
    else:
        common.chart(fig, "flag_rates", common.FLAT_UNLOCK)
    tl = v["timeline"]
    if tl.is_empty():
        common.notice("No answer timelines in this selection (`python -m pipeline annotate --timeline` derives them "
                      "for a warehouse built before the timeline existed).")
    else:
        st.caption("From the answer timeline (facts: each step's asserted answer graded against the gold): the share "
                   "of wrong trajectories whose steps held the gold, and the median share of the response written "
                   "before the first correct answer.")
        common.page_chart("coverage", "answer_timeline", {"timeline": tl})
        common.table(tl, "answer_timeline", key=by)
    if lost.open:       # the list of trajectories is a query of its own (0.1-0.3 s at 10x): only while open
        ftl = common.q(failures.flagged, fsel, "found_then_lost", 50)
        if not ftl.is_empty():
            common.table(ftl.drop("detail"), "found_then_lost")

if strat.open:          # its own query (0.08 s at 10x): only while open
    with common.tab(strat):
        # the rules annotator's names (modular_arithmetic) read as words
        tags = common.q(failures.strategy_tags, fsel).with_columns(pl.col("strategy").str.replace_all("_", " "))
        if tags.is_empty():
            common.notice("No strategy flags in this selection (the rules annotator writes 'strategy:<name>' flags).")
        else:
            long = tags.unpivot(index="strategy", on=["share_correct", "share_incorrect"], variable_name="outcome",
                                value_name="share").with_columns(pl.col("outcome").replace(
                                    {"share_correct": "correct", "share_incorrect": "incorrect"}))
            common.chart(charts.bar_figure(long, "strategy", "share", color="outcome", percent=True,
                                           title="Strategies in correct and incorrect trajectories",
                                           y_title="Share of trajectories"), "strategy_tags", common.FLAT_UNLOCK)
            common.table(tags, "strategy_tags")

with common.tab(steps):
    bars_and_table(v["step_errors"], "No step annotations in this selection (`python -m pipeline annotate` writes "
                   "them).", "step_error_types", "step_error_types", "label", "share_of_incorrect", color="annotator",
                   title="Step labels: share of the incorrect trajectories carrying each",
                   y_title="Share of incorrect trajectories")
# --- failure modes (issue 25): the stored clustering of the benchmark's wrong trajectories, cut by the selection
from analysis import failure_modes  # noqa: E402
from charts import figures as fm_figures  # noqa: E402
from derivation import embed  # noqa: E402
from warehouse import clusters  # noqa: E402

st.subheader("Failure modes")
fm = common.q(clusters.clustering, sel.benchmark)
if fm is None:
    common.notice("No failure modes stored for this benchmark. This command groups its wrong trajectories by what "
                  "they did (offline, on CPU):")
    st.code(f"python -m pipeline annotate --clusters --benchmark {shlex.quote(sel.benchmark)}", language="bash")
elif fm["k"] == 0:
    common.notice(f"Too few wrong trajectories to group ({fm['n_trajectories']}); need at least "
                  f"{embed.MIN_TRAJECTORIES}. Open them one by one on the Trajectories page.")
else:
    fm_assigned = common.q(clusters.assignments, fsel)
    if fm_assigned.is_empty():
        common.notice("No wrong trajectory of this selection is in the stored clustering (re-run "
                      "`python -m pipeline annotate --clusters` after an import), or there is none.")
    else:
        fm_table = failure_modes.cluster_table(common.q(clusters.clusters, sel.benchmark), fm_assigned)
        st.caption(f"{fm['k']} clusters of the {fm['n_trajectories']:,} wrong trajectories of this benchmark (every "
                   f"tier and model), k chosen by silhouette ({fm['silhouette']:.2f}: weak structure below 0.25), "
                   f"seed {fm['seed']}; {fm_assigned.height:,} of them in this selection. A cluster groups trajectories "
                   "whose final steps, first-error step and answer read alike (wordllama embeddings); its name is its "
                   "most distinctive words against the other clusters (class-based TF-IDF): check it against the "
                   "representatives before trusting it.")
        if fm_assigned.height < embed.MIN_TRAJECTORIES:
            st.caption(f"Only {fm_assigned.height} wrong trajectories of this selection are grouped: the shares below "
                       "rest on very few.")
        fm_by = st.segmented_control("Split by", ["tier", "model", "group"], default="tier", key="fail_fm_by",
                                     format_func=lambda x: x.capitalize()) or "tier"
        names = dict(zip(fm_table["cluster_id"].to_list(), fm_table["label"].to_list()))
        fm_counts = failure_modes.counts(fm_assigned, fm_by).with_columns(
            cluster=pl.col("cluster_id").replace_strict({k: f"#{k} {v}" for k, v in names.items()},
                                                        default="?", return_dtype=pl.Utf8))
        common.chart(fm_figures.failure_modes_figure(fm_counts, fm_by), "failure_modes")
        common.table(fm_table, "failure_modes")
        fm_pick = st.selectbox("Open a cluster", fm_table["cluster_id"].to_list(), key="fail_fm_pick",
                               format_func=lambda k: f"#{k} {names[k]}")
        members = fm_assigned.filter(pl.col("cluster_id") == fm_pick)
        st.markdown(f"**#{fm_pick} {common.plain(names[fm_pick])}**: {members.height:,} wrong trajectories in this "
                    "selection. Nearest its centre (the most typical):")
        reps = common.q(clusters.clusters, sel.benchmark).filter(pl.col("cluster_id") == fm_pick)["examples"]
        reps = set(reps[0].to_list()) if len(reps) else set()
        typical = [r for r in members.iter_rows(named=True) if r["trajectory_id"] in reps]
        for r in (typical or list(members.head(3).iter_rows(named=True))):      # members: nearest the centre first
            common.link("app_pages/trajectories.py", f"{r['model_id']} · question {r['question_id']} · sample "
                        f"{r['sample_idx']} · answer {r['answer'] if r['answer'] not in (None, '') else '—'}",
                        q=r["question_id"], t=r["trajectory_id"])
        common.table(members.select("model_id", "question_id", "sample_idx", "tier", "answer", "distance"),
                     f"failure_mode_{fm_pick}")
common.page_zip("failures")
