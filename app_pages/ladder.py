"""Ladder: the paper's Figure 1 for any selection, the question × model heatmap, ladder-ness."""
import shlex

import streamlit as st

from analysis import ladder
from app_pages import common
from charts import pages
from warehouse import frames


@common.fragment     # the threshold re-cuts this section only: the rest of the page is not drawn again
def ladderness_section() -> None:
    """Does difficulty order the models: Guttman / Loevinger at a threshold, the solved matrix, the violations."""
    st.caption("Does difficulty order the models? A question counts as solved by a key when its accuracy is above "
               "the threshold. Guttman reproducibility and Loevinger's H near 1 mean a clean ladder.")
    thr = st.slider("Solved when accuracy >", 0.0, 0.95, 0.5, 0.05, key="ladder_thr")
    # the threshold only re-cuts the per-question counts already fetched: no query when it moves
    sg = ladder.scalogram(rep["questions"], "threshold", thr)
    if sg.height:
        r = sg.row(0, named=True)
        cols = st.columns(4)
        cols[0].metric("Guttman reproducibility",
                       f"{r['reproducibility']:.3f}" if r["reproducibility"] is not None else "—")
        cols[1].metric("Loevinger H", f"{r['loevinger_h']:.3f}" if r["loevinger_h"] is not None else "—")
        cols[2].metric("Guttman errors", r["guttman_errors"])
        cols[3].metric("keys × questions", f"{r['n_keys']} × {r['n_questions']}")
    common.page_chart("ladder", "solved_matrix", rep, threshold=thr)
    st.markdown("**Violations** — a key solves a harder question but fails an easier one:")
    common.table(ladder.violations(rep["questions"], "threshold", thr), "violations")


sel = common.selection()
st.title("The ladder")
c1, c2 = st.columns(2)
by = common.per("Lines per", "ladder_by", sel, first="group", container=c1)   # groups first, as in Figure 1
refs = common.q(frames.reference_values, sel)
# only where there is something to overlay (the paper's Figure 1 covers AIME24)
show_ref = c2.toggle("Overlay the paper's Figure 1 values", value=False, key="ladder_ref") if refs.height else False

rep = common.q(pages.ladder_report, sel, by)   # one query: per-question counts, accuracy, Rasch difficulty
acc = rep["accuracy"]
ref = refs if show_ref else None
if acc.is_empty():
    common.notice("No trajectories match the filters: clear a filter in the sidebar.")
common.findings(pages.ladder_findings(rep, common.plain, by))
common.page_chart("ladder", "ladder", rep, reference=ref, key=by)
untiered = acc.filter(acc["tier"].is_null())["question_id"].n_unique() if acc.height else 0
if untiered:
    n_q = acc["question_id"].n_unique()
    scheme = (f"under the scheme {common.plain(sel.scheme)}" if common.has_tiers(sel)
              else "(this benchmark has no tier scheme)")
    common.notice(f"{'No question' if untiered == n_q else f'{untiered} of {n_q} questions'} of this selection "
                  f"{'has' if untiered == n_q else 'have'} a tier {scheme}, so they are ordered by accuracy alone, "
                  "without a tier band. Assign tiers from the data: quantiles of the solve rate (`auto`), or the "
                  "paper's rule over a base and a small-SFT group (`rule`):")
    bench = shlex.quote(sel.benchmark)
    st.code(f"python -m pipeline tiers --scheme auto --benchmark {bench}\n"
            f"python -m pipeline tiers --scheme rule --benchmark {bench} --groups BASE_GROUP SMALL_SFT_GROUP",
            language="bash")
if show_ref and ref is not None and not ref.is_empty():
    st.markdown("**Agreement with the paper's values** (groups of the same name; lines per group):")
    common.table(common.q(pages.reference_agreement, sel), "reference_agreement")
heat, ladderness, rasch = common.tabs(["Heatmap and table", "Ladder-ness", "Rasch difficulty"], "ladder_tab")
with common.tab(heat):
    common.page_chart("ladder", "heatmap", rep, key=by)
    common.table(acc, "question_accuracy", key=by, column_config={
        "x": "Ladder position", "difficulty": "Pooled solve rate", "reference": "Paper's value"})
with common.tab(ladderness):
    ladderness_section()
with common.tab(rasch):
    if rep["difficulty"].is_empty():
        common.notice("The Rasch fit needs questions solved by some keys and failed by others.")
    common.page_chart("ladder", "rasch_difficulty", rep)
common.page_zip("ladder")
