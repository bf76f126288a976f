"""Scaling: per-tier accuracy against a numeric model factor (log x), fits, plateau, bands;
ablations by category, length or style as grouped bars when those factors exist."""
import polars as pl
import streamlit as st

import charts
from analysis.metrics import tier_rank
from app_pages import common
from charts import pages
from charts.present import interval, label

sel = common.selection()
st.title("Scaling")
num, cat = common.q(pages.scaling_factors, sel)
if num.is_empty() and cat.is_empty():
    common.notice("The selected models vary in no model factor (sft_size, train_step, params_b, sft_category, ...). "
            "Import models with `--meta sft_size=...` to draw scaling curves.")
if not num.is_empty():
    c1, c2, c3 = st.columns(3)
    factor = c1.selectbox("Factor", num["factor"].to_list(), key="scal_factor")
    metric = c2.selectbox("Metric", ["avg", "cov", "maj"], key="scal_metric")
    log_x = c3.toggle("log x", value=True, key="scal_log")
    pts = common.q(pages.scaling_points, sel, factor, n_boot=300)
    grp = common.q(pages.scaling_groups, sel, factor)
    findings = []
    if grp["mixed"].height:
        findings.append(f"Caution: {grp['mixed'].height} value{'s' if grp['mixed'].height != 1 else ''} of "
                        f"{common.plain(label(factor))} pool models of different groups (e.g. "
                        f"{common.plain(grp['mixed']['value'][0])}: {common.plain(grp['mixed']['groups'][0])}), "
                        "so a point there mixes, say, base and fine-tuned models. Split per group below.")
    common.findings(findings + pages.scaling_findings(pts, factor, metric, common.plain))
    common.chart(charts.line_figure(pts, "x", metric, color="tier", log_x=log_x,
                                    band=(f"{metric}_lo", f"{metric}_hi"), x_title=label(factor),
                                    y_title=f"{metric}@n", title=f"{metric}@n per tier against {label(factor)}"),
                 "scaling_points", common.FLAT_UNLOCK)
    # below the answer, one lazy tab each (common.tabs): only the open one's charts reach the browser
    labels = ["Fit and plateau"] + (["Per group"] if not grp["points"].is_empty() else []) + [
        "Questions along the series", "Value by value"] + (["Ablations"] if not cat.is_empty() else [])
    tabs = dict(zip(labels, common.tabs(labels, "scal_tab")))
    if "Per group" in tabs:
        with common.tab(tabs["Per group"]):
            st.caption("All selected tiers pooled: one line per group.")
            common.chart(charts.line_figure(grp["points"], "x", metric, color="group", log_x=log_x,
                                            band=(f"{metric}_lo", f"{metric}_hi"), x_title=label(factor),
                                            y_title=f"{metric}@n", title=f"{metric}@n per group against "
                                            f"{label(factor)}"), "scaling_per_group", common.FLAT_UNLOCK)
    with common.tab(tabs["Fit and plateau"]):
        fit = st.radio("Fit", ["log", "saturating"], horizontal=True, key="scal_fit")
        curves = common.q(pages.scaling_curves, sel, factor, metric, n_boot=100)
        bands, fits = curves["bands"], curves["fits"]
        curve = bands.filter(pl.col("fit") == fit)
        common.chart(charts.line_figure(curve, "x", "y", color="tier", log_x=log_x, band=("lo", "hi"),
                                        x_title=label(factor), y_title=f"{metric}@n",
                                        title=f"{fit} fit with bootstrap band ({metric} against {factor})"),
                     "scaling_fit", common.FLAT_UNLOCK)
        st.caption("log: y = a + b ln x (slope per doubling = b ln 2); saturating: y = c − (c − a) e^(−bx), "
                   "c is the plateau. An accuracy lies in [0, 1] but a least-squares curve does not: the curves, "
                   "their bands and the plateau's interval are clipped to [0, 1]"
                   + (" (clipped here)." if curve.height and curve["clipped"].any() else "."))
        plateaus = fits.filter((pl.col("fit") == "saturating") & pl.col("c").is_not_null()).sort(tier_rank())
        if plateaus.height:
            st.markdown("**Fitted plateau** (saturating fit, 95% bootstrap interval over questions): " + "; ".join(
                f"{common.plain(r['tier'] or 'all')} {interval(r['c'], r['lo'], r['hi'])}" if 0 <= r["c"] <= 1 else
                f"{common.plain(r['tier'] or 'all')}: no plateau within 0–1 (the series does not level off)"
                for r in plateaus.iter_rows(named=True)))
        common.table(fits, "scaling_fits")
        common.table(pts, "scaling_points")

    with common.tab(tabs["Questions along the series"]):
        st.caption("Each question's accuracy at every value of the factor (models that share a value pool their "
                   "samples). Solved from: the first value after which its accuracy stays at or above the threshold; "
                   "a Hard question solved from step s behaves like a Medium one from s on. Regressed: solved at "
                   "some value, then lost at a later one.")
        mthr = st.slider("Solved when accuracy ≥", 0.05, 1.0, 0.5, 0.05, key="scal_mig_thr")
        mig = common.q(pages.scaling_migration, sel, factor, mthr)
        m = mig["migration"]
        common.chart(charts.migration_figure(mig["series"], factor, dict(zip(m["question_id"], m["solved_at"]))),
                     "migration", common.FLAT_UNLOCK)
        c1, c2, c3 = st.columns(3)
        c1.metric("questions", m.height)
        c2.metric("solved for good", int(m["solved_at"].is_not_null().sum()))
        c3.metric("regressed", int(m["regressed"].sum()))
        moved = [f"**{common.plain(t or '(no tier)')}**: " + ", ".join(
                     f"{common.plain(r['question_id'])} from {r['solved_at']:g}" for r in part.iter_rows(named=True))
                 for (t,), part in m.filter(pl.col("solved_at").is_not_null()).group_by("tier", maintain_order=True)]
        if moved:
            st.markdown("Solved for good along the series, by tier (a question in a harder tier learned here moves "
                        "down the ladder from that value on): " + " · ".join(moved))
        common.table(m.select("question_id", "tier", "first_solved", "solved_at", "regressed"), "migration")
