"""Overview: benchmarks, models, runs (where the data came from) and per-tier accuracy; the selection's static
HTML report (charts.report) and the import of dropped trace files (app_pages/upload.py)."""
import polars as pl
import streamlit as st

from app_pages import common, upload
from charts import export, pages, report
from warehouse import db, inventory

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
    st.download_button("Download this selection's report (one HTML file: every chart, the key tables, the "
                       "filters and the provenance; opens offline)",
                       data=lambda p=str(db.db_path()), s=sel: report.file_bytes(p, s),
                       file_name=f"ladder-report-{export.slug(sel.benchmark)}.html", mime="text/html",
                       key="report_html", on_click="ignore", icon=":material/description:")
    st.subheader(f"Accuracy per tier — {common.plain(sel.benchmark)} ({common.plain(sel.scheme)} tiers)")
    acc = common.q(pages.tier_metrics, sel)
    if acc.is_empty():
        st.info("No trajectories match the filters.")
    else:
        st.caption("avg@n per model and tier, with its 95% bootstrap interval over the tier's questions "
                   "(the numbers, cov@n too, are in the table below it).")
        shown = acc.with_columns(pl.col("tier").fill_null("(none)"), cell=pl.format(
            "{} [{}–{}]", *(pl.col(c).round(2) for c in ("avg", "avg_lo", "avg_hi"))))
        common.table(shown.pivot(on="tier", index="key", values="cell", aggregate_function="first")
                     .rename({"key": "model_id"}), "tier_accuracy")
        common.table(acc.rename({"key": "model_id"}), "tier_metrics")

    st.subheader("Models")
    common.table(common.q(inventory.models, sel.benchmark), "models")
    st.subheader("Runs — where the data came from")
    common.table(common.q(inventory.runs, sel.benchmark), "runs")
with st.expander("Import trace files", expanded=bool(st.session_state.get(upload.RESULT_KEY))):
    upload.uploader("overview", common.q(inventory.options)["benchmarks"])
common.page_zip("overview")
