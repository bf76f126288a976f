"""Overview: benchmarks, models, runs (where the data came from) and per-tier accuracy; the selection's static
HTML report (charts.report) and the import of dropped trace files (app_pages/upload.py)."""
import polars as pl
import streamlit as st

import charts
from app_pages import common, upload
from charts import export, pages, report
from warehouse import db, inventory

sel = common.selection()
st.title("Overview")
if sel is not None:
    by = "group" if common.has_groups(sel) else "model"
    has_tiers = common.has_tiers(sel)
    st.subheader(f"Accuracy per {'tier' if has_tiers else by} — {common.plain(sel.benchmark)}"
                 + (f" ({common.plain(sel.scheme)} tiers)" if has_tiers else ""))
    v = common.q(pages.overview, sel, by)
    if v["overall"].is_empty():
        common.notice("No trajectories match the filters: clear a filter in the sidebar.")
    else:
        common.findings(pages.overview_findings(v, common.plain))
        pt = v["per_tier"].with_columns(pl.col("tier").fill_null("(no tier)"))
        keys = v["overall"].sort("avg", descending=True)["key"].to_list()
        shown = pt.filter(pl.col("key").is_in(keys[:charts.TOP_KEYS]))
        if has_tiers:
            fig = charts.bar_figure(shown, "tier", "avg", color="key", interval=("avg_lo", "avg_hi"),
                                    title=f"avg@n per tier and {by} (95% bootstrap interval over the tier's questions)",
                                    color_title=by.capitalize(), x_title="Tier", y_title="avg@n")
        else:                # no tiers: one bar per model (or group), best first, not one "(no tier)" category
            order = {k: i for i, k in enumerate(keys)}
            fig = charts.bar_figure(shown.sort(pl.col("key").replace_strict(order, default=len(order))), "key",
                                    "avg", interval=("avg_lo", "avg_hi"), x_title=by.capitalize(), y_title="avg@n",
                                    title=f"avg@n per {by} (95% bootstrap interval over the questions)")
        if len(keys) > charts.TOP_KEYS:
            st.caption(f"The {charts.TOP_KEYS} best of {len(keys)} {by}s by avg@n; the table below has them all.")
        common.chart(fig, "tier_accuracy", common.FLAT_UNLOCK)
        with common.expander(f"The numbers: avg@n and cov@n per {'tier' if has_tiers else by}, with intervals",
                             "ov_numbers"):
            common.table(v["per_tier"].select("key", "tier", "n_questions", "avg", "avg_lo", "avg_hi", "cov", "cov_lo",
                                              "cov_hi"), "tier_metrics", key=by)

    st.download_button("Download this selection's report (one HTML file: every chart, the key tables, the "
                       "filters and the provenance; opens offline)",
                       data=lambda p=str(db.db_path()), s=sel: report.file_bytes(p, s),
                       file_name=f"ladder-report-{export.slug(sel.benchmark)}.html", mime="text/html",
                       key="report_html", on_click="ignore", icon=":material/description:")
    with common.expander("Models", "ov_models"):
        common.table(common.q(inventory.models, sel.benchmark), "models")
    with common.expander("Runs — where the data came from", "ov_runs"):
        common.table(common.q(inventory.runs, sel.benchmark), "runs")
info, counts = common.q(inventory.info), common.q(inventory.counts)
st.caption(f"Warehouse {common.plain(db.db_path())} · schema {common.plain(info['schema_version'])} · "
           f"data version {common.plain(info['data_version'])} · grader: "
           f"{common.plain(info['active_grader'] or 'source harness verdicts')} "
           f"{common.plain(info['active_grader_version'] or '')}")
cols = st.columns(5)
for col, k in zip(cols, ("benchmarks", "models", "runs", "trajectories", "step_annotations")):
    col.metric(k.replace("_", " "), f"{counts[k]:,}")

with common.expander("Benchmarks", "ov_benchmarks"):
    common.table(common.q(inventory.benchmarks), "benchmarks")

# the drop zone is drawn only while open: closed, its widgets' frontend code (file uploader, text inputs, checkbox,
# button) is not loaded with a browser's first page
drop = st.expander("Import trace files", expanded=bool(st.session_state.get(upload.RESULT_KEY)), key="ov_import",
                   on_change="rerun")
if drop.open:
    with drop:
        upload.uploader("overview", common.q(inventory.options)["benchmarks"])
common.page_zip("overview")
