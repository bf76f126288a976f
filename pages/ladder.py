"""Ladder: the paper's Figure 1 for any selection, the question × model heatmap, ladder-ness."""
import streamlit as st

from pages import common
from warehouse import charts, metrics

sel = common.selection()
st.title("The ladder")
c1, c2 = st.columns(2)
by = c1.radio("Lines per", ["model", "group"], horizontal=True, key="ladder_by")
show_ref = c2.toggle("Overlay the paper's Figure 1 values", value=False, key="ladder_ref")

acc = common.q(metrics.question_accuracy, sel, by)
ref = common.q(metrics.reference_values, sel) if show_ref else None
if show_ref and (ref is None or ref.is_empty()):
    st.info("No reference values for this benchmark (the paper's Figure 1 covers AIME24).")
common.chart(charts.ladder_figure(acc, series="key", reference=ref), "ladder")
common.chart(charts.heatmap_figure(acc, series="key"), "heatmap")
common.table(acc, "question_accuracy")

st.subheader("Ladder-ness")
try:
    from warehouse import ladder
except ImportError:
    ladder = None
if ladder is None:
    st.info("Ladder-ness statistics (Guttman, Loevinger H) arrive with warehouse/ladder.py.")
else:
    st.info("warehouse/ladder.py is not wired into this page yet.")
common.page_zip("ladder")
