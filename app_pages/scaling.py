"""Scaling: per-tier accuracy against a numeric model factor (log x), fits, plateau, bands;
ablations by category, length or style as grouped bars when those factors exist."""
import polars as pl
import streamlit as st

import charts
from analysis.metrics import tier_rank
from app_pages import common
from charts import pages

sel = common.selection()
st.title("Scaling")
num, cat = common.q(pages.scaling_factors, sel)
if num.is_empty() and cat.is_empty():
    st.info("The selected models vary in no model factor (sft_size, train_step, params_b, sft_category, ...). "
            "Import models with `--meta sft_size=...` to draw scaling curves.")
if not num.is_empty():
    c1, c2, c3 = st.columns(3)
    factor = c1.selectbox("Factor", num["factor"].to_list(), key="scal_factor")
    metric = c2.selectbox("Metric", ["avg", "cov", "maj"], key="scal_metric")
    log_x = c3.toggle("log x", value=True, key="scal_log")
    pts = common.q(pages.scaling_points, sel, factor, n_boot=300)
    common.chart(charts.line_figure(pts, "x", metric, color="tier", log_x=log_x,
                                    band=(f"{metric}_lo", f"{metric}_hi"), x_title=factor,
                                    title=f"{metric}@n per tier against {factor}"), "scaling_points")
    fit = st.radio("Fit", ["log", "saturating"], horizontal=True, key="scal_fit")
    curves = common.q(pages.scaling_curves, sel, factor, metric, n_boot=100)
    bands, fits = curves["bands"], curves["fits"]
    curve = bands.filter(pl.col("fit") == fit)
    common.chart(charts.line_figure(curve, "x", "y", color="tier", log_x=log_x, band=("lo", "hi"),
                                    x_title=factor, y_title=metric,
                                    title=f"{fit} fit with bootstrap band ({metric} against {factor})"),
                 "scaling_fit")
    st.caption("log: y = a + b ln x (slope per doubling = b ln 2); saturating: y = c − (c − a) e^(−bx), "
               "c is the plateau.")
    plateaus = fits.filter((pl.col("fit") == "saturating") & pl.col("c").is_not_null()).sort(tier_rank())
    if plateaus.height:
        st.markdown("**Fitted plateau** (saturating fit, 95% bootstrap interval over questions): " + "; ".join(
            f"{common.plain(r['tier'])} {r['c']:.2f} ({r['lo']:.2f}–{r['hi']:.2f})" if 0 <= r["c"] <= 1 else
            f"{common.plain(r['tier'])}: no plateau within 0–1 (the series does not level off)"
            for r in plateaus.iter_rows(named=True)))
    common.table(fits, "scaling_fits")
    common.table(pts, "scaling_points")

    st.subheader(f"Questions along the {factor} series")
    st.caption("Each question's accuracy at every value of the factor (models that share a value pool their "
               "samples). Solved from: the first value after which its accuracy stays at or above the threshold; "
               "a Hard question solved from step s behaves like a Medium one from s on. Regressed: solved at "
               "some value, then lost at a later one.")
    mthr = st.slider("Solved when accuracy ≥", 0.05, 1.0, 0.5, 0.05, key="scal_mig_thr")
    mig = common.q(pages.scaling_migration, sel, factor, mthr)
    m = mig["migration"]
    common.chart(charts.migration_figure(mig["series"], factor, dict(zip(m["question_id"], m["solved_at"]))),
                 "migration")
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
if not cat.is_empty():
    st.subheader("Ablations")
    factor_c = st.selectbox("Categorical factor", cat["factor"].to_list(), key="scal_cat")
    abl = common.q(pages.scaling_ablation, sel, factor_c, n_boot=300)
    common.chart(charts.bar_figure(abl, "value", "avg", color="tier", title=f"avg@n by {factor_c}"), "ablation")
    common.table(abl, "ablation")
common.page_zip("scaling")
