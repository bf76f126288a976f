"""Overview: benchmarks, models, runs (where the data came from) and per-tier accuracy."""
import streamlit as st

from app_pages import common
from warehouse import db, inventory, questions

sel = common.selection()
st.title("Overview")
info, counts = common.q(inventory.info), common.q(inventory.counts)
st.caption(f"Warehouse {common.plain(db.db_path())} · schema {common.plain(info['schema_version'])} · "
           f"data version {common.plain(info['data_version'])} · grader: "
           f"{common.plain(info['active_grader'] or 'source harness verdicts')} "
           f"{common.plain(info['active_grader_version'] or '')}")
cols = st.columns(5)
for col, k in zip(cols, ("benchmarks", "models", "runs", "trajectories", "step_annotations")):
    col.metric(k.replace("_", " "), f"{counts[k]:,}")

st.subheader("Benchmarks")
common.table(common.q(inventory.benchmarks), "benchmarks")

if sel is not None:
    st.subheader(f"Accuracy per tier — {common.plain(sel.benchmark)} ({common.plain(sel.scheme)} tiers)")
    acc = common.q(questions.tier_accuracy, sel)
    if acc.is_empty():
        st.info("No trajectories match the filters.")
    else:
        wide = acc.pivot(on="tier", index="model_id", values="accuracy", aggregate_function="first")
        common.table(wide, "tier_accuracy")

    st.subheader("Models")
    common.table(common.q(inventory.models, sel.benchmark), "models")
    st.subheader("Runs — where the data came from")
    common.table(common.q(inventory.runs, sel.benchmark), "runs")
common.page_zip("overview")