else:                   # no numeric factor: the ablations alone, without tabs
    tabs = {} if cat.is_empty() else {"Ablations": st.container()}
if "Ablations" in tabs:
    with common.tab(tabs["Ablations"]):
        factor_c = st.selectbox("Categorical factor", cat["factor"].to_list(), key="scal_cat")
        abl = common.q(pages.scaling_ablation, sel, factor_c, n_boot=300)
        common.chart(charts.bar_figure(abl, "value", "avg", color="tier", title=f"avg@n by {label(factor_c)}",
                                       interval=("avg_lo", "avg_hi"), x_title=label(factor_c), y_title="avg@n"),
                     "ablation", common.FLAT_UNLOCK)
        common.table(abl, "ablation")
# consecutive values of the factor, compared pairwise (app_pages/compare.py); its paired tests are the page's
# slowest query (0.29 s of a 0.6 s filter change at paper scale): run only while its tab is open
if "Value by value" in tabs and tabs["Value by value"].open:
    with common.tab(tabs["Value by value"]):
        from charts.figures import difference_figure
        from charts import compare_view as compare

        st.caption(f"Is each {label(factor)} better than the one before?")
        steps = common.q(compare.consecutive, sel, factor)
        if steps.is_empty():
            st.caption("No two consecutive values share a question, so no paired comparison.")
        else:
            steps = steps.with_columns(step=pl.col("from") + " → " + pl.col("to"))
            per = steps.filter(pl.col("by") != "overall") if (steps["by"] != "overall").any() else steps
            moved = per.filter(pl.col("p_holm") < 0.05)
            st.markdown(("Significant changes (p < 0.05 after the Holm correction across tiers): " + "; ".join(
                f"**{common.plain(r['by'])}** {common.plain(r['step'])}: {compare.points(r['diff'])} points"
                for r in moved.iter_rows(named=True))) if moved.height else
                "No change between consecutive values is significant after the Holm correction across tiers: each "
                "step's movement is within what these questions can tell apart (table: the detectable difference).")
            common.chart(difference_figure(per, "previous", "next", x="step", color="by" if per is not steps else None,
                                           title=f"Accuracy change from each {label(factor)} to the next (points, "
                                           "95% interval; filled: significant after correction)",
                                           x_title=label(factor)), "scaling_steps",
                         "More questions or samples per value would give the steps room to differ.")
            common.table(steps.drop("step"), "scaling_steps")
common.page_zip("scaling")
